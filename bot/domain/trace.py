"""Why a chat did or did not get a story: one outcome per chat the story was meant for.

A story is meant for every chat subscribed to its section that reads its edition. What
happened for each is spread over the outbox row (or its absence), the chat's state, its desk
filters and the story's approval; this module turns those facts, read by storage/trace.py,
into one outcome with a reason an editor can act on (the console's story trace, answering
"why didn't my channel get this?"). The outcome depends only on `Facts`, so storage can count
a story's chats by them in SQL; the reasons need a listed chat's details. Pure.

The outbox writes no row for a chat whose desk filters leave a story out, nor for one that
already has another version of the story's group, nor for an inactive chat: their outcomes
are read from the chat's state instead of a row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar


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
_STATUSES = frozenset({_QUEUED, _SENDING, _SENT, _FAILED, _AWAITING, _SKIPPED})

Key = TypeVar("Key")


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
class Facts:
    """What decides a chat's outcome, and nothing that names the chat: storage counts a
    story's chats by these (one GROUP BY), so a trace over 100k chats reads a few rows."""

    # The story's outbox row for the chat; None: there is none.
    status: str | None = None
    active: bool = True
    # The chat has desk filters (a filtered-out story leaves no outbox row).
    filtered: bool = False
    # Queued for the chat's roundup, due after now (its pace or quiet hours hold it).
    held: bool = False
    # Sent in a message that carries other outbox rows too (a bundle or a roundup).
    bundled: bool = False
    # No row: the chat has another version of the story's group instead.
    other_version: bool = False


@dataclass(frozen=True, slots=True)
class ChatFacts:
    """One chat the story was meant for, with what a listed chat shows (storage/trace.py)."""

    chat_id: int
    kind: str
    title: str | None
    facts: Facts
    inactive_reason: str | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    # How many outbox rows share the message this one was sent in (1: its own message).
    message_rows: int = 1
    # The story id of the group's version this chat got instead.
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


def outcome_of(story: StoryFacts, facts: Facts) -> Outcome:
    """What became of `story` for a chat with these facts."""
    if facts.status is None:
        return _without_row(story, facts)
    return _with_row(facts)


def _with_row(facts: Facts) -> Outcome:
    """A chat with an outbox row for the story: its status (and the chat's state) decide."""
    if facts.status == _SENT:
        return Outcome.BUNDLED if facts.bundled else Outcome.SENT
    if facts.status in (_QUEUED, _SENDING):
        return Outcome.HELD if facts.held else Outcome.WAITING
    if facts.status == _AWAITING:
        return Outcome.AWAITING_APPROVAL
    if facts.status == _SKIPPED:
        return Outcome.SKIPPED
    if facts.status == _FAILED and not facts.active:
        # The refusal switched the chat off (blocked, kicked, chat gone).
        return Outcome.BLOCKED
    return Outcome.FAILED


def delivery_outcome(chat: ChatFacts) -> tuple[Outcome, str | None, datetime | None]:
    """The outcome of one outbox row (a chat's delivery history), with its reason and time,
    in the trace's words. The row's facts alone decide it (ValueError without a status)."""
    if chat.facts.status is None:
        raise ValueError("a delivery's outcome needs its row's status")
    outcome = _with_row(chat.facts)
    reason, at = _reason(None, chat, outcome)
    return outcome, reason, at


def _without_row(story: StoryFacts, facts: Facts) -> Outcome:
    """A chat the outbox has no row for: why not, from the chat's and the story's state."""
    if facts.other_version:
        return Outcome.SKIPPED
    if not facts.active:
        return Outcome.BLOCKED
    if not story.pushable:
        return Outcome.SKIPPED
    if facts.filtered:
        return Outcome.FILTERED_OUT
    if story.fanned_out_at is None:
        return Outcome.WAITING
    return Outcome.SKIPPED


def classify(story: StoryFacts, chat: ChatFacts) -> ChatOutcome:
    """The outcome of `story` for `chat`, with the reason when there is one."""
    outcome = outcome_of(story, chat.facts)
    reason, at = _reason(story, chat, outcome)
    return ChatOutcome(chat.chat_id, chat.kind, chat.title, outcome, reason, at)


def _reason(
    story: StoryFacts | None, chat: ChatFacts, outcome: Outcome
) -> tuple[str | None, datetime | None]:
    """Why, in a few words an editor can act on, and when (sent, or due)."""
    row = chat.facts.status is not None
    match outcome:
        case Outcome.SENT:
            return None, chat.sent_at
        case Outcome.BUNDLED:
            others = chat.message_rows - 1
            return (f"one message with {others} more" if others > 0 else None), chat.sent_at
        case Outcome.HELD:
            return "the chat's pace or quiet hours", chat.next_attempt_at
        case Outcome.WAITING if row:
            # A retry after a failed try says why, and when it is due.
            return chat.last_error, chat.next_attempt_at if chat.last_error else None
        case Outcome.WAITING:
            return "not queued yet", None
        case Outcome.FILTERED_OUT:
            return "the chat's desk filters leave it out", None
        case Outcome.BLOCKED:
            return chat.last_error or chat.inactive_reason, None
        case Outcome.SKIPPED if not row and story is not None:
            return _not_queued(story, chat), None
        case Outcome.FAILED if chat.facts.status not in _STATUSES:
            return f"unknown status {chat.facts.status}", None
    return chat.last_error, None


def _not_queued(story: StoryFacts, chat: ChatFacts) -> str:
    if chat.facts.other_version:
        version = f" (story {chat.other_version})" if chat.other_version is not None else ""
        return f"got another version of it{version}"
    if not story.pushable:
        return "backlog from the feed's first poll: never pushed"
    return "not queued: the chat subscribed or joined after it went out"


def trace(
    story: StoryFacts,
    counts: Mapping[Facts, int],
    samples: Sequence[ChatFacts],
    limit: int,
) -> StoryTrace:
    """The story's trace: every chat counted by outcome (`counts`: chats by their facts), and
    at most `limit` of `samples` listed, grouped by outcome; when they do not all fit, rarer
    outcomes are listed in full first and the commoner ones share what is left, so failures
    are never crowded out by thousands of "sent". `samples` must hold, of each facts group,
    at least its `listing_quota` (storage/trace.py reads exactly that)."""
    by_outcome: Counter[Outcome] = Counter()
    for facts, count in counts.items():
        by_outcome[outcome_of(story, facts)] += count
    quota = _fair_share(by_outcome, limit)
    listed: dict[Outcome, list[ChatOutcome]] = {}
    for chat in samples:
        item = classify(story, chat)
        group = listed.setdefault(item.outcome, [])
        if len(group) < quota.get(item.outcome, 0):
            group.append(item)
    chats = [item for outcome in OUTCOME_ORDER for item in listed.get(outcome, [])]
    return StoryTrace(
        story=story,
        counts={outcome: by_outcome[outcome] for outcome in OUTCOME_ORDER if by_outcome[outcome]},
        chats=chats,
        truncated=len(chats) < sum(by_outcome.values()),
    )


def listing_quota(story: StoryFacts, counts: Mapping[Facts, int], limit: int) -> dict[Facts, int]:
    """How many chats of each facts group a trace of `limit` chats lists: each outcome's
    share (`trace`'s), shared in turn among the facts groups that lead to it. Storage reads
    exactly these (a few queries with LIMIT), never every chat of a 100k-chat story."""
    by_outcome: dict[Outcome, dict[Facts, int]] = {}
    for facts, count in counts.items():
        by_outcome.setdefault(outcome_of(story, facts), {})[facts] = count
    totals = {outcome: sum(groups.values()) for outcome, groups in by_outcome.items()}
    quota: dict[Facts, int] = {}
    for outcome, share in _fair_share(totals, limit).items():
        quota.update(_fair_share(by_outcome[outcome], share))
    return {facts: wanted for facts, wanted in quota.items() if wanted > 0}


def _fair_share(counts: Mapping[Key, int], limit: int) -> dict[Key, int]:
    """How many of each kind to list, `limit` in all: the rarest first in full, the rest
    shared evenly among the commoner ones (in a stable order: equal counts by first seen)."""
    quota: dict[Key, int] = {}
    left = max(limit, 0)
    pending = sorted(counts, key=lambda key: counts[key])
    while pending:
        share = left // len(pending)
        key = pending.pop(0)
        quota[key] = min(counts[key], share if pending else left)
        left -= quota[key]
    return quota
