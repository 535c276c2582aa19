"""A chat's settings changed from the console's form (issue 24), over the chat prompts' code.

The form sends the fields to change at once; each is read and checked exactly as the chat
prompts read and check it (bot/services/channel_settings.py `ChannelScreens.check`: the
config's validators, a template in the sandbox's worker, patterns against re2's budget), and
only when every field passes are they stored, in one version, through the path the prompts
confirm through (`ChannelScreens.change` -> storage.channel_rules.write_rules). A refused field
raises SettingRefused and nothing is stored. Lists arrive as JSON lists (one term or pattern
each), the rest as the prompts' text; null clears a text setting.

What /channels and /topic change goes through their use cases too, checked with the rest
before anything is stored: `sections` and `editions` (the chat's whole new lists:
bot/services/readers.py `Readers.set_sections` / `set_editions`, whose checks refuse an
unknown one and an empty editions list, as a press on the last edition is refused),
`breaking` (`Readers.set_breaking`) and, in a forum, `topics` ({section: thread id, or null
for the bot's own topic again}: bot/services/admins.py `Admins.pick_topics`, which asks
Telegram about the admin once more). Each of those is its own write, after every check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from bot.domain.channel_rules import DeskSettings
from bot.services.admins import Admins, TopicPick
from bot.services.channel_settings import (
    APPROVAL,
    FILTERS,
    FORMAT_SWITCHES,
    QUIET_MODE,
    QUIET_MODES,
    ROUNDUP,
    TEXT_SETTINGS,
    ChannelScreens,
    Preview,
    SettingRefused,
    Value,
    apply,
    check_patterns_of,
    cleared,
)
from bot.services.readers import Readers
from storage.models import Destination

# The fields /channels and /topic change (each through its own use case).
AUDIENCE = ("sections", "editions", "breaking", "topics")
# Every field the form may change.
FIELDS = (*TEXT_SETTINGS, *FORMAT_SWITCHES, QUIET_MODE, ROUNDUP, APPROVAL, *AUDIENCE)
# Forum topics' thread ids are stored as BIGINT.
MAX_THREAD_ID = 2**63 - 1

Change = Callable[[DeskSettings], DeskSettings]


def as_text(setting: str, raw: object) -> str:
    """A JSON value as the text a chat prompt's answer would be (SettingRefused otherwise)."""
    if setting in FILTERS:
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            return "\n".join(raw)
        raise SettingRefused(setting, f"{setting} must be a list of text")
    if setting == "max_posts_per_hour" and isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str):
        return raw
    raise SettingRefused(setting, f"{setting} must be text")


def switched(setting: str, on: bool) -> Change:
    def change(settings: DeskSettings) -> DeskSettings:
        if setting == APPROVAL:
            return replace(settings, approval=on)
        if setting == ROUNDUP:
            return replace(settings, pace=replace(settings.pace, roundup=on))
        return replace(settings, format=replace(settings.format, **{setting: on}))

    return change


def quiet(mode: str) -> Change:
    return lambda settings: replace(settings, pace=replace(settings.pace, quiet_mode=mode))


def setting_to(setting: str, value: Value) -> Change:
    return lambda settings: apply(settings, setting, value)


class TopicsRefused(Exception):
    """Telegram no longer calls the user an admin, or the config manages the chat: `pick` is
    what `Admins.pick_topics` answered (nothing was stored)."""

    def __init__(self, pick: TopicPick) -> None:
        super().__init__(pick.value)
        self.pick = pick


@dataclass(frozen=True, slots=True)
class AudienceChange:
    """The /channels and /topic fields of one form, checked (None: not changed)."""

    sections: frozenset[str] | None = None
    editions: list[str] | None = None
    breaking: bool | None = None
    topics: dict[str, int | None] | None = None


class ChannelForm:
    def __init__(
        self, screens: ChannelScreens, readers: Readers, admins: Admins | None = None
    ) -> None:
        self._screens = screens
        self._readers = readers
        self._admins = admins

    def offered(self, language: str) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
        """What the form may tick: the newsroom's sections (slug, title in `language`) and
        editions, as the /channels screen offers them."""
        return self._readers.sections(language), self._readers.editions

    async def changes(self, destination_id: int, fields: Mapping[str, object]) -> list[Change]:
        """Each field read and checked (SettingRefused on the first refused one)."""
        found: list[Change] = []
        for setting, raw in fields.items():
            if setting not in FIELDS or setting in AUDIENCE:
                raise SettingRefused(setting, f"{setting} is not a setting the console changes")
            if setting in TEXT_SETTINGS:
                if raw is None:
                    value = cleared(setting)
                else:
                    text = as_text(setting, raw)
                    value = await self._screens.check(destination_id, setting, text)
                found.append(setting_to(setting, value))
            elif setting == QUIET_MODE:
                if raw not in QUIET_MODES:
                    raise SettingRefused(setting, "quiet_mode must be silent or hold")
                found.append(quiet(str(raw)))
            else:
                if not isinstance(raw, bool):
                    raise SettingRefused(setting, f"{setting} must be true or false")
                if setting == APPROVAL and raw and not self._screens.approval_offered:
                    raise SettingRefused(setting, "approval needs the editors' desk (desk_chat)")
                found.append(switched(setting, raw))
        return found

    def audience(self, chat: Destination, fields: Mapping[str, object]) -> AudienceChange:
        """The /channels and /topic fields checked by their use cases' own checks
        (SettingRefused with the reason)."""
        sections = editions = breaking = topics = None
        if "sections" in fields:
            slugs = _texts("sections", fields["sections"])
            try:
                sections = self._readers.sections_in(slugs)
            except ValueError as exc:
                raise SettingRefused("sections", str(exc)) from None
        if "editions" in fields:
            codes = _texts("editions", fields["editions"])
            try:
                editions = self._readers.editions_in(codes)
            except ValueError as exc:
                raise SettingRefused("editions", str(exc)) from None
        if "breaking" in fields:
            breaking = fields["breaking"]
            if not isinstance(breaking, bool):
                raise SettingRefused("breaking", "breaking must be true or false")
        if "topics" in fields:
            topics = self._topics(chat, fields["topics"])
        return AudienceChange(sections, editions, breaking, topics)

    def _topics(self, chat: Destination, raw: object) -> dict[str, int | None]:
        if not isinstance(raw, dict):
            raise SettingRefused("topics", "topics must map sections to thread ids")
        if not chat.is_forum:
            raise SettingRefused("topics", "topics are only for a forum chat")
        picks: dict[str, int | None] = {}
        for section, thread_id in raw.items():
            if not self._readers.is_section(section):
                raise SettingRefused("topics", f"{section} is not a section")
            if thread_id is not None and (
                isinstance(thread_id, bool)
                or not isinstance(thread_id, int)
                or not 0 < thread_id <= MAX_THREAD_ID
            ):
                raise SettingRefused(
                    "topics", "a topic's thread id must be a positive whole number, or null"
                )
            picks[section] = thread_id
        return picks

    async def update(
        self, chat: Destination, user_id: int, fields: Mapping[str, object]
    ) -> DeskSettings:
        """Check every field, then store them (the settings in one version; see the
        module). TopicsRefused when Telegram, asked again, says the user may not."""
        audience = self.audience(chat, fields)
        desk = {name: raw for name, raw in fields.items() if name not in AUDIENCE}
        changes = await self.changes(chat.id, desk)
        change = _all(changes)
        # Both pattern lists together within re2's budget, as they will be stored.
        proposed = change(await self._screens.settings_of(chat.id))
        await asyncio.to_thread(check_patterns_of, "include_regex", proposed)
        await self._store(chat, user_id, audience)
        if not changes:
            return await self._screens.settings_of(chat.id)
        return await self._screens.change(chat.id, change)

    async def _store(self, chat: Destination, user_id: int, audience: AudienceChange) -> None:
        """The /channels and /topic fields, through their use cases (topics first: the one
        that asks Telegram, so a refusal stores nothing)."""
        if audience.topics:
            if self._admins is None:
                raise TopicsRefused(TopicPick.NOT_ADMIN)
            picked = await self._admins.pick_topics(chat.chat_id, user_id, audience.topics)
            if picked is not TopicPick.PICKED:
                raise TopicsRefused(picked)
        state = await self._readers.state(chat.chat_id, chat.kind, chat.title)
        if audience.sections is not None:
            await self._readers.set_sections(state, audience.sections)
        if audience.editions is not None:
            await self._readers.set_editions(state, audience.editions)
        if audience.breaking is not None:
            await self._readers.set_breaking(state, audience.breaking)

    async def preview(self, destination_id: int, fields: Mapping[str, object]) -> Preview:
        """The newest story the chat would get with these unsaved fields (SettingRefused).
        The /channels fields are left out: the story is one of the chat's stored sections."""
        desk = {name: raw for name, raw in fields.items() if name not in AUDIENCE}
        change = _all(await self.changes(destination_id, desk))
        return await self._screens.preview_with(destination_id, change)


def _texts(setting: str, raw: object) -> list[str]:
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return raw
    raise SettingRefused(setting, f"{setting} must be a list of text")


def _all(changes: list[Change]) -> Change:
    def change(settings: DeskSettings) -> DeskSettings:
        for one in changes:
            settings = one(settings)
        return settings

    return change
