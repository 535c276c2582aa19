"""What became of claimed deliveries: sent, back in the queue, failed, or their chat gone.

The sender records each outcome (storage/outbox.py claimed the rows); after a crash or a
dead sender's lease, `sending` rows go back to the queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from storage.destinations import deactivate
from storage.models import Delivery, Destination
from storage.states import DeliveryStatus

# One sent message: (delivery id, chat id, message id, sent at, content hash).
SentRecord = tuple[int, int, int, datetime, str | None]


async def mark_sent_many(session: AsyncSession, sent: Sequence[SentRecord]) -> None:
    """Record a batch of sent messages in one statement (executemany), not one each.

    A message that carries several rows (a bundle, a roundup) is recorded in one batch, so
    each of its rows learns here how many the message carries (`message_rows`)."""
    if not sent:
        return
    carried = Counter((chat_id, message_id) for _, chat_id, message_id, _, _ in sent)
    columns = Delivery.__table__.c

    def value(name: str) -> BindParameter[Any]:
        return bindparam(f"b_{name}", type_=columns[name].type)

    statement = (
        update(Delivery.__table__)
        .where(columns.id == value("id"))
        .values(
            status=DeliveryStatus.SENT,
            chat_id=value("chat_id"),
            message_id=value("message_id"),
            message_rows=value("message_rows"),
            sent_at=value("sent_at"),
            last_error=None,
            lease_until=None,
            content_hash=value("content_hash"),
        )
    )
    await session.execute(
        statement,
        [
            {
                "b_id": delivery_id,
                "b_chat_id": chat_id,
                "b_message_id": message_id,
                "b_message_rows": carried[(chat_id, message_id)],
                "b_sent_at": at,
                "b_content_hash": content_hash,
            }
            for delivery_id, chat_id, message_id, at, content_hash in sent
        ],
    )


async def leave_out(session: AsyncSession, delivery_ids: Sequence[int], reason: str) -> None:
    """Claimed deliveries that will not be sent, on purpose (`skipped`, saying why): the
    claim's attempt refunded, as nothing was tried."""
    if not delivery_ids:
        return
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)))
        .values(
            status=DeliveryStatus.SKIPPED,
            last_error=reason,
            lease_until=None,
            attempts=Delivery.attempts - 1,
        )
    )


async def requeue(
    session: AsyncSession,
    delivery_ids: Sequence[int],
    at: datetime,
    error: str | None = None,
    *,
    refund_attempt: bool = False,
) -> None:
    """Put deliveries back in the queue for `at` (a retry, or a chat not yet free)."""
    if not delivery_ids:
        return
    values: dict[str, object] = {"status": DeliveryStatus.QUEUED, "next_attempt_at": at}
    if error is not None:
        values["last_error"] = error[:2000]
    if refund_attempt:
        values["attempts"] = Delivery.attempts - 1
    await session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids)).values(**values))


async def mark_failed(session: AsyncSession, delivery_id: int, error: str) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.FAILED, last_error=error[:2000])
    )


async def chat_gone(session: AsyncSession, chat_id: int, reason: str, now: datetime) -> int:
    """A chat that blocked or removed the bot: inactive, and its queued deliveries failed."""
    await deactivate(session, chat_id, reason, now)
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.destination_id.in_(
                select(Destination.id).where(Destination.chat_id == chat_id)
            ),
        )
        .values(status=DeliveryStatus.FAILED, last_error=("chat inactive: " + reason)[:2000])
    )
    return max(result.rowcount or 0, 0)


async def requeue_interrupted(session: AsyncSession, now: datetime) -> int:
    """After a crash or restart with no other instance: every `sending` row is requeued."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.QUEUED, next_attempt_at=now, lease_until=None)
    )
    return max(result.rowcount or 0, 0)


async def requeue_expired(session: AsyncSession, now: datetime) -> int:
    """Deliveries whose sender died mid-send (its lease ran out) go back to the queue."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now)
        .values(status=DeliveryStatus.QUEUED, next_attempt_at=now, lease_until=None)
    )
    return max(result.rowcount or 0, 0)
