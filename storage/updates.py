"""Queries on webhook_updates: each Telegram update_id is taken once, whoever receives it.

Telegram repeats a webhook update whose answer was slow or failed; behind a load balancer
the repeat may reach another instance, or this one after a restart. The database decides:
the first INSERT of an update_id wins, any other finds it taken.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebhookUpdate

# update_ids claimed by one statement at most (SQLite binds at most 32,766 parameters).
MAX_CLAIM = 1000


async def claim_update(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """True when this update_id was not taken before (and now is), False for a repeat."""
    return update_id in await claim_updates(session, [update_id], now)


async def claim_updates(session: AsyncSession, update_ids: list[int], now: datetime) -> set[int]:
    """The update_ids of these (at most MAX_CLAIM, distinct) not taken before, now taken:
    one statement for a whole batch, so a flood of updates costs a few transactions."""
    if not update_ids:
        return set()
    if len(update_ids) > MAX_CLAIM:
        raise ValueError(f"at most {MAX_CLAIM} update ids at once")
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(WebhookUpdate)
        .values([{"update_id": update_id, "received_at": now} for update_id in update_ids])
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(WebhookUpdate.update_id)
    )
    return set((await session.execute(statement)).scalars())


async def prune_updates(session: AsyncSession, before: datetime) -> int:
    """Forget the update_ids taken before `before` (Telegram gave up on those long ago)."""
    result = await session.execute(delete(WebhookUpdate).where(WebhookUpdate.received_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
