"""Console benchmark: the page's first load, and every console API call at 100k chats and 1M
deliveries (issue 23's budgets: first load < 150 KB transferred, every API call p95 < 100 ms).

The console is served as `newsbot run` serves it (its routes on the bot's HTTP server, uvicorn
on loopback, Telegram being the fake Bot API on loopback: who administers a chat, the desk's
messages) and asked over HTTP as a signed-in editor (`Authorization: tma`) who administers
one of the channels.

(a) GET /console/ and every file it loads from the bot (following `static/...` references),
once each as a browser without a cache: body and header bytes, and with gzip (what gzip would
make of them when the server does not compress). Telegram's telegram-web-app.js is not counted.

(b) A database seeded in bulk (benchmarks/console_seed.py: 100k chats reading one to three
editions, 1M deliveries, breaking news to every chat, 20 stories waiting for the desk). Each
API call is timed --calls times after 3 warm-up calls: the reads, the previews, the trace of
a story with every chat's outbox row, of a small one, of one not fanned out yet and of a
version whose readers all hold another; the reach and the stats once cold, then as kept;
sending breaking news last (each call stores an alert and queues its first chunk of chats;
they are deleted afterwards).

    python benchmarks/console.py [--chats 100000] [--deliveries 1000000] [--calls 30]
                                 [--database-url URL] [--reuse]

SQLite (a temporary file) by default; PostgreSQL in its own schema (console_bench, dropped
unless --reuse, which keeps and reuses what was seeded; sqlite:///PATH keeps a file).
The schema is the migrations'; connections run without PostgreSQL's JIT, as storage/db.py
opens them.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select
from telegram import Bot
from telegram.request import HTTPXRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.console_seed import (
    BENCH_CHANNEL,
    BREAKING,
    SEEDED,
    analyze,
    counts,
    drop_schema,
    open_database,
    seed,
)
from bot.config import Settings
from bot.delivery.approval_desk import DeskPoster
from bot.entrypoints.http.console.routes import console_routes
from bot.entrypoints.http.server import HttpServer, build_app
from bot.outbound.i18n import Catalogues
from bot.services.approvals import Approvals
from bot.setup.logs import configure_logging
from storage.db import Database
from storage.models import Alert, Delivery, Story
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.fakes.init_data import sign_init_data

TOKEN = "123456:BENCH-console-token"
EDITOR = {"id": 111111111, "first_name": "Aigerim", "language_code": "kk"}
CONSOLE_URL = "https://console.news.example/console/"
DESK_CHAT = -1002000000001
BUDGET_BYTES = 150 * 1024
BUDGET_MS = 100.0
WARM_UP = 3
# What the page loads from the bot: paths relative to /console/ (index.html, console.js).
REFERENCE = re.compile(r"""["'(](static/[A-Za-z0-9_.-]+)["')]""")


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


async def timed_once(label: str, call: Callable[[], Awaitable[httpx.Response]]) -> Timing:
    """One call, as a user makes it the first time (nothing cached)."""
    started = time.perf_counter()
    (await call()).raise_for_status()
    once = (time.perf_counter() - started) * 1000
    return Timing(label, once, once, once)


@dataclass(frozen=True)
class Subjects:
    """What the calls are about: stories to trace (label -> id), the breaking news, a
    waiting approval."""

    stories: dict[str, int]
    alert_id: int


async def subjects(database: Database, chats: int) -> Subjects:
    def newest(*conditions: Any) -> Any:
        query = select(Story.id).where(*conditions).order_by(Story.published_at.desc())
        return query.limit(1)

    async with database.sessions() as session:
        sent = await session.scalar(
            newest(
                Story.edition == "en", Story.section == "politics", Story.fanned_out_at.is_not(None)
            )
        )
        economy = await session.scalar(
            newest(Story.section == "economy", Story.fanned_out_at.is_not(None))
        )
        waiting = await session.scalar(
            newest(Story.pushable.is_(True), Story.fanned_out_at.is_(None))
        )
        version = await session.scalar(newest(Story.identity == "bench-kk-version"))
        alert_id = await session.scalar(
            select(Alert.id).where(Alert.link == "https://news.example/breaking")
        )
    assert None not in (sent, economy, waiting, version, alert_id)
    return Subjects(
        stories={
            f"{chats:,} chats, all with outbox rows": sent,
            f"{-(-chats // 97):,} chats (economy)": economy,
            f"{chats:,} chats, not fanned out yet": waiting,
            "kk version: its readers hold the en one": version,
        },
        alert_id=alert_id,
    )


async def api_calls(client: httpx.AsyncClient, about: Subjects, n: int) -> list[Timing]:
    """Every console API path but sending breaking news (`send`)."""
    chat = f"/console/api/chats/{BENCH_CHANNEL}"
    template = "<b>{{ title }}</b>\n{{ summary }}\n{{ link }}"
    draft = {"texts": BREAKING, "link": "https://news.example/breaking"}
    calls: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
        "session": lambda: client.get("/console/api/session"),
        "stories?limit=30": lambda: client.get("/console/api/stories?limit=30"),
        "stories?limit=100": lambda: client.get("/console/api/stories?limit=100"),
        "feeds (50)": lambda: client.get("/console/api/feeds"),
        "breaking/preview (3 editions)": lambda: client.post(
            "/console/api/breaking/preview", json=draft
        ),
        "breaking/{id}: progress of 99k chats": lambda: client.get(
            f"/console/api/breaking/{about.alert_id}"
        ),
        "approvals (20 stories x 1,000 channels)": lambda: client.get("/console/api/approvals"),
        "chats/{id}/settings": lambda: client.get(f"{chat}/settings"),
        "chats/{id}/preview (a template)": lambda: client.post(
            f"{chat}/preview", json={"template": template}
        ),
        "chats/{id}/filter-test (50 stories)": lambda: client.post(
            f"{chat}/filter-test", json={"include": ["senate"], "exclude_regex": ["second"]}
        ),
        "chats/{id}/history": lambda: client.get(f"{chat}/history"),
    }
    for label, story_id in about.stories.items():
        calls[f"trace: {label}"] = lambda s=story_id: client.get(f"/console/api/stories/{s}/trace")
    # Counted once and then reused for a while (the reach, the series): the first call too.
    found = [
        await timed_once("stats?days=7 (first call)", stats(client)),
        await timed_once("breaking/preview (first call)", calls["breaking/preview (3 editions)"]),
    ]
    found += [await timed(label, call, n) for label, call in calls.items()]
    found.append(await timed("stats?days=7 (cached)", stats(client), n))
    return found


def stats(client: httpx.AsyncClient) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: client.get("/console/api/stats?days=7")


async def send(client: httpx.AsyncClient, n: int) -> Timing:
    """POST /console/api/breaking: the alert stored, its 99,000 chats counted and the first
    chunk of them queued before the 201 (the same use case as /breaking and the CMS; the
    delivery tick, not running here, would queue the rest)."""
    draft = {"texts": BREAKING, "link": "https://news.example/breaking-2"}
    return await timed(
        "POST breaking (99k chats, first chunk)",
        lambda: client.post("/console/api/breaking", json=draft),
        n,
    )


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


def fake_telegram() -> FakeBotAPI:
    """The fake Bot API on loopback: the benchmark's editor owns BENCH_CHANNEL."""
    api = FakeBotAPI(token=TOKEN)
    editor = FakeUser(EDITOR["id"], EDITOR["first_name"], EDITOR["language_code"])
    api.set_member(FakeChat(BENCH_CHANNEL, "channel", "Channel 50"), editor, "creator")
    api.register_chat(FakeChat(DESK_CHAT, "supergroup", "Editors' desk"))
    api.start()
    return api


async def measure(
    database: Database, backend: str, chats: int, rows: int, args: argparse.Namespace
) -> None:
    settings = Settings(
        telegram_bot_token=TOKEN,
        console_url=CONSOLE_URL,
        http_port=8080,
        editors=[EDITOR["id"]],
        editions=["kk", "ru", "en"],
        desk_chat=DESK_CHAT,
    )
    telegram = fake_telegram()
    bot = Bot(TOKEN, base_url=telegram.ptb_base_url, request=HTTPXRequest(connection_pool_size=8))
    await bot.initialize()
    approvals = Approvals(database, settings)
    desk = (approvals, DeskPoster(bot, approvals, settings, Catalogues.load()))
    routes = console_routes(settings, database, editors_desk=desk, bot=bot)
    server = HttpServer(build_app(routes), "127.0.0.1", 0)
    await server.start()
    try:
        init_data = sign_init_data(TOKEN, auth_date=int(time.time()), user=EDITOR)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}",
            headers={"Authorization": f"tma {init_data}"},
            timeout=60,
        ) as client:
            print_first_load(await first_load(client))
            about = await subjects(database, chats)
            for label, story_id in about.stories.items():
                trace = (await client.get(f"/console/api/stories/{story_id}/trace")).json()
                print(f"trace of {label}: {trace['counts']}, {len(trace['chats'])} listed")
            timings = await api_calls(client, about, args.calls)
            timings.append(await send(client, args.calls))
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            title = f"{backend}, {chats:,} chats, {rows:,} deliveries, {args.calls} calls each"
            title += f" (load average {load} on {os.cpu_count()} cores)"
            print_timings(title, [("", list(timings))])
    finally:
        await server.stop()
        await forget_sent(database, about.alert_id if "about" in locals() else None)
        await bot.shutdown()
        telegram.stop()


async def forget_sent(database: Database, seeded_alert: int | None) -> None:
    """Drop what `send` queued, so that a reused database is measured alike."""
    if seeded_alert is None:
        return
    async with database.sessions.begin() as session:
        await session.execute(delete(Delivery).where(Delivery.alert_id > seeded_alert))
        await session.execute(delete(Alert).where(Alert.id > seeded_alert))


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
