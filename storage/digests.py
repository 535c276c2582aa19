"""The daily digest's bookkeeping: who opted in, and which slot each destination has had.

A slot is claimed (a row in digest_sends) before its message is sent, so a restart, a
second instance or a re-run job can never send the same slot twice: the insert that finds
the row already there claims nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Destination, DigestSend


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


async def claim(session: AsyncSession, destination_id: int, slot: str, now: datetime) -> bool:
    """Claim one slot for one destination; False when it was claimed before (never resend)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        module.insert(DigestSend)
        .values(destination_id=destination_id, slot=slot, status="sending", created_at=now)
        .on_conflict_do_nothing()
        .returning(DigestSend.destination_id)
    )
    return (await session.execute(statement)).first() is not None


async def finish(
    session: AsyncSession,
    destination_id: int,
    slot: str,
    *,
    status: str,
    message_id: int | None,
    now: datetime,
) -> None:
    """Record how a claimed slot ended: sent (with its message) or failed."""
    await session.execute(
        update(DigestSend)
        .where(DigestSend.destination_id == destination_id, DigestSend.slot == slot)
        .values(status=status, message_id=message_id, sent_at=now if status == "sent" else None)
    )


async def sends(session: AsyncSession, slot: str) -> list[DigestSend]:
    query = select(DigestSend).where(DigestSend.slot == slot).order_by(DigestSend.destination_id)
    return list((await session.scalars(query)).all())
