"""The fan-out: each new story's deliveries, queued for the chats that take it.

Who takes a story is decided by the admission rules (bot/domain/admission.py); this module
reads what they need (the batch's stories, the filtered chats' rules, the chats with
approval, a story's readers among them) and writes the rows they admit. The plain road (a
chat with neither filters nor approval takes every story of its sections and editions) is a
set-based INSERT … SELECT here, one statement per story however many chats read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.admission import ApprovalDesk, admitted, judged_directly
from bot.domain.channel_rules import DeskJudge, DeskRules, StoryText
from storage.approvals import approval_chat_ids, approval_chats, drop_empty, open_approval
from storage.channel_rules import filtered_rules
from storage.deliveries import STORY_PRIORITY, insert_deliveries, insert_rows
from storage.models import (
    ChannelRule,
    Delivery,
    Destination,
    DestinationEdition,
    Story,
    Subscription,
)
from storage.states import DeliveryStatus

FAN_OUT_BATCH = 50
# How long a story waits for the editors' desk by default (Settings.approval_timeout).
APPROVAL_TIMEOUT = timedelta(hours=6)

_STORY_COLUMNS = (
    "destination_id",
    "story_id",
    "alert_id",
    "group_id",
    "priority",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


async def fan_out_stories(
    session: AsyncSession,
    now: datetime,
    judge: DeskJudge | None = None,
    approval_timeout: timedelta = APPROVAL_TIMEOUT,
) -> dict[int, int]:
    """Queue every new story for each active destination subscribed to its section.

    Chats with desk filters (storage/channel_rules.py) take a story only when `judge` admits it;
    without a judge they take none (a filtered chat never gets what it filters out).
    Chats with approval get theirs `awaiting` the editors' desk (one approvals row per
    story, expiring after `approval_timeout`), after their filters. The rules are
    bot/domain/admission.py's; the plain road is `_queue_story`'s SQL.
    Marks the stories fanned out in the same transaction. Returns {story id: deliveries}.
    """
    query = (
        select(
            Story.id,
            Story.section,
            Story.edition,
            Story.group_id,
            Story.title,
            Story.summary,
            Story.categories,
        )
        # A story whose article page is still to be read for its other versions waits: a
        # reader of two editions must get one version of it, not both.
        .where(Story.fanned_out_at.is_(None), Story.alternates_pending.is_(False))
        .order_by(Story.id)
        .limit(FAN_OUT_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Several instances may fan out at once: each takes different stories.
        query = query.with_for_update(skip_locked=True, of=Story)
    pending = (await session.execute(query)).all()
    # Read once a batch: a handful of rows per filtered chat, whatever the story count.
    rules = await filtered_rules(session) if pending else {}
    approving = await approval_chat_ids(session) if pending else set()
    # Filtered chats with approval are judged on the way to the desk, not queued directly.
    direct = judged_directly(rules, approving)
    desk = ApprovalDesk(approving, rules, judge, approval_timeout)
    queued: dict[int, int] = {}
    for story_id, section, edition, group_id, title, summary, categories in pending:
        if not section:
            queued[story_id] = 0
            continue
        story = _Fanned(story_id, section, edition, group_id or story_id)
        queued[story_id] = await _queue_story(session, story, now)
        text = StoryText(story_id, title or "", summary or "", tuple(categories or ()))
        if direct:
            queued[story_id] += await _queue_filtered(session, story, text, direct, judge, now)
        if approving:
            queued[story_id] += await _queue_for_approval(session, story, text, desk, now)
    if pending:
        await session.execute(
            update(Story).where(Story.id.in_([row[0] for row in pending])).values(fanned_out_at=now)
        )
    return queued


@dataclass(frozen=True, slots=True)
class _Fanned:
    """A story being fanned out: where it goes and which group it belongs to."""

    id: int
    section: str
    edition: str | None
    group_id: int


def _readers_of(story: _Fanned) -> Select[Any]:
    """Active chats subscribed to the story's section that read its edition (their ids)."""
    query = (
        select(Destination.id)
        .join(Subscription, Subscription.destination_id == Destination.id)
        .where(Destination.active.is_(True), Subscription.section == story.section)
    )
    if story.edition is not None:
        reads = select(DestinationEdition.destination_id).where(
            DestinationEdition.edition == story.edition
        )
        query = query.where(Destination.id.in_(reads))
    return query


def _story_row(story: _Fanned, now: datetime) -> tuple[Any, ...]:
    return (
        literal(story.id),
        literal(None),
        literal(story.group_id),
        literal(STORY_PRIORITY),
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(now, type_=Delivery.next_attempt_at.type),
        literal(now, type_=Delivery.created_at.type),
    )


async def _queue_story(session: AsyncSession, story: _Fanned, now: datetime) -> int:
    """Queue a story for each active chat subscribed to its section that reads its edition
    and has no desk filters nor approval, in one INSERT … SELECT, unless the chat already
    has a version of its group (the unique (destination, group) index makes that a no-op, so
    versions arriving in any order reach a chat once).

    This admission rule (bot/domain/admission.py's plain road) is decided in SQL, set-based:
    one statement for every reader, not a row per chat through Python (100k chats)."""
    filtered = select(ChannelRule.destination_id).where(ChannelRule.filtered.is_(True))
    targets = (
        _readers_of(story)
        .add_columns(*_story_row(story, now))
        .where(Destination.id.not_in(filtered), Destination.id.not_in(approval_chats()))
    )
    return await insert_deliveries(session, _STORY_COLUMNS, targets)


async def _queue_filtered(
    session: AsyncSession,
    story: _Fanned,
    text: StoryText,
    rules: dict[int, DeskRules],
    judge: DeskJudge | None,
    now: datetime,
) -> int:
    """Queue a story for the filtered chats among its readers that the judge admits it to."""
    if judge is None:
        return 0
    candidates = await session.scalars(_readers_of(story).where(Destination.id.in_(list(rules))))
    chats = admitted(candidates, rules, judge, text)
    if not chats:
        return 0
    return await insert_rows(
        session,
        [
            {
                "destination_id": destination_id,
                "story_id": story.id,
                "alert_id": None,
                "group_id": story.group_id,
                "priority": STORY_PRIORITY,
                "status": DeliveryStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for destination_id in chats
        ],
    )


async def _queue_for_approval(
    session: AsyncSession, story: _Fanned, text: StoryText, desk: ApprovalDesk, now: datetime
) -> int:
    """The story's deliveries to the chats with approval among its readers (filters first),
    `awaiting` one approvals row; none when no such chat takes it."""
    candidates = await session.scalars(_readers_of(story).where(Destination.id.in_(desk.chats)))
    chats = desk.admitted(candidates, text)
    if not chats:
        return 0
    approval_id = await open_approval(session, story.id, now, desk.expires_at(now))
    rows = [
        {
            "destination_id": destination_id,
            "story_id": story.id,
            "alert_id": None,
            "group_id": story.group_id,
            "priority": STORY_PRIORITY,
            "status": DeliveryStatus.AWAITING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "approval_id": approval_id,
        }
        for destination_id in chats
    ]
    inserted = await insert_rows(session, rows)
    if not inserted:
        await drop_empty(session, approval_id)
    return inserted
