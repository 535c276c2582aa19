"""Read-only queries for operations: `newsbot stats`, the metrics endpoint, the CMS API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, Story
from storage.states import DeliveryStatus


async def queued_deliveries(session: AsyncSession) -> int:
    """Deliveries waiting to be sent (queued, or claimed and being sent)."""
    query = select(func.count()).where(
        Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.SENDING))
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
