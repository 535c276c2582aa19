"""The daily digest's bookkeeping: who opted in, and each slot queued in the outbox.

A slot is one `digest_slots` row (the stories it lists) and one delivery per opted-in
destination, queued in one transaction. The deliveries' unique key (destination, slot) makes
queueing idempotent: a restart, a second instance or a re-run job queues each chat's slot
at most once, and the sender sends each delivery once (storage/deliveries.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.deliveries import DIGEST_PRIORITY, insert_deliveries
from storage.models import Delivery, Destination, DigestSlot
from storage.states import DeliveryStatus

# A slot missed by this much is skipped rather than sent late: by its cron job (the bot was
# down at the time) and by the sender (its deliveries still queued an hour after the slot).
MISSED_AFTER = timedelta(hours=1)


async def subscribers(session: AsyncSession) -> list[Destination]:
    """Active destinations that opted in to the digest."""
    query = (
        select(Destination)
        .where(Destination.digest.is_(True), Destination.active.is_(True))
        .order_by(Destination.id)
    )
    return list((await session.scalars(query)).all())


async def set_digest(session: AsyncSession, destination_id: int, enabled: bool) -> None:
    await session.execute(
        update(Destination).where(Destination.id == destination_id).values(digest=enabled)
    )


async def is_subscribed(session: AsyncSession, destination_id: int) -> bool:
    query = select(Destination.digest).where(Destination.id == destination_id)
    return bool(await session.scalar(query))


@dataclass(frozen=True, slots=True)
class Queued:
    """What queueing a slot did: deliveries queued now, and chats that had it queued before."""

    queued: int
    already: int


async def queue_slot(
    session: AsyncSession,
    slot: str,
    *,
    day: str,
    due_at: datetime,
    story_ids: Sequence[int],
    now: datetime,
) -> Queued:
    """Record slot `slot` (once: the first to queue it fixes its stories) and queue one
    delivery for each opted-in active destination that has not had it queued."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        module.insert(DigestSlot)
        .values(slot=slot, day=day, due_at=due_at, story_ids=list(story_ids), created_at=now)
        .on_conflict_do_nothing()
    )
    targets = select(
        Destination.id,
        literal(slot),
        literal(DIGEST_PRIORITY),
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(now, type_=Delivery.next_attempt_at.type),
        literal(now, type_=Delivery.created_at.type),
    ).where(Destination.digest.is_(True), Destination.active.is_(True))
    queued = await insert_deliveries(
        session,
        ("destination_id", "digest_slot", "priority", "status", "attempts", "next_attempt_at",
         "created_at"),
        targets,
    )  # fmt: skip
    total = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.digest_slot == slot)
    )
    return Queued(queued, int(total or 0) - queued)


async def get_slot(session: AsyncSession, slot: str) -> DigestSlot | None:
    return await session.get(DigestSlot, slot)


async def slot_deliveries(session: AsyncSession, slot: str) -> list[Delivery]:
    """The slot's deliveries, by destination (what `newsbot stats` and the tests look at)."""
    query = select(Delivery).where(Delivery.digest_slot == slot).order_by(Delivery.destination_id)
    return list((await session.scalars(query)).all())


async def skip_missed(session: AsyncSession, now: datetime) -> int:
    """Queued digest deliveries of slots due more than MISSED_AFTER ago end as failed."""
    late = select(DigestSlot.slot).where(DigestSlot.due_at < now - MISSED_AFTER)
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.QUEUED, Delivery.digest_slot.in_(late))
        .values(status=DeliveryStatus.FAILED, last_error="digest slot missed by more than an hour")
    )
    return max(result.rowcount or 0, 0)
