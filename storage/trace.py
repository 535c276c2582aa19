"""What the database knows of where a story went: the facts bot/domain/trace.py classifies.

Read-only. A story's chats are the ones with an outbox row for it (`StoryChats`, here), and
the subscribers of its section reading its edition that have none: filtered out, inactive,
given another version of the story's group, or come since. The outbox never records those,
so they are read from the chats (storage/trace_rowless.py).

A story may be meant for 100k chats and the console's trace answers within 100 ms (issue 23),
so nothing here reads a row per chat: the rows are counted by status from `ix_deliveries_story`
alone and the bundled ones from the partial `ix_deliveries_bundled` (migration 0016); only the
failed and the waiting rows, a few, are joined to their chat or read. A listing then reads,
for each facts group, at most its quota (the domain's `listing_quota`) in chat order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.trace import ChatFacts, Facts, StoryFacts
from storage.models import Delivery, Destination, Story
from storage.states import DeliveryStatus
from storage.trace_rowless import Rowless

_STORY_COLUMNS = (
    Story.id,
    Story.title,
    Story.section,
    Story.edition,
    Story.published_at,
    Story.pushable,
    Story.fanned_out_at,
)
_SENT = DeliveryStatus.SENT.value
_FAILED = DeliveryStatus.FAILED.value
# Rows whose facts need more than their status: a failed row's chat (did the refusal switch
# it off?), a waiting row's hold (is it kept for the chat's roundup?).
_WAITING = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)
_REFINED = (_FAILED, *_WAITING)
_BUNDLED = Delivery.message_rows > 1


def _story(row: Any) -> StoryFacts:
    return StoryFacts(
        id=row.id,
        headline=row.title,
        section=row.section,
        edition=row.edition,
        published_at=row.published_at,
        pushable=bool(row.pushable),
        fanned_out_at=row.fanned_out_at,
    )


async def recent_stories(session: AsyncSession, limit: int) -> list[StoryFacts]:
    """The `limit` most recently published stories, newest first (ix_stories_published_at)."""
    query = (
        select(*_STORY_COLUMNS).order_by(Story.published_at.desc(), Story.id.desc()).limit(limit)
    )
    return [_story(row) for row in (await session.execute(query)).all()]


async def story_facts(session: AsyncSession, story_id: int) -> StoryFacts | None:
    row = (await session.execute(select(*_STORY_COLUMNS).where(Story.id == story_id))).first()
    return None if row is None else _story(row)


def _held(now: datetime) -> Any:
    """Kept for the chat's roundup, due after now (its pace or quiet hours hold it)."""
    return and_(Delivery.roundup, Delivery.next_attempt_at > now)


class StoryChats:
    """One story's chats, read in two steps: `counts` (every chat, by its facts), then
    `samples` (the listed chats, a quota of each facts group). Use within one session."""

    def __init__(self, session: AsyncSession, story: StoryFacts, now: datetime) -> None:
        self._session = session
        self._story = story
        self._now = now
        self._rowless: Rowless | None = None

    async def counts(self) -> dict[Facts, int]:
        """How many chats the story was meant for, by their facts."""
        if self._session.get_bind().dialect.name == "postgresql":
            # asyncpg prepares each statement; from its sixth run PostgreSQL may keep a plan
            # made for no story in particular, which is twice as slow for a story meant for
            # 100k chats without a row yet than for one sent to them. Plan for this story.
            await self._session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        counts = await self._row_counts()
        if self._story.section is not None:
            self._rowless = await Rowless.of(self._session, self._story)
            for facts, count in (await self._rowless.counts()).items():
                counts[facts] = counts.get(facts, 0) + count
        return counts

    async def samples(self, quota: Mapping[Facts, int]) -> list[ChatFacts]:
        """At most `quota[facts]` chats of each facts group (in chat order); `counts` first."""
        found: list[ChatFacts] = []
        for facts, wanted in quota.items():
            if wanted <= 0:
                continue
            if facts.status is not None:
                found.extend(await self._row_samples(facts, wanted))
            elif self._rowless is not None:
                found.extend(await self._rowless.samples(facts, wanted))
        return found

    async def _row_counts(self) -> dict[Facts, int]:
        story = Delivery.story_id == self._story.id
        by_status = {
            str(status): int(count)
            for status, count in await self._session.execute(
                select(Delivery.status, func.count()).where(story).group_by(Delivery.status)
            )
        }
        counts: dict[Facts, int] = {}
        for status, count in by_status.items():
            if status not in _REFINED:
                counts[Facts(status=status)] = count
        if by_status.get(_SENT):
            bundled = await self._session.scalar(
                select(func.count()).where(story, _BUNDLED, Delivery.status == _SENT)
            )
            bundled = int(bundled or 0)
            counts[Facts(status=_SENT)] = by_status[_SENT] - bundled
            if bundled:
                counts[Facts(status=_SENT, bundled=True)] = bundled
        if any(by_status.get(status) for status in _REFINED):
            query = (
                select(
                    Delivery.status,
                    Destination.active,
                    _held(self._now).label("held"),
                    func.count(),
                )
                .join(Destination, Destination.id == Delivery.destination_id)
                .where(story, Delivery.status.in_(_REFINED))
                .group_by(Delivery.status, Destination.active, "held")
            )
            for status, active, held, count in await self._session.execute(query):
                facts = _refined(str(status), bool(active), bool(held))
                counts[facts] = counts.get(facts, 0) + int(count)
        return {facts: count for facts, count in counts.items() if count}

    async def _row_samples(self, facts: Facts, limit: int) -> list[ChatFacts]:
        """The first `limit` chats (by chat) whose row for the story has these facts."""
        query = (
            select(
                Destination.chat_id,
                Destination.kind,
                Destination.title,
                Destination.inactive_reason,
                Delivery.last_error,
                Delivery.next_attempt_at,
                Delivery.sent_at,
                Delivery.message_rows,
            )
            .join(Destination, Destination.id == Delivery.destination_id)
            .where(Delivery.story_id == self._story.id, Delivery.status == facts.status)
            .order_by(Delivery.destination_id)
            .limit(limit)
        )
        if facts.status == _SENT:
            bundled = (
                _BUNDLED if facts.bundled else or_(Delivery.message_rows.is_(None), not_(_BUNDLED))
            )
            query = query.where(bundled)
        elif facts.status == _FAILED:
            query = query.where(Destination.active.is_(facts.active))
        elif facts.status in _WAITING:
            held = _held(self._now)
            query = query.where(held if facts.held else not_(held))
        return [
            ChatFacts(
                chat_id=row.chat_id,
                kind=row.kind,
                title=row.title,
                facts=facts,
                inactive_reason=row.inactive_reason,
                last_error=row.last_error,
                next_attempt_at=row.next_attempt_at,
                sent_at=row.sent_at,
                message_rows=max(row.message_rows or 1, 1),
            )
            for row in await self._session.execute(query)
        ]


def _refined(status: str, active: bool, held: bool) -> Facts:
    """A failed row's facts name its chat's state; a waiting row's, its hold."""
    if status == _FAILED:
        return Facts(status=status, active=active)
    return Facts(status=status, held=held)
