"""The sender's side of the outbox: which rows are due, claimed under a lease, held back.

The sender takes chats' fair turns (`due_turns`, then `claim`), or the oldest due rows first
(`claim_due`); a claim is a lease that runs out if the sender dies (storage/delivery_results.py
`requeue_expired`). A paced chat's stories may be held for its "More news" roundup
(`hold_for_roundup`, `claim_roundup`, counted by `recent_posts`). Rows come out as
bot/domain/outbox.py `DeliveryJob`s.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.admission import pace_rule
from bot.domain.channel_rules import DEFAULT_FORMAT, DeskPace
from bot.domain.outbox import DeliveryJob, chat_ref
from storage.channel_rules import FORMAT_COLUMNS, format_of
from storage.editions import editions_of_many
from storage.models import ChannelRule, Delivery, Destination, Story
from storage.states import DeliveryStatus

# Longer than any send takes (PTB's timeouts are seconds), short enough that another
# instance takes over a dead sender's deliveries well within a minute.
DELIVERY_LEASE = timedelta(seconds=30)


def _job_query(now: datetime) -> Select[Any]:
    """Due queued deliveries of active chats, with what the sender needs to send each."""
    return (
        select(
            Delivery.id,
            Delivery.destination_id,
            Destination.chat_id,
            Destination.kind,
            Destination.language,
            Delivery.story_id,
            Delivery.alert_id,
            Delivery.attempts,
            Delivery.digest_slot,
            Delivery.approval_id,
            Delivery.roundup,
            Delivery.version,
            *_PACE_COLUMNS,
            Destination.is_forum,
            *FORMAT_COLUMNS,
            ChannelRule.config_ref,
            Story.section,
            Delivery.created_at,
        )
        .join(Destination, Destination.id == Delivery.destination_id)
        # The chat's rules ride along (a primary-key join, no query of its own per batch).
        .outerjoin(ChannelRule, ChannelRule.destination_id == Delivery.destination_id)
        .outerjoin(Story, Story.id == Delivery.story_id)
        .where(
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at <= now,
            Destination.active.is_(True),
        )
        .order_by(Delivery.priority, Delivery.next_attempt_at, Delivery.id)
    )


def _locked(session: AsyncSession, query: Select[Any]) -> Select[Any]:
    """On PostgreSQL, rows another instance is claiming are skipped, not waited for."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Delivery)
    return query


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta = DELIVERY_LEASE
) -> list[DeliveryJob]:
    """Take up to `limit` due deliveries (breaking first), first in first out, and mark
    them `sending` (the FIFO order the sender used before fair turns; see `due_turns`).

    The claim is a lease: if the sender dies before recording the result, the row goes
    back to the queue when the lease runs out (storage/delivery_results.py `requeue_expired`).
    """
    rows = (await session.execute(_locked(session, _job_query(now).limit(limit)))).all()
    return await claim(session, await _jobs(session, rows), now, lease)


async def due_turns(
    session: AsyncSession, now: datetime, chats: int, per_chat: int
) -> list[DeliveryJob]:
    """The due deliveries of the next `chats` chats in line, not yet claimed: the chats whose
    oldest due delivery waits longest, breaking news first (a fair turn each, whatever the
    size of another chat's backlog); at most `per_chat` rows each, in each chat's order.
    Locked on PostgreSQL until the transaction ends (see `claim`), so two instances never
    take the same row (the leadership lock keeps a second sender from picking at all)."""
    waiting = (
        select(Delivery.destination_id)
        .join(Destination, Destination.id == Delivery.destination_id)
        .where(
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at <= now,
            Destination.active.is_(True),
        )
        .group_by(Delivery.destination_id)
        .order_by(func.min(Delivery.priority), func.min(Delivery.next_attempt_at))
        .limit(chats)
    )
    next_chats = list((await session.scalars(waiting)).all())
    if not next_chats:
        return []
    # Each chat's first `per_chat` rows (a window per chat: one chat's long backlog never
    # crowds the others out of the batch), then those rows themselves, locked.
    place = (
        func.row_number()
        .over(
            partition_by=Delivery.destination_id,
            order_by=(Delivery.priority, Delivery.next_attempt_at, Delivery.id),
        )
        .label("place")
    )
    ranked = (
        select(Delivery.id, place)
        .where(
            Delivery.destination_id.in_(next_chats),
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at <= now,
        )
        .subquery()
    )
    first = select(ranked.c.id).where(ranked.c.place <= per_chat)
    query = _job_query(now).where(Delivery.id.in_(first))
    return await _jobs(session, (await session.execute(_locked(session, query))).all())


async def claim(
    session: AsyncSession, jobs: list[DeliveryJob], now: datetime, lease: timedelta = DELIVERY_LEASE
) -> list[DeliveryJob]:
    """Mark the jobs' rows (each job's own and its bundle's) `sending` under one lease;
    returns the jobs with the attempt counted."""
    ids = [delivery_id for job in jobs for delivery_id in (job.id, *(m for m, _ in job.members))]
    if not ids:
        return []
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(
            status=DeliveryStatus.SENDING, attempts=Delivery.attempts + 1, lease_until=now + lease
        )
    )
    return [replace(job, attempts=job.attempts + 1) for job in jobs]


async def _jobs(session: AsyncSession, rows: Sequence[Any]) -> list[DeliveryJob]:
    """Claimable rows as jobs (the editions of chats that get breaking news or a digest)."""
    readers = [row.destination_id for row in rows if row.alert_id is not None or row.digest_slot]
    editions = await editions_of_many(session, readers) if readers else {}
    return [
        DeliveryJob(
            id=row.id,
            destination_id=row.destination_id,
            chat_id=row.chat_id,
            chat_kind=row.kind,
            language=row.language,
            story_id=row.story_id,
            alert_id=row.alert_id,
            attempts=row.attempts,
            digest_slot=row.digest_slot,
            editions=editions.get(row.destination_id, frozenset()),
            approval_id=row.approval_id,
            roundup=row.roundup,
            pace=_pace(row) if row.story_id is not None else None,
            forum=bool(row.is_forum),
            look=format_of(row) if row.story_id is not None else DEFAULT_FORMAT,
            chat_ref=chat_ref(row.config_ref, row.chat_id),
            section=row.section,
            queued_at=row.created_at,
            version=row.version,
        )
        for row in rows
    ]


_PACE_COLUMNS = (
    ChannelRule.max_posts_per_hour,
    ChannelRule.quiet_hours,
    ChannelRule.quiet_mode,
    # Not the row's own `roundup` (held for one): whether the chat takes roundups at all.
    ChannelRule.roundup.label("takes_roundups"),
)


def _pace(row: Any) -> DeskPace | None:
    """The chat's pace from a claimed row, or None when it has no pace rule."""
    return pace_rule(row.max_posts_per_hour, row.quiet_hours, row.quiet_mode, row.takes_roundups)


async def recent_posts(
    session: AsyncSession, destination_ids: Collection[int], since: datetime
) -> dict[int, dict[int, datetime]]:
    """The story posts each chat had since `since`, as {message id: sent at}, in one query.

    A roundup is one post however many stories it lists (its rows share the message id);
    breaking news and digests are not counted (pace never holds them back).
    """
    if not destination_ids:
        return {}
    query = (
        select(Delivery.destination_id, Delivery.message_id, func.min(Delivery.sent_at))
        .where(
            Delivery.destination_id.in_(list(destination_ids)),
            Delivery.status == DeliveryStatus.SENT,
            Delivery.story_id.is_not(None),
            Delivery.message_id.is_not(None),
            Delivery.sent_at > since,
        )
        .group_by(Delivery.destination_id, Delivery.message_id)
    )
    found: dict[int, dict[int, datetime]] = {}
    for destination_id, message_id, sent_at in (await session.execute(query)).all():
        found.setdefault(destination_id, {})[message_id] = sent_at
    return found


async def hold_for_roundup(
    session: AsyncSession, delivery_ids: Sequence[int], at: datetime
) -> None:
    """Keep claimed story deliveries for the chat's "More news" roundup until `at`.

    Back to `queued` (so a crash can lose nothing), the claim's attempt refunded: holding
    is not a failed try.
    """
    if not delivery_ids:
        return
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)))
        .values(
            status=DeliveryStatus.QUEUED,
            roundup=True,
            next_attempt_at=at,
            lease_until=None,
            attempts=Delivery.attempts - 1,
        )
    )


async def claim_roundup(
    session: AsyncSession, destination_id: int, now: datetime, lease: timedelta = DELIVERY_LEASE
) -> list[tuple[int, int]]:
    """Claim every other held row of the chat's roundup (due or not): [(delivery id, story
    id)], oldest first, marked `sending` with one lease, so they go, or come back, together."""
    query = (
        select(Delivery.id, Delivery.story_id)
        .where(
            Delivery.destination_id == destination_id,
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.roundup.is_(True),
            Delivery.story_id.is_not(None),
        )
        .order_by(Delivery.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [(row.id, row.story_id) for row in (await session.execute(query)).all()]
    if rows:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([delivery_id for delivery_id, _ in rows]))
            .values(
                status=DeliveryStatus.SENDING,
                attempts=Delivery.attempts + 1,
                lease_until=now + lease,
            )
        )
    return rows


async def next_due_at(session: AsyncSession) -> datetime | None:
    query = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.status == DeliveryStatus.QUEUED
    )
    return await session.scalar(query)
