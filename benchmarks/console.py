"""Console benchmark: the page's first load, and every console API call at 100k chats and 1M
deliveries (issue 23's budgets: first load < 150 KB transferred, every API call p95 < 100 ms).

The console is served as `newsbot run` serves it (its routes on the bot's HTTP server, uvicorn
on loopback) and asked over HTTP as a signed-in editor (`Authorization: tma`).

(a) GET /console/ and every file it loads from the bot (following `static/...` references),
once each as a browser without a cache: body and header bytes, and with gzip (what gzip would
make of them when the server does not compress). Telegram's telegram-web-app.js is not counted.

(b) A database seeded in bulk: N chats (one in a hundred a channel) reading `politics` in
English, one in 97 also `economy`; 1,000 stories, the newest M / N `politics` ones sent to
every chat (97% sent, 2% failed, 1% queued; one INSERT ... SELECT each), one `economy` story
to its chats, one `politics` story not sent yet; 50 feeds. Each API call is timed --calls
times after 3 warm-up calls; the trace for a story with every chat's outbox row, a small one,
and one meant for every chat with no outbox row yet.

    python benchmarks/console.py [--chats 100000] [--deliveries 1000000] [--calls 30]
                                 [--database-url URL] [--reuse]

SQLite (a temporary file) by default; PostgreSQL in its own schema (console_bench, dropped
unless --reuse, which keeps and reuses what was seeded; sqlite:///PATH keeps a file).
The schema is the migrations' (0015 indexes deliveries by story and by day); connections run
without PostgreSQL's JIT, as storage/db.py opens them.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import and_, case, false, func, literal, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.entrypoints.http.console.routes import console_routes
from bot.entrypoints.http.server import HttpServer, build_app
from bot.setup.logs import configure_logging
from storage.db import Database, async_url, create_database
from storage.migrate import upgrade
from storage.models import (
    Delivery,
    Destination,
    DestinationEdition,
    Feed,
    Story,
    Subscription,
)
from tests.fakes.init_data import sign_init_data

TOKEN = "123456:BENCH-console-token"
EDITOR = {"id": 111111111, "first_name": "Aigerim", "language_code": "kk"}
CONSOLE_URL = "https://console.news.example/console/"
BENCH_SCHEMA = "console_bench"
STORIES = 1000
FEEDS = 50
FIRST_CHAT = 10_000_000
FIRST_CHANNEL = -1_001_000_000_000
BUDGET_BYTES = 150 * 1024
BUDGET_MS = 100.0
WARM_UP = 3
SEEDED = ("feeds", "stories", "destinations", "subscriptions", "destination_editions", "deliveries")
# What the page loads from the bot: paths relative to /console/ (index.html, console.js).
REFERENCE = re.compile(r"""["'(](static/[A-Za-z0-9_.-]+)["')]""")


# ---- the database ----------------------------------------------------------------------


async def open_database(url: str | None, scratch: str, *, reuse: bool) -> Database:
    """SQLite in `scratch` by default; PostgreSQL in its own schema (dropped unless reuse)."""
    if url is None:
        database = create_database(f"sqlite:///{scratch}/console.db")
    elif url.startswith("sqlite"):
        database = create_database(url)
    else:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            if not reuse:
                await connection.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")
            await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {BENCH_SCHEMA}")
        finally:
            await connection.close()
        engine = create_async_engine(
            async_url(url),
            pool_size=10,
            max_overflow=10,
            connect_args={"server_settings": {"search_path": BENCH_SCHEMA, "jit": "off"}},
        )
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        database = Database(engine, sessions, is_sqlite=False)
    await upgrade(database)
    return database


async def drop_schema(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")
    finally:
        await connection.close()


async def counts(database: Database) -> tuple[int, int]:
    async with database.sessions() as session:
        chats = await session.scalar(select(func.count()).select_from(Destination))
        rows = await session.scalar(select(func.count()).select_from(Delivery))
    return int(chats or 0), int(rows or 0)


def chat_row(n: int, created: datetime) -> dict[str, Any]:
    """The n-th chat: one in a hundred a channel (with a title), one in a hundred inactive."""
    channel, inactive = n % 100 == 50, n % 100 == 99
    return {
        "chat_id": FIRST_CHANNEL - n if channel else FIRST_CHAT + n,
        "kind": "channel" if channel else "private",
        "title": f"Channel {n}" if channel else None,
        "language": "en",
        "active": not inactive,
        "inactive_reason": "bot was blocked by the user" if inactive else None,
        "created_at": created,
        "updated_at": created,
    }


async def seed(database: Database, chats: int, deliveries: int, now: datetime) -> None:
    """Chats, stories, feeds and the outbox, in bulk (see the module docstring)."""
    started = time.perf_counter()
    fanned = max(1, deliveries // chats)
    async with database.sessions.begin() as session:
        await session.execute(
            Feed.__table__.insert(),
            [
                {
                    "url": f"https://news{n}.example/rss",
                    "title": f"Feed {n}",
                    "section": "politics" if n % 2 else "economy",
                    "poll_interval": 300,
                    "enabled": True,
                    "last_fetched_at": now - timedelta(minutes=n % 5),
                    "last_success_at": now - timedelta(minutes=n % 5 + (60 if n % 10 == 0 else 0)),
                    "last_status": "error" if n % 10 == 0 else "ok",
                    "last_error": "HTTP 503" if n % 10 == 0 else None,
                    "consecutive_errors": 12 if n % 10 == 0 else 0,
                    "next_poll_at": now + timedelta(minutes=5),
                    "backlog_done": True,
                    "created_at": now - timedelta(days=30),
                }
                for n in range(FEEDS)
            ],
        )
        feed_ids = (await session.scalars(select(Feed.id).order_by(Feed.id))).all()
        # Story 0..fanned-1: politics, fanned out to every chat; `fanned`: economy, to its
        # chats; `fanned`+1: politics, not fanned out yet; the rest older, never pushed.
        stories = []
        for n in range(STORIES):
            published = now - timedelta(minutes=5 * n + 1)
            section = "economy" if n == fanned else "politics"
            stories.append(
                {
                    "identity": f"bench-{n}",
                    "link": f"https://news.example/story/{n}",
                    "feed_id": feed_ids[n % len(feed_ids)],
                    "title": f"Benchmark story {n}: the senate passes the digital platforms law",
                    "summary": "Senators approved the law in its second reading.",
                    "language": "en",
                    "edition": "en",
                    "section": section,
                    "published_at": published,
                    "first_seen_at": published,
                    "updated_at": published,
                    "content_hash": f"{n:064x}",
                    "pushable": n <= fanned + 1,
                    "fanned_out_at": published if n <= fanned else None,
                }
            )
        await session.execute(Story.__table__.insert(), stories)
        earlier = now - timedelta(days=60)
        rows = [chat_row(n, earlier) for n in range(chats)]
        await session.execute(Destination.__table__.insert(), rows)
        ids = (await session.scalars(select(Destination.id).order_by(Destination.id))).all()
        await session.execute(
            Subscription.__table__.insert(),
            [{"destination_id": i, "section": "politics", "created_at": earlier} for i in ids]
            + [
                {"destination_id": i, "section": "economy", "created_at": earlier}
                for i in ids[::97]
            ],
        )
        await session.execute(
            DestinationEdition.__table__.insert(),
            [{"destination_id": i, "edition": "en"} for i in ids],
        )
        story_ids = (
            await session.scalars(
                select(Story.id).order_by(Story.published_at.desc()).limit(fanned + 1)
            )
        ).all()
    seconds = time.perf_counter() - started
    print(f"seeded {chats:,} chats and {STORIES:,} stories in {seconds:.0f} s")
    for number, story_id in enumerate(story_ids):
        started = time.perf_counter()
        async with database.sessions.begin() as session:
            await session.execute(_fan_out(story_id, economy=number == fanned))
        seconds = time.perf_counter() - started
        print(f"  story {story_id}: outbox rows in {seconds:.1f} s", flush=True)


def _fan_out(story_id: int, *, economy: bool) -> Any:
    """INSERT ... SELECT: the story's outbox rows for every chat reading its section, 97% sent,
    2% failed (blocked), 1% queued, as the sender leaves them."""
    bucket = Destination.id % 100
    status = case((bucket < 97, "sent"), (bucket < 99, "failed"), else_="queued")
    sent = bucket < 97
    failed = and_(bucket >= 97, bucket < 99)
    source = (
        select(
            Destination.id.label("destination_id"),
            Story.id.label("story_id"),
            Story.group_id.label("group_id"),
            literal(10).label("priority"),
            status.label("status"),
            case((bucket < 99, 1), else_=0).label("attempts"),
            Story.published_at.label("next_attempt_at"),
            case((failed, "Forbidden: bot was blocked by the user")).label("last_error"),
            case((sent, Destination.chat_id)).label("chat_id"),
            case((sent, Story.id)).label("message_id"),
            Story.published_at.label("created_at"),
            case((sent, Story.published_at)).label("sent_at"),
            false().label("roundup"),
        )
        .select_from(Destination)
        .join(Subscription, Subscription.destination_id == Destination.id)
        .join(Story, Story.id == story_id)
        .where(Subscription.section == ("economy" if economy else "politics"))
    )
    columns = [column.name for column in source.selected_columns]
    return Delivery.__table__.insert().from_select(columns, source)


async def analyze(database: Database, statement: str = "ANALYZE deliveries") -> None:
    """PostgreSQL's statistics and visibility map, as autovacuum keeps them (fresh: slower)."""
    if database.is_sqlite:
        return
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))


# ---- the measurements ------------------------------------------------------------------


@dataclass
class Loaded:
    path: str
    body: int
    headers: int
    encoding: str | None
    gzipped: int


def header_bytes(response: httpx.Response) -> int:
    """The answer's status line and headers as sent (HTTP/1.1)."""
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    return sum(len(line) + 2 for line in lines) + 2


async def first_load(client: httpx.AsyncClient) -> list[Loaded]:
    """The page and everything it loads from the bot, each asked for once (no cache)."""
    wanted, seen, loaded = [""], set(), []
    while wanted:
        path = wanted.pop(0)
        if path in seen:
            continue
        seen.add(path)
        plain = await client.get(f"/console/{path}", headers={"Accept-Encoding": "identity"})
        plain.raise_for_status()
        zipped = await client.get(f"/console/{path}", headers={"Accept-Encoding": "gzip"})
        encoding = zipped.headers.get("content-encoding")
        wire = int(zipped.headers.get("content-length", len(zipped.content)))
        loaded.append(
            Loaded(
                path=f"/console/{path}",
                body=len(plain.content),
                headers=header_bytes(plain),
                encoding=encoding,
                gzipped=wire if encoding == "gzip" else len(gzip.compress(plain.content, 6)),
            )
        )
        kind = plain.headers.get("content-type", "")
        if kind.startswith(("text/html", "text/javascript", "text/css")):
            wanted.extend(REFERENCE.findall(plain.text))
    return loaded


def print_first_load(loaded: list[Loaded]) -> None:
    print("\n(a) first load: what the page loads from the bot (telegram-web-app.js excluded)")
    compressed = any(item.encoding == "gzip" for item in loaded)
    gz = "gzip (served)" if compressed else "gzip (if it were)"
    print(f"  {'path':<34} {'body':>9} {'headers':>8} {gz:>18}")
    for item in loaded:
        print(f"  {item.path:<34} {item.body:>9,} {item.headers:>8,} {item.gzipped:>18,}")
    body = sum(item.body for item in loaded)
    headers = sum(item.headers for item in loaded)
    zipped = sum(item.gzipped for item in loaded)
    total = body + headers
    print(
        f"  {'total':<34} {body:>9,} {headers:>8,} {zipped:>18,}\n"
        f"  transferred: {total / 1024:.1f} KB as served"
        f" ({'gzip' if compressed else 'the server does not compress'});"
        f" with gzip {(zipped + headers) / 1024:.1f} KB; budget {BUDGET_BYTES // 1024} KB:"
        f" {'ok' if total <= BUDGET_BYTES else 'OVER'}"
    )


@dataclass
class Timing:
    label: str
    p50: float
    p95: float
    worst: float


async def timed(label: str, call: Callable[[], Awaitable[httpx.Response]], n: int) -> Timing:
    for _ in range(WARM_UP):
        (await call()).raise_for_status()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = await call()
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    samples.sort()
    p95 = samples[max(0, -(-len(samples) * 95 // 100) - 1)]
    return Timing(label, statistics.median(samples), p95, samples[-1])


async def api_calls(
    client: httpx.AsyncClient, stories: dict[str, int], n: int, *, traces_only: bool = False
) -> list[Timing]:
    """Every console API path; the trace for each story in `stories` (label -> id)."""
    calls: dict[str, Callable[[], Awaitable[httpx.Response]]] = {}
    if not traces_only:
        calls["session"] = lambda: client.get("/console/api/session")
        calls["stories?limit=30"] = lambda: client.get("/console/api/stories?limit=30")
        calls["stories?limit=100"] = lambda: client.get("/console/api/stories?limit=100")
        calls["feeds (50)"] = lambda: client.get("/console/api/feeds")
    for label, story_id in stories.items():
        calls[f"trace: {label}"] = lambda s=story_id: client.get(f"/console/api/stories/{s}/trace")
    return [await timed(label, call, n) for label, call in calls.items()]


async def trace_stories(database: Database, chats: int, deliveries: int) -> dict[str, int]:
    fanned = max(1, deliveries // chats)
    async with database.sessions() as session:
        newest = (
            await session.scalars(
                select(Story.id).order_by(Story.published_at.desc()).limit(fanned + 2)
            )
        ).all()
    return {
        f"{chats:,} chats, all with outbox rows": newest[0],
        f"{-(-chats // 97):,} chats (economy)": newest[fanned],
        f"{chats:,} chats, not fanned out yet": newest[fanned + 1],
    }


def print_timings(title: str, columns: list[tuple[str, list[Timing | None]]]) -> None:
    print(f"\n(b) {title}: p50 / p95 / max in ms (budget p95 < {BUDGET_MS:.0f} ms)")
    for row, timing in enumerate(columns[0][1]):
        cells = []
        for name, timings in columns:
            other = timings[row]
            if other is None:
                continue
            flag = "" if other.p95 < BUDGET_MS else " OVER"
            prefix = f"{name}: " if len(columns) > 1 else ""
            cells.append(f"{prefix}{other.p50:.1f} / {other.p95:.1f} / {other.worst:.1f}{flag}")
        print(f"  {timing.label:<42} " + "   ".join(cells))


# ---- the run ---------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        database = await open_database(args.database_url, scratch, reuse=args.reuse)
        backend = "SQLite" if database.is_sqlite else "PostgreSQL"
        try:
            now = datetime.now(UTC).replace(microsecond=0)
            found = await counts(database)
            if found[0] == args.chats and found[1] >= args.deliveries:
                print(f"{backend}: reusing {found[0]:,} chats and {found[1]:,} outbox rows")
            elif any(found):
                raise SystemExit(f"{backend}: the database holds other data ({found}); start empty")
            else:
                print(f"{backend}: seeding {args.chats:,} chats, {args.deliveries:,} deliveries")
                await seed(database, args.chats, args.deliveries, now)
            await analyze(database, f"VACUUM ANALYZE {', '.join(SEEDED)}")
            chats, rows = await counts(database)
            print(f"{backend}: {chats:,} chats, {rows:,} outbox rows")
            await measure(database, backend, chats, rows, args)
        finally:
            await database.dispose()
            postgres = args.database_url and not args.database_url.startswith("sqlite")
            if postgres and not args.reuse:
                await drop_schema(args.database_url)


async def measure(
    database: Database, backend: str, chats: int, rows: int, args: argparse.Namespace
) -> None:
    settings = Settings(
        telegram_bot_token=TOKEN, console_url=CONSOLE_URL, http_port=8080, editors=[EDITOR["id"]]
    )
    server = HttpServer(build_app(console_routes(settings, database)), "127.0.0.1", 0)
    await server.start()
    try:
        init_data = sign_init_data(TOKEN, auth_date=int(time.time()), user=EDITOR)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}",
            headers={"Authorization": f"tma {init_data}"},
            timeout=60,
        ) as client:
            print_first_load(await first_load(client))
            stories = await trace_stories(database, chats, rows)
            for label, story_id in stories.items():
                trace = (await client.get(f"/console/api/stories/{story_id}/trace")).json()
                print(f"trace of {label}: {trace['counts']}, {len(trace['chats'])} listed")
            plain = await api_calls(client, stories, args.calls)
            columns: list[tuple[str, list[Timing | None]]] = [("", list(plain))]
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            title = f"{backend}, {chats:,} chats, {rows:,} deliveries, {args.calls} calls each"
            title += f" (load average {load} on {os.cpu_count()} cores)"
            print_timings(title, columns)
    finally:
        await server.stop()


def main() -> None:
    configure_logging(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=30, help="timed calls per API path")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
