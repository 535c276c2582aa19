"""A chat's rules as values: its filters, format, pace and the config's declaration of it.

Pure (no database, no Telegram): storage maps `channel_rules` rows to these types
(storage/channel_rules.py), the config builds `ChannelSpec`s from its [[channels]], and the
fan-out, the renderer and the pace read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# In the config's `topics`, the key that picks breaking news' topic rather than a section's.
BREAKING_TOPIC = "breaking"


@dataclass(frozen=True, slots=True)
class DeskRules:
    """A chat's filters as the fan-out hands them to the judge."""

    destination_id: int
    version: int
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_regex: tuple[str, ...] = ()
    exclude_regex: tuple[str, ...] = ()

    @property
    def filtered(self) -> bool:
        return bool(self.include or self.exclude or self.include_regex or self.exclude_regex)


@dataclass(frozen=True, slots=True)
class StoryText:
    """What filters read of a story: its headline, summary and the feed item's categories."""

    story_id: int
    title: str
    summary: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeskFormat:
    """How a chat's stories look. The default (every field as here) is the standard layout;
    chats whose format differs have `channel_rules.styled` set."""

    template: str | None = None
    summary: bool = True
    related: bool = True
    image: bool = True
    link_preview: bool = True
    hashtags: bool = True
    read_button: str | None = None
    signature: str | None = None
    utm: str | None = None  # query parameters for article links; "{chat}" is the chat

    @property
    def styled(self) -> bool:
        return self != DEFAULT_FORMAT


DEFAULT_FORMAT = DeskFormat()


@dataclass(frozen=True, slots=True)
class DeskPace:
    """How often a chat may be posted to: at most `max_posts_per_hour` in a rolling hour,
    and `quiet_hours` ("23:00-07:00", the newsroom's clock) in `quiet_mode` silent or hold.
    `roundup`: the stories over the cap wait for one "More news" roundup post (the default);
    without it they are left out (the chat gets at most its cap, the newest first come)."""

    max_posts_per_hour: int | None = None
    quiet_hours: str | None = None
    quiet_mode: str = "silent"
    roundup: bool = True

    @property
    def paced(self) -> bool:
        return self.max_posts_per_hour is not None or self.quiet_hours is not None


@dataclass(frozen=True, slots=True)
class DeskSettings:
    """Everything a chat's rules say (what the admin screens show and the config writes)."""

    filters: DeskRules
    format: DeskFormat = DEFAULT_FORMAT
    pace: DeskPace = DeskPace()
    approval: bool = False
    breaking_topic: int | None = None
    managed_by_config: bool = False


class DeskJudge(Protocol):
    def admits(self, rules: DeskRules, story: StoryText) -> bool: ...


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A chat as the config declares it (its id already resolved)."""

    ref: str  # as the config names it: "@username" or the id
    chat_id: int
    sections: tuple[str, ...]
    editions: tuple[str, ...]  # empty: the newsroom's default edition for a new chat
    breaking: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_regex: tuple[str, ...] = ()
    exclude_regex: tuple[str, ...] = ()
    format: DeskFormat = DEFAULT_FORMAT
    pace: DeskPace = DeskPace()
    approval: bool = False
    # Forum topics the config picks, by section ("breaking": where breaking news goes).
    topics: tuple[tuple[str, int], ...] = ()
    title: str | None = field(default=None, compare=False)
