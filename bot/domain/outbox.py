"""What storage hands the sender from the outbox, as plain values (pure: no database).

storage/outbox.py maps claimed `deliveries` rows (with their chat and its rules) to
`DeliveryJob`s; the sender, its bundling (bot/domain/bundling.py), pace and renderer read
them without a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.channel_rules import DEFAULT_FORMAT, DeskFormat, DeskPace


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """A claimed delivery with what the sender needs to render and address it."""

    id: int
    destination_id: int
    chat_id: int
    chat_kind: str
    language: str | None
    story_id: int | None
    alert_id: int | None
    attempts: int
    digest_slot: str | None = None
    # The editions the chat reads (filled in for breaking news and digests: they pick by it).
    editions: frozenset[str] = frozenset()
    # Approved at the editors' desk (its approval may carry an edited headline).
    approval_id: int | None = None
    # Held by the chat's pace or quiet hours for its "More news" roundup (see
    # storage.outbox.claim_roundup).
    roundup: bool = False
    # The chat's pace rule, for story deliveries to chats that have one (else None).
    pace: DeskPace | None = None
    # Set by the sender: a roundup's or a bundle's other rows (delivery id, story id),
    # claimed with it (bot/domain/bundling.py); and whether it goes without notification
    # sound (quiet hours, mode "silent").
    members: tuple[tuple[int, int], ...] = ()
    silent: bool = False
    # A forum supergroup: the sender picks the story's topic (bot/delivery/topics.py).
    forum: bool = False
    # The chat's format for a story (channel_rules; the standard layout for most chats), and
    # what a "{chat}" in its utm stands for: its @username as the config names it, else its id.
    look: DeskFormat = DEFAULT_FORMAT
    chat_ref: str = ""
    # The story's section (a forum's roundup goes into its topic even when not rendered).
    section: str | None = None
    # When the row was queued (how long the chat waited for it: the lag metrics).
    queued_at: datetime | None = None
    # Breaking news in versions: the one this chat gets, looked up when it was queued.
    version: str | None = None


def chat_ref(config_ref: str | None, chat_id: int) -> str:
    """A chat as its utm names it: "@kazinform_ru" when the config names it so, else its id."""
    return config_ref if config_ref and config_ref.startswith("@") else str(chat_id)
