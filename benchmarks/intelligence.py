"""Newsroom-intelligence benchmark: related stories, search, /popular and /today at scale.

Builds a database of generated stories in English, Russian and Kazakh (Zipf-distributed
vocabularies with inflected endings, eight sections, a year of publication times, a week of
engagement), then times the storage calls the bot makes:

    python benchmarks/intelligence.py [--stories 1000000] [--queries 300]
        [--database-url sqlite:///path | postgresql://postgres@127.0.0.1:5432/test]

Without --database-url it runs on a temporary SQLite file and, when reachable, on PostgreSQL
at postgresql://postgres@127.0.0.1:5432/test in its own schema (dropped afterwards).
Prints build time and p50/p95 per query. Target: related <= 20 ms p95 at 1,000,000 stories.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.services.newsdesk import day_bounds
from storage import engagement, search, stories
from storage.db import Database, async_url, create_database
from storage.migrate import upgrade
from storage.models import Engagement, Story

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "newsbot_bench"
ZONE = ZoneInfo("Asia/Almaty")
SECTIONS = ["politics", "economy", "society", "world", "sport", "culture", "tech", "regions"]
NOW = datetime.now(UTC).replace(microsecond=0)
BATCH = 10_000
GIN_INDEX = "CREATE INDEX stories_fts_gin ON stories USING gin (stories_fts)"

SYLLABLES = {
    "en": "ba be bi bo bu ca co de di fa fe ga go ha he ka ki la le li lo ma me mi mo na ne "
    "ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi wa we ya",
    "ru": "ба бе би бо ва ве ви во га го да де ди до жа за зе зи ка ке ки ко ла ле ли ло ма ме "
    "ми мо на не ни но па пе пи по ра ре ри ро са се си со та те ти то ча чи ша ши",
    "kk": "ба бе бі бо ға ғы да де ді қа қы қо ла ле лі ма ме мі на не ні ңа ңы өз өр ра ре "
    "рі са се сі та те ті ұл ұр үй үр ха һа ша шы әл әр ба ке ті",
}
ENDINGS = {
    "en": ["", "", "s", "ed", "ing"],
    "ru": ["", "а", "ы", "ов", "ами", "ах", "ой", "ую", "ом"],
    "kk": ["", "ы", "і", "ның", "нің", "да", "де", "ға", "ге", "лар", "лер"],
}
VOCABULARY = 20_000
# Stories come in topics of about this many (over the year), named by rarer words.
TOPIC_SIZE = 60
TOPIC_WORDS_FROM = 1000
TOPIC_SPAN = VOCABULARY - TOPIC_WORDS_FROM


def vocabulary(language: str, rng: random.Random) -> list[str]:
    """Distinct made-up words of 2-4 syllables (5+ letters), ranked by frequency."""
    syllables = SYLLABLES[language].split()
    words: set[str] = set()
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(3, 4)))
        words.add(word)
    return sorted(words)


class Generator:
    """Stories whose words follow Zipf's law, so a few words are everywhere, most rare."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.words = {language: vocabulary(language, self.rng) for language in SYLLABLES}
        weights = [1.0 / (rank + 1) for rank in range(VOCABULARY)]
        total = 0.0
        self.cumulative = []
        for weight in weights:
            total += weight
            self.cumulative.append(total)

    def sentence(self, language: str, count: int, topic: list[str] = ()) -> str:  # type: ignore[assignment]
        picks = self.rng.choices(self.words[language], cum_weights=self.cumulative, k=count)
        picks[1 : 1 + len(topic)] = topic
        endings = ENDINGS[language]
        return " ".join(word + self.rng.choice(endings) for word in picks).capitalize()

    def topic(self, language: str, total: int) -> list[str]:
        """A story's subject: three rarer words its topic's other stories share."""
        topic = self.rng.randrange(max(1, total // TOPIC_SIZE))
        words = self.words[language]
        return [words[TOPIC_WORDS_FROM + (topic * 7 + k * 7919) % TOPIC_SPAN] for k in range(3)]

    def row(self, number: int, total: int) -> dict[str, Any]:
        language = ("en", "ru", "kk")[number % 3]
        topic = self.topic(language, total)
        # A year of news, oldest first, so ids follow publication order as in production.
        published = NOW - timedelta(seconds=(total - number) * 365 * 86400 / total)
        return {
            "identity": f"bench-{number}",
            "link": f"https://example.kz/{language}/{number}",
            "feed_id": None,
            "title": self.sentence(language, self.rng.randint(6, 10), topic[:2]),
            "summary": self.sentence(language, self.rng.randint(20, 35), topic[1:]),
            "image_url": None,
            "author": None,
            "language": language,
            "section": SECTIONS[self.rng.randrange(len(SECTIONS))],
            "published_at": published,
            "first_seen_at": published,
            "updated_at": published,
            "content_hash": "h",
            "pushable": False,
            "fanned_out_at": published,
        }


async def build(database: Database, total: int) -> float:
    """Migrate, then bulk-insert `total` stories (executemany batches) and a week of signals."""
    started = time.perf_counter()
    await upgrade(database)
    if not database.is_sqlite:
        # A GIN index builds far faster in one go than row by row (and without a pending
        # list to scan later): drop it for the load, recreate it as the migration made it.
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP INDEX stories_fts_gin"))
    generator = Generator()
    table = Story.__table__
    for start in range(0, total, BATCH):
        rows = [generator.row(n, total) for n in range(start, min(total, start + BATCH))]
        async with database.sessions.begin() as session:
            await session.execute(insert(table), rows)
        if start and start % 100_000 == 0:
            print(f"  {start:,} stories, {time.perf_counter() - started:.0f} s", flush=True)
    week = max(1, int(total * 7 / 365))
    rng = random.Random(11)
    events = [
        {
            "story_id": total - rng.randrange(week),
            "kind": rng.choice(("read", "press", "reaction", "inline")),
            "weight": 1.0,
            "at": NOW - timedelta(seconds=rng.randrange(7 * 86400)),
        }
        for _ in range(min(200_000, total // 5 + 1))
    ]
    async with database.sessions.begin() as session:
        for start in range(0, len(events), BATCH):
            await session.execute(insert(Engagement.__table__), events[start : start + BATCH])
    if not database.is_sqlite:
        async with database.engine.begin() as connection:
            await connection.execute(text(GIN_INDEX))
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


async def timed(
    name: str, runs: int, call: Callable[[int], Awaitable[Any]]
) -> tuple[str, float, float]:
    durations = []
    for index in range(runs):
        started = time.perf_counter()
        await call(index)
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    p95 = durations[min(len(durations) - 1, int(len(durations) * 0.95))]
    return name, statistics.median(durations), p95


async def measure(database: Database, total: int, runs: int) -> list[tuple[str, float, float]]:
    rng = random.Random(3)
    # Recent stories: what related links are computed for (a new story) and searched for.
    ids = [total - rng.randrange(min(total, 20_000)) for _ in range(runs)]
    async with database.sessions() as session:
        probes = await stories.get_stories(session, ids)
    queries = [[w for w in story.title.split() if len(w) >= 5][:2] or ["x"] for story in probes]
    today_start, today_end = day_bounds(NOW.astimezone(ZONE).date(), ZONE)

    started = time.perf_counter()
    async with database.sessions() as session:
        frequencies = await search.stem_frequencies(session)
    refresh = (time.perf_counter() - started) * 1000
    print(f"  stem frequencies (cached 10 min by the service): {refresh:.0f} ms to load")

    async def related(index: int) -> None:
        async with database.sessions() as session:
            await search.related_to(session, probes[index % len(probes)], frequencies=frequencies)

    async def find(index: int) -> None:
        async with database.sessions() as session:
            await search.search(session, queries[index % len(queries)], limit=10)

    async def popular(index: int) -> None:
        async with database.sessions() as session:
            found = await engagement.popular(session, since=today_start, now=NOW, limit=10)
            if not found:
                await engagement.popular(session, since=NOW - timedelta(days=7), now=NOW, limit=10)

    async def today(index: int) -> None:
        async with database.sessions() as session:
            await stories.published_between(session, today_start, today_end)

    hits = 0
    for probe in probes[:50]:
        async with database.sessions() as session:
            hits += bool(await search.related_to(session, probe, frequencies=frequencies))
    print(f"  related found for {hits}/50 probe stories")
    return [
        await timed("related", runs, related),
        await timed("search", runs, find),
        await timed("/popular", runs, popular),
        await timed("/today", runs, today),
    ]


async def postgres_database(url: str, *, reuse: bool) -> Database | None:
    """A Database in its own schema of the PostgreSQL at `url`, or None if unreachable."""
    import asyncpg

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        connection = await asyncpg.connect(plain, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        print(f"PostgreSQL not reachable at {url}: {exc}")
        return None
    try:
        if not reuse:
            await connection.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {BENCH_SCHEMA}")
    finally:
        await connection.close()
    engine = create_async_engine(
        async_url(url),
        connect_args={"server_settings": {"search_path": BENCH_SCHEMA}},
    )
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False), is_sqlite=False)


async def drop_postgres_schema(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")
    finally:
        await connection.close()


async def stored(database: Database) -> int:
    try:
        async with database.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Story)) or 0)
    except DBAPIError:  # not migrated yet
        return 0


async def run_one(label: str, database: Database, total: int, runs: int) -> None:
    count = await stored(database)
    if count == total:
        print(f"{label}: reusing the {total:,} stories already built")
    elif count:
        raise SystemExit(f"{label}: the database holds {count:,} stories; start from an empty one")
    else:
        print(f"{label}: building {total:,} stories", flush=True)
        seconds = await build(database, total)
        print(f"{label}: built {await stored(database):,} stories in {seconds:.0f} s")
    for name, p50, p95 in await measure(database, total, runs):
        print(f"{label:>10} {name:<9} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database-url", help="one database only (default: SQLite + PG)")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL schema for another run"
    )
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith("postgres"):
        database = create_database(args.database_url)
        await run_one("sqlite", database, args.stories, args.queries)
        await database.dispose()
        return
    if not args.database_url:
        with tempfile.TemporaryDirectory() as directory:
            database = create_database(f"sqlite:///{directory}/bench.db")
            try:
                await run_one("sqlite", database, args.stories, args.queries)
            finally:
                await database.dispose()
    if args.skip_postgres:
        return
    url = args.database_url or POSTGRES_URL
    postgres = await postgres_database(url, reuse=args.keep)
    if postgres is None:
        return
    try:
        await run_one("postgresql", postgres, args.stories, args.queries)
    finally:
        await postgres.dispose()
        if not args.keep:
            await drop_postgres_schema(url)


if __name__ == "__main__":
    asyncio.run(main())
