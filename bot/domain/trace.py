"""Why a chat did or did not get a story: one outcome per chat the story was meant for.

A story is meant for every chat subscribed to its section that reads its edition. What
happened for each is spread over the outbox row (or its absence), the chat's state, its desk
filters and the story's approval; this module turns those facts, read by storage/trace.py,
into one outcome with a reason an editor can act on (the console's story trace, answering
"why didn't my channel get this?"). Pure: the caller passes the clock.

The outbox writes no row for a chat whose desk filters leave a story out, nor for one that
already has another version of the story's group, nor for an inactive chat: their outcomes
are read from the chat's state instead of a row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    """What became of a story for one chat (the console groups its trace by these)."""

    SENT = "sent"
    # Sent in one message with other stories: a reader's bundle or a channel's roundup.
    BUNDLED = "bundled"
    # In the outbox, due (or retrying after a failed try: the reason says why).
    WAITING = "waiting"
    # Held by the chat's pace or quiet hours for its "More news" roundup.
    HELD = "held"
    AWAITING_APPROVAL = "awaiting_approval"
    # Not sent on purpose: the desk skipped it, its approval expired, another version went.
    SKIPPED = "skipped"
    # The chat's desk filters leave it out.
    FILTERED_OUT = "filtered_out"
    # Telegram refused it, or retries ran out: the reason is Telegram's.
    FAILED = "failed"
    # The chat is switched off: it blocked or removed the bot, or never added it.
    BLOCKED = "blocked"


# The order the console lists outcomes in: what went first, then what may still go, then
# what will not.
OUTCOME_ORDER = tuple(Outcome)

# Delivery statuses as storage/states.DeliveryStatus spells them (the domain imports no
# storage; a StrEnum member compares equal to its text).
_QUEUED, _SENDING, _SENT, _FAILED, _AWAITING, _SKIPPED = (
    "queued",
    "sending",
    "sent",
    "failed",
    "awaiting",
    "skipped",
)


@dataclass(frozen=True, slots=True)
class StoryFacts:
    """What of the story itself decides its chats' outcomes."""

    id: int
    headline: str
    section: str | None
    edition: str | None
    published_at: datetime
    # False for backlog from a feed's first poll: stored, never pushed.
    pushable: bool
    # None until the fan-out has queued its deliveries.
    fanned_out_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChatFacts:
    """One chat the story was meant for, as the database has it (storage/trace.py)."""

    chat_id: int
    kind: str
    title: str | None
    active: bool
    inactive_reason: str | None
    # The chat has desk filters (a filtered-out story leaves no outbox row).
    filtered: bool = False
    # The story's outbox row for this chat; status None: there is none.
    status: str | None = None
    last_error: str | None = None
    roundup: bool = False
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    # How many outbox rows share the message this one was sent in (1: its own message).
    message_rows: int = 1
    # Another version of the story's group this chat got instead (its story id).
    other_version: int | None = None


@dataclass(frozen=True, slots=True)
class ChatOutcome:
    chat_id: int
    kind: str
    title: str | None
    outcome: Outcome
    reason: str | None
    # When it was sent, or when it is due (held, retrying); None otherwise.
    at: datetime | None


@dataclass(frozen=True, slots=True)
class StoryTrace:
    story: StoryFacts
    counts: dict[Outcome, int]
    # Listed chats, grouped by outcome (OUTCOME_ORDER); at most the caller's limit.
    chats: list[ChatOutcome]
    truncated: bool


def classify(story: StoryFacts, chat: ChatFacts, now: datetime) -> ChatOutcome:
    """The outcome of `story` for `chat` at `now`, with the reason when there is one."""
    outcome, reason, at = _outcome(story, chat, now)
    return ChatOutcome(chat.chat_id, chat.kind, chat.title, outcome, reason, at)


def _outcome(
    story: StoryFacts, chat: ChatFacts, now: datetime
) -> tuple[Outcome, str | None, datetime | None]:
    if chat.status is None:
        return _without_row(story, chat)
    if chat.status == _SENT:
        if chat.message_rows > 1:
            return Outcome.BUNDLED, f"one message with {chat.message_rows - 1} more", chat.sent_at
        return Outcome.SENT, None, chat.sent_at
    if chat.status in (_QUEUED, _SENDING):
        if chat.roundup and chat.next_attempt_at is not None and chat.next_attempt_at > now:
            return Outcome.HELD, "the chat's pace or quiet hours", chat.next_attempt_at
        due = chat.next_attempt_at if chat.last_error else None
        return Outcome.WAITING, chat.last_error, due
    if chat.status == _AWAITING:
        return Outcome.AWAITING_APPROVAL, None, None
    if chat.status == _SKIPPED:
        return Outcome.SKIPPED, chat.last_error, None
    if chat.status == _FAILED:
        if not chat.active:
            # The refusal switched the chat off (blocked, kicked, chat gone).
            return Outcome.BLOCKED, chat.last_error or chat.inactive_reason, None
        return Outcome.FAILED, chat.last_error, None
    return Outcome.FAILED, f"unknown status {chat.status}", None


def _without_row(story: StoryFacts, chat: ChatFacts) -> tuple[Outcome, str | None, datetime | None]:
    """A chat the outbox has no row for: why not, from the chat's and the story's state."""
    if chat.other_version is not None:
        return Outcome.SKIPPED, f"got another version of it (story {chat.other_version})", None
    if not chat.active:
        return Outcome.BLOCKED, chat.inactive_reason, None
    if not story.pushable:
        return Outcome.SKIPPED, "backlog from the feed's first poll: never pushed", None
    if chat.filtered:
        return Outcome.FILTERED_OUT, "the chat's desk filters leave it out", None
    if story.fanned_out_at is None:
        return Outcome.WAITING, "not queued yet", None
    return Outcome.SKIPPED, "not queued: the chat subscribed or joined after it went out", None


def trace(story: StoryFacts, chats: list[ChatFacts], now: datetime, limit: int) -> StoryTrace:
    """Every chat's outcome, counted in full; at most `limit` listed, grouped by outcome
    (failures and blocks listed before the bulk of "sent" would crowd them out: each
    outcome keeps a fair share of the list)."""
    outcomes = [classify(story, chat, now) for chat in chats]
    counts = Counter(item.outcome for item in outcomes)
    listed = _fair_share(outcomes, counts, limit)
    return StoryTrace(
        story=story,
        counts={outcome: counts[outcome] for outcome in OUTCOME_ORDER if counts[outcome]},
        chats=listed,
        truncated=len(listed) < len(outcomes),
    )


def _fair_share(
    outcomes: list[ChatOutcome], counts: Counter[Outcome], limit: int
) -> list[ChatOutcome]:
    """At most `limit` outcomes, grouped in OUTCOME_ORDER; when they do not all fit, the
    rarer outcomes are listed in full first and the commoner ones share what is left."""
    quota: dict[Outcome, int] = {}
    left = max(limit, 0)
    pending = sorted(counts, key=lambda outcome: counts[outcome])
    while pending:
        share = left // len(pending)
        outcome = pending.pop(0)
        quota[outcome] = min(counts[outcome], share if pending else left)
        left -= quota[outcome]
    by_outcome: dict[Outcome, list[ChatOutcome]] = {}
    for item in outcomes:
        group = by_outcome.setdefault(item.outcome, [])
        if len(group) < quota.get(item.outcome, 0):
            group.append(item)
    return [item for outcome in OUTCOME_ORDER for item in by_outcome.get(outcome, [])]
