"""Read-only queries for operations: `newsbot stats`, the metrics endpoint, the CMS API, the
console's stats (bot/services/console_stats.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, ReactionCount, Story
from storage.states import DeliveryStatus


@dataclass(frozen=True, slots=True)
class Outbox:
    """The backlog: deliveries waiting (queued or being sent) and since when the oldest."""

    depth: int
    oldest_queued_at: datetime | None


async def outbox(session: AsyncSession, now: datetime) -> Outbox:
    """How deep the outbox is and how old its oldest pending delivery (due ones only: a
    story held for a channel's roundup or a retry's back-off is not a backlog)."""
    pending = Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.SENDING))
    depth = await session.scalar(select(func.count()).where(pending))
    oldest = await session.scalar(
        select(func.min(Delivery.created_at)).where(pending, Delivery.next_attempt_at <= now)
    )
    return Outbox(int(depth or 0), oldest)


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the last `since` looked like from the chats' side (`newsbot stats`)."""

    messages: int
    lag_p50: float | None
    lag_p95: float | None
    bundles: int
    stories_in_bundles: int


async def backlog_since(session: AsyncSession, since: datetime) -> Backlog:
    """Messages sent since `since`, how long each chat waited for its (queued to sent,
    the oldest story a message carries), and the bundles among them (a message that
    carries more than one delivery: a reader's bundle or a channel's roundup)."""
    query = (
        select(func.min(Delivery.created_at), func.max(Delivery.sent_at), func.count())
        .where(
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= since,
            Delivery.message_id.is_not(None),
        )
        .group_by(Delivery.chat_id, Delivery.message_id)
    )
    rows = (await session.execute(query)).all()
    waits = sorted((sent - queued).total_seconds() for queued, sent, _ in rows if sent and queued)
    bundled = [count for _, _, count in rows if count > 1]

    def at(share: float) -> float | None:
        return waits[min(len(waits) - 1, int(len(waits) * share))] if waits else None

    return Backlog(len(rows), at(0.5), at(0.95), len(bundled), sum(bundled))


async def alert_messages_since(session: AsyncSession, since: datetime) -> int:
    """Breaking news messages sent since `since` (today's paid broadcasts, at most)."""
    query = select(func.count()).where(
        Delivery.alert_id.is_not(None),
        Delivery.status == DeliveryStatus.SENT,
        Delivery.sent_at >= since,
    )
    return int(await session.scalar(query) or 0)


async def publish_to_delivery_seconds(
    session: AsyncSession, since: datetime, until: datetime
) -> list[float]:
    """For story messages sent in [since, until]: seconds from publication to sending.

    The sender records `sent_at` when the send returns, so a tick's sends all fall inside the
    tick's own time span.
    """
    query = (
        select(Delivery.sent_at, Story.published_at)
        .join(Story, Story.id == Delivery.story_id)
        .where(
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= since,
            Delivery.sent_at <= until,
        )
    )
    return [
        (sent_at - published_at).total_seconds()
        for sent_at, published_at in (await session.execute(query)).all()
        if sent_at is not None
    ]


async def story_id_for_link(session: AsyncSession, link: str) -> int | None:
    return await session.scalar(select(Story.id).where(Story.link == link))


@dataclass(frozen=True, slots=True)
class DayCount:
    day: str  # YYYY-MM-DD, UTC
    status: str
    count: int


async def deliveries_per_day(session: AsyncSession, since: datetime) -> list[DayCount]:
    """Deliveries created since `since`, counted per UTC day and status (oldest day first)."""
    day = func.date(Delivery.created_at)
    query = (
        select(day, Delivery.status, func.count())
        .where(Delivery.created_at >= since)
        .group_by(day, Delivery.status)
        .order_by(day)
    )
    return [
        DayCount(str(value), status, int(count))
        for value, status, count in (await session.execute(query)).all()
    ]


@dataclass(frozen=True, slots=True)
class EditionDayCount:
    day: str  # YYYY-MM-DD, UTC
    edition: str | None  # the story's; None for breaking news and digests
    status: str
    count: int


async def finished_per_day(session: AsyncSession, since: datetime) -> list[EditionDayCount]:
    """Deliveries created since `since` that were sent or failed, counted per UTC day (as
    `deliveries_per_day`), status and the edition of the story they carried: one GROUP BY
    in the database, a row per day, edition and status."""
    day = func.date(Delivery.created_at)
    query = (
        select(day, Story.edition, Delivery.status, func.count())
        .outerjoin(Story, Story.id == Delivery.story_id)
        .where(
            Delivery.created_at >= since,
            Delivery.status.in_((DeliveryStatus.SENT, DeliveryStatus.FAILED)),
        )
        .group_by(day, Story.edition, Delivery.status)
        .order_by(day)
    )
    return [
        EditionDayCount(str(value), edition, str(status), int(count))
        for value, edition, status, count in (await session.execute(query)).all()
    ]


async def story_reach(session: AsyncSession, story_ids: Sequence[int]) -> dict[int, int]:
    """How many chats got each of these stories (sent deliveries, alone or in a bundle)."""
    if not story_ids:
        return {}
    query = (
        select(Delivery.story_id, func.count())
        .where(Delivery.story_id.in_(list(story_ids)), Delivery.status == DeliveryStatus.SENT)
        .group_by(Delivery.story_id)
    )
    return {int(story): int(count) for story, count in (await session.execute(query)).all()}


async def story_reactions(session: AsyncSession, story_ids: Sequence[int]) -> dict[int, int]:
    """The reactions Telegram last reported on each story's posts, summed per story
    (ix_reaction_counts_story_id)."""
    if not story_ids:
        return {}
    query = (
        select(ReactionCount.story_id, func.sum(ReactionCount.total))
        .where(ReactionCount.story_id.in_(list(story_ids)))
        .group_by(ReactionCount.story_id)
    )
    return {int(story): int(total or 0) for story, total in (await session.execute(query)).all()}


@dataclass(frozen=True, slots=True)
class FailureReason:
    reason: str
    count: int


async def failure_reasons(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    alert_id: int | None = None,
    limit: int = 5,
) -> list[FailureReason]:
    """Failed deliveries grouped by Telegram's reason, commonest first.

    Editors see these under a breaking-news report and with /failures, so a 400 ("message is
    too long", "chat not found") is visible to people who can act on it, not only in logs.
    """
    query = select(Delivery.last_error, func.count()).where(
        Delivery.status == DeliveryStatus.FAILED
    )
    if since is not None:
        query = query.where(Delivery.created_at >= since)
    if alert_id is not None:
        query = query.where(Delivery.alert_id == alert_id)
    query = (
        query.group_by(Delivery.last_error)
        .order_by(func.count().desc(), Delivery.last_error)
        .limit(limit)
    )
    return [
        FailureReason(reason or "unknown", int(count))
        for reason, count in (await session.execute(query)).all()
    ]
