"""Applying Alembic migrations: the only way newsbot's schema is created or changed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    # env.py uses this connection instead of opening its own (Alembic's documented recipe
    # for running migrations from inside an application's async engine).
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


# Several instances starting at once on PostgreSQL: one migrates and syncs, the others wait.
# A key of its own, not one of storage/leadership.py's role keys: the long poller holds its
# role's lock for as long as it runs, and an instance starting meanwhile would wait forever.
STARTUP_LOCK_KEY = 7_245_110_319_003


async def lock_for_startup(connection: AsyncConnection) -> None:
    """Hold PostgreSQL's transaction-level advisory lock for schema and config changes."""
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": STARTUP_LOCK_KEY}
        )


async def upgrade_on(connection: AsyncConnection, revision: str = "head") -> None:
    await lock_for_startup(connection)
    await connection.run_sync(_upgrade, revision)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    async with database.engine.begin() as connection:
        await upgrade_on(connection, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database: Database) -> str | None:
    async with database.engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
