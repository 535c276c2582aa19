"""Which instance does what only one may do per bot token: send, and take Telegram's updates.

One sender, so the global pace holds across processes; one long poller, because Telegram
answers 409 Conflict to a getUpdates that overlaps another. On PostgreSQL each role belongs to
whoever holds its session-level advisory lock on a dedicated connection; if that process dies,
its connection closes, the lock is released, and another instance takes the role at its next
try. SQLite is single-process: the one instance holds every role.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

log = logging.getLogger(__name__)

# Arbitrary 64-bit keys naming newsbot's roles among PostgreSQL advisory locks.
SENDER_LOCK_KEY = 7_245_110_319_001
UPDATES_LOCK_KEY = 7_245_110_319_002


class Leadership:
    def __init__(
        self, database: Database, key: int = SENDER_LOCK_KEY, role: str = "the sender"
    ) -> None:
        self._db = database
        self._key = key
        self._role = role
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        """True while this instance holds the role (tries to take it when it does not)."""
        if self._db.is_sqlite:
            return True
        if self._connection is not None:
            if await self._still_connected():
                return True
            await self._drop()
        connection = await self._db.engine.connect()
        try:
            held = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            )
        except DBAPIError:
            await connection.close()
            return False
        if not held:
            await connection.close()  # it holds nothing: back to the pool
            return False
        await connection.commit()
        self._connection = connection
        log.info("this instance is now %s", self._role)
        return True

    async def _still_connected(self) -> bool:
        assert self._connection is not None
        try:
            await self._connection.scalar(text("SELECT 1"))
            await self._connection.commit()
        except DBAPIError:
            log.warning("lost the connection holding the lock of %s", self._role)
            return False
        return True

    async def _drop(self) -> None:
        """Close the lock's connection for real: returned to the pool, it would keep the
        session-level lock held by a connection nobody uses."""
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):
                await self._connection.invalidate()
                await self._connection.close()
            self._connection = None

    async def release(self) -> None:
        await self._drop()


def updates_leadership(database: Database) -> Leadership:
    """The role of taking Telegram's updates by long polling (one getUpdates per token)."""
    return Leadership(database, UPDATES_LOCK_KEY, "the one taking Telegram's updates")
