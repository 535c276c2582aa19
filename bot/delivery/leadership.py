"""Which instance sends: one sender per bot token, so the global pace holds across processes.

On PostgreSQL the sender is whoever holds a session-level advisory lock on a dedicated
connection; if that process dies, its connection closes, the lock is released, and another
instance takes over at its next tick. SQLite is single-process: the one instance always sends.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

log = logging.getLogger(__name__)

# An arbitrary 64-bit key naming "newsbot's sender" among PostgreSQL advisory locks.
SENDER_LOCK_KEY = 7_245_110_319_001


class SenderLeadership:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        """True while this instance is the sender (tries to become it when it is not)."""
        if self._db.is_sqlite:
            return True
        if self._connection is not None:
            if await self._still_connected():
                return True
            await self._drop()
        connection = await self._db.engine.connect()
        try:
            held = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SENDER_LOCK_KEY}
            )
        except DBAPIError:
            await connection.close()
            return False
        if not held:
            await connection.close()  # it holds nothing: back to the pool
            return False
        await connection.commit()
        self._connection = connection
        log.info("this instance is now the sender")
        return True

    async def _still_connected(self) -> bool:
        assert self._connection is not None
        try:
            await self._connection.scalar(text("SELECT 1"))
            await self._connection.commit()
        except DBAPIError:
            log.warning("lost the sender lock's connection")
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
