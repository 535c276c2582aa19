"""webhook_updates (migration 0013): an update_id is taken once; a day later it is pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

from bot.entrypoints.http.webhook import KEEP_UPDATES, UpdateLedger
from storage.db import Database, create_database
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import WebhookUpdate
from storage.updates import claim_update, prune_updates
from tests.storage.test_migrations import _differences, _downgrade

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
    # The ledger prunes by the real clock: read it here, not when the module was imported.
    now = datetime.now(UTC)
    async with database.sessions.begin() as session:
        await claim_update(session, 1, now - KEEP_UPDATES - timedelta(minutes=1))
        await claim_update(session, 2, now - KEEP_UPDATES + timedelta(minutes=5))
    ledger = UpdateLedger(database)
    assert await ledger.take(3)  # the first take prunes
    assert await _ids(database) == [2, 3]
    assert not await ledger.take(2)
    async with database.sessions.begin() as session:
        assert await prune_updates(session, now + timedelta(days=2)) == 2


async def test_0013_adds_webhook_updates_and_round_trips(database_url: str) -> None:
    """Up from 0012 adds the table; down to 0012 drops it; up again matches the models."""

    def tables(sync: Connection) -> set[str]:
        return set(inspect(sync).get_table_names())

    db = create_database(database_url)
    try:
        await upgrade(db, "0012")
        async with db.engine.connect() as connection:
            assert "webhook_updates" not in await connection.run_sync(tables)
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        async with db.sessions.begin() as session:
            assert await claim_update(session, 7, NOW)
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0012")
            assert "webhook_updates" not in await connection.run_sync(tables)
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        assert await _ids(db) == []
    finally:
        await db.dispose()
