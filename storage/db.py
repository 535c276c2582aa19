"""Engine and session factory from a user's database URL.

Users write plain `sqlite:///path` and `postgresql://user:pw@host/db`; newsbot picks the async
driver (aiosqlite, asyncpg) itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# SQLite: WAL lets readers (command replies) run while the poller writes; the busy timeout
# turns brief write contention into waiting rather than "database is locked" errors.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA synchronous=NORMAL",
)


def async_url(url: str) -> URL:
    """The SQLAlchemy URL with the async driver newsbot uses for this backend."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def redacted(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def _casefold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def _apply_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's lower() folds ASCII only; Russian and Kazakh searches need real case folding.
    dbapi_connection.create_function("casefold", 1, _casefold, deterministic=True)
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


@dataclass
class Database:
    """The engine, its session factory, and the write discipline its backend needs."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    is_sqlite: bool
    _write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Serialise writers on SQLite, which has one writer at a time anyway.

        Without this, two deferred transactions that both read then write can fail with
        SQLITE_BUSY at once (the busy handler is skipped to avoid deadlock). PostgreSQL
        handles concurrent writers itself, so there it is a no-op.
        """
        if not self.is_sqlite:
            yield
            return
        async with self._write_lock:
            yield

    async def dispose(self) -> None:
        await self.engine.dispose()


def create_database(url: str, *, echo: bool = False) -> Database:
    """Build the engine for `url`; no connection is made until first use."""
    target = async_url(url)
    is_sqlite = target.get_backend_name() == "sqlite"
    options: dict[str, Any] = {"echo": echo}
    if is_sqlite:
        options["connect_args"] = {"timeout": 30}
    else:
        options.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
        # No JIT compilation: newsbot's queries are short, and PostgreSQL's JIT spent about
        # 0.45 s compiling each of the console's counting queries over a big outbox
        # (benchmarks/console.py), many times what running them costs.
        options["connect_args"] = {"server_settings": {"jit": "off"}}
    engine = create_async_engine(target, **options)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _apply_sqlite_pragmas)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return Database(engine=engine, sessions=sessions, is_sqlite=is_sqlite)
