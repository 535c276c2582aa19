"""webhook_updates (migration 0013): an update_id is taken once; a day later it is pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.http.webhook import KEEP_UPDATES, UpdateLedger
from storage.db import Database
from storage.models import WebhookUpdate
from storage.updates import claim_update, prune_updates

NOW = datetime.now(UTC).replace(microsecond=0)


async def _ids(database: Database) -> list[int]:
    async with database.sessions() as session:
        return list(await session.scalars(select(WebhookUpdate.update_id).order_by("update_id")))


async def test_an_update_id_is_taken_once(database: Database) -> None:
    async with database.sessions.begin() as session:
        assert await claim_update(session, 2**62, NOW)
        assert not await claim_update(session, 2**62, NOW)
    async with database.sessions.begin() as session:
        assert not await claim_update(session, 2**62, NOW + timedelta(hours=1))
    assert await _ids(database) == [2**62]


async def test_update_ids_older_than_a_day_are_pruned_as_the_webhook_goes(
    database: Database,
) -> None:
    async with database.sessions.begin() as session:
        await claim_update(session, 1, NOW - KEEP_UPDATES - timedelta(minutes=1))
        await claim_update(session, 2, NOW - KEEP_UPDATES + timedelta(minutes=5))
    ledger = UpdateLedger(database)
    assert await ledger.take(3)  # the first take prunes
    assert await _ids(database) == [2, 3]
    assert not await ledger.take(2)
    async with database.sessions.begin() as session:
        assert await prune_updates(session, NOW + timedelta(days=2)) == 2
