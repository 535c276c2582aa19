"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable) and fake servers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database, create_database
from storage.migrate import upgrade

pytest_plugins = [
    "tests.fakes.feed_server",
]

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _configured_postgres_url() -> str:
    return os.environ.get("NEWSBOT_TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL


def postgres_url() -> str:
    """The PostgreSQL database of this test process.

    Under pytest-xdist every worker gets its own database beside the configured one
    (`test` -> `test_gw0`, `test_gw1`, ...), created on first use: tests reset the schema,
    and two workers sharing one database would wipe each other's tables mid-test.
    """
    url = _configured_postgres_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, _, name = url.rpartition("/")
    name, question, query = name.partition("?")
    return f"{base}/{name}_{worker}{question}{query}"


async def _ensure_database(configured: str, wanted: str) -> None:
    """Create `wanted` through the configured database when it is not there yet."""
    import asyncpg

    if wanted == configured:
        return
    name = wanted.rpartition("/")[2].partition("?")[0]
    connection = await asyncpg.connect(configured, timeout=3)
    try:
        for attempt in range(5):
            if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                return
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
                return
            except asyncpg.DuplicateDatabaseError:
                return  # another run created it between the check and here
            except asyncpg.ObjectInUseError:  # template1 busy: another worker's CREATE
                await asyncio.sleep(0.2 * (attempt + 1))
    finally:
        await connection.close()


async def _postgres_problem(url: str) -> str | None:
    """None when PostgreSQL at `url` answers; else why not (the skip reason)."""
    import asyncpg

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    configured = _configured_postgres_url().replace("postgresql+asyncpg://", "postgresql://")
    try:
        await _ensure_database(configured, plain)
        connection = await asyncpg.connect(plain, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL not reachable at {url}: {type(exc).__name__}: {exc}"
    await connection.close()
    return None


_postgres_checked: dict[str, str | None] = {}


def postgres_skip_reason() -> str | None:
    url = postgres_url()
    if url not in _postgres_checked:
        _postgres_checked[url] = asyncio.run(_postgres_problem(url))
    return _postgres_checked[url]


async def reset_postgres(url: str) -> None:
    """An empty public schema: each test starts from nothing, as after a fresh install."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL as a user writes it; every storage test runs on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsbot.db'}"
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    url = postgres_url()
    asyncio.run(reset_postgres(url))
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database."""
    db = create_database(database_url)
    await upgrade(db)
    try:
        yield db
    finally:
        await db.dispose()
