"""Queries on the console's test sends: each chat's last one, reserved by one UPDATE.

The row is the chat's destination (`last_test_at`), shared by every instance on the same
database: `reserve_test` takes the slot only where the last test is older than the interval,
so of several instances reserving at once exactly one UPDATE matches and sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Destination


async def reserve_test(
    session: AsyncSession, destination_id: int, now: datetime, interval: timedelta
) -> datetime | None:
    """Take the chat's test slot at `now`: None when taken, else the time of the last test
    that holds it (less than `interval` before `now`, or after it on another's clock)."""
    result = await session.execute(
        update(Destination)
        .where(
            Destination.id == destination_id,
            or_(Destination.last_test_at.is_(None), Destination.last_test_at <= now - interval),
        )
        .values(last_test_at=now)
    )
    if result.rowcount == 1:
        return None
    query = select(Destination.last_test_at).where(Destination.id == destination_id)
    last = await session.scalar(query)
    return last if last is not None else now


async def release_test(session: AsyncSession, destination_id: int, taken: datetime) -> None:
    """Give back a slot taken at `taken` that sent nothing (unless another took it since)."""
    await session.execute(
        update(Destination)
        .where(Destination.id == destination_id, Destination.last_test_at == taken)
        .values(last_test_at=None)
    )
