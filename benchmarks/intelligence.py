"""Storage at scale: the queries behind /section, /today, /popular, /search and related links.

Builds a database of generated stories of a newsroom with three editions, a third each in
Kazakh, Russian and English (Zipf-distributed vocabularies with inflected endings, eight
sections, a year of publication times, a week of engagement and channel reactions), most of
them in groups of three versions (kk, ru, en: one story, one group_id), and of destinations
(private chats, channels and groups, each subscribed to a few sections and reading one
edition or two), with a most-read list of 100 places per language (as the poller keeps a
role = "popular" feed's order, blended into /popular), then times what the Telegram handlers
await, through the same services (bot/entrypoints/telegram/handlers/readers.py -> bot/services ->
storage), each list with one group per line in the reader's editions (editions.reading):

    python benchmarks/intelligence.py [--stories 1000000] [--destinations 100000]
        [--queries 300] [--sqlite PATH] [--postgres-url URL] [--reuse]
        [--skip-sqlite] [--skip-postgres] [--only NAME ...]

SQLite runs on a temporary file (or --sqlite PATH); PostgreSQL, when reachable, at
--postgres-url (default postgresql://postgres@127.0.0.1:5432/test) in its own schema, dropped
afterwards. With --reuse both are kept and a later run with the same sizes measures them again
without building (`--database-url URL` still measures one database only).

The newsroom's clock stands at 23:30 in Asia/Almaty (a full day behind /today and /popular);
"/popular 00:05" is the first minutes of the next day, when today has no signals yet and
/popular falls back to the last seven days; "/search typo" drops a letter from each word, so
nothing matches (PostgreSQL then tries headline similarity). "chat state" is the lookup every
command starts with; each command's figure includes it. Each list is timed for readers of
one edition ("1ed") and of two ("2ed": kk and ru, in their interface language's order); a
reader searches words of a story of their first edition. Reads the measured commands record
are deleted afterwards (and PostgreSQL vacuumed, as autovacuum would), so reruns see the same
data. `--only NAME` (repeatable) times only the commands whose label contains NAME, e.g.
`--only "/popular 00:05" --only related`, for profiling one query at a time.

Prints build time, database size and p50/p95 per command. Targets at 1,000,000 stories and
100,000 destinations: /section, /today, /popular, /search <= 50 ms p95; related <= 20 ms p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.config import SectionConfig, Settings
from bot.domain.editions import Reading, reading
from bot.services.newsdesk import Newsdesk
from bot.services.readers import Readers
from bot.services.related import RelatedStories
from storage import most_read, stories
from storage.db import Database, async_url, create_database
from storage.feeds import FeedSpec, enabled_feeds, sync_feeds
from storage.migrate import upgrade
from storage.models import (
    Destination,
    DestinationEdition,
    Engagement,
    ReactionCount,
    Story,
    Subscription,
)

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "newsbot_bench"
ZONE = ZoneInfo("Asia/Almaty")
SECTIONS = ["politics", "economy", "society", "world", "sport", "culture", "tech", "regions"]
YEAR_SECONDS = 365 * 86400
BATCH = 10_000
ENGAGEMENT_EVENTS = 200_000
LANGUAGES = ("en", "ru", "kk")
# The newsroom's editions in its order; a story's edition is its language.
EDITIONS = ("kk", "ru", "en")
# Of every GROUPED_OF triples of consecutive stories (en, ru, kk), all but one are three
# versions of one story (one group, one section); the rest stand alone.
GROUPED_OF = 5
MOST_READ_PLACES = most_read.MAX_PLACES
TARGETS_MS = {"related": 20.0}
DEFAULT_TARGET_MS = 50.0


def build_clock() -> datetime:
    """23:30 yesterday in the newsroom's zone: always past, with a full day behind it."""
    day = datetime.now(ZONE).date() - timedelta(days=1)
    return datetime.combine(day, clock_time(23, 30), tzinfo=ZONE).astimezone(UTC)


def published_at(number: int, total: int, now: datetime) -> datetime:
    """A year of news, oldest first, so ids follow publication order as in production."""
    return now - timedelta(seconds=(total - number) * YEAR_SECONDS / total)


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
        self.section = SECTIONS[0]  # the current triple's (row() draws one per triple)
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

    def row(self, number: int, total: int, now: datetime) -> dict[str, Any]:
        language = LANGUAGES[number % 3]
        if number % 3 == 0:  # a new triple: its versions share the section
            self.section = SECTIONS[self.rng.randrange(len(SECTIONS))]
        topic = self.topic(language, total)
        published = published_at(number, total, now)
        return {
            "id": number + 1,
            "group_id": group_of(number),
            "edition": language,
            "identity": f"bench-{number}",
            "link": f"https://example.kz/{language}/{number}",
            "feed_id": None,
            "title": self.sentence(language, self.rng.randint(6, 10), topic[:2]),
            "summary": self.sentence(language, self.rng.randint(20, 35), topic[1:]),
            "image_url": None,
            "author": None,
            "language": language,
            "section": self.section,
            "published_at": published,
            "first_seen_at": published,
            "updated_at": published,
            "content_hash": "h",
            "pushable": False,
            "fanned_out_at": published,
        }


def group_of(number: int) -> int:
    """The group id of the story numbered `number` (id number + 1): the first of its triple's
    ids when the triple is one story in three versions, else its own."""
    triple = number // 3
    return 3 * triple + 1 if triple % GROUPED_OF else number + 1


def audience(number: int) -> tuple[str, tuple[str, ...]]:
    """The n-th chat's interface language and editions, as benchmarks/fanout.py --editions:
    of every 20, 9 read ru, 7 kk, 2 en and 2 read two (kk and ru, in ru and in kk)."""
    slot = number % 20
    if slot < 9:
        return "ru", ("ru",)
    if slot < 16:
        return "kk", ("kk",)
    if slot < 18:
        return "en", ("en",)
    return ("ru" if slot == 18 else "kk"), ("kk", "ru")


def engagement_rows(total: int, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """A week of signals on the week's stories, each after its story was published."""
    week = max(1, int(total * 7 / 365))
    rows = []
    weights = {"read": 1.0, "press": 2.0, "inline": 2.0}
    for _ in range(min(ENGAGEMENT_EVENTS, total // 5 + 1)):
        story_id = total - rng.randrange(week)
        published = published_at(story_id - 1, total, now)
        kind = rng.choice(("read", "read", "read", "press", "inline"))
        at = published + (now - published) * rng.random()
        rows.append({"story_id": story_id, "kind": kind, "weight": weights[kind], "at": at})
    return rows


def reaction_rows(total: int, channels: list[int], now: datetime, rng: random.Random):  # type: ignore[no-untyped-def]
    """Reaction totals on channel posts of the week's stories (Telegram reports totals)."""
    if not channels:
        return []
    week = max(1, int(total * 7 / 365))
    rows = []
    for message_id in range(1, min(50_000, total // 20 + 1) + 1):
        story_id = total - rng.randrange(week)
        published = published_at(story_id - 1, total, now)
        rows.append(
            {
                "chat_id": rng.choice(channels),
                "message_id": message_id,
                "story_id": story_id,
                "total": int(rng.paretovariate(1.2)),
                "updated_at": published + (now - published) * rng.random(),
            }
        )
    return rows


def destination_rows(
    count: int, now: datetime, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Readers' private chats (80%), channels (15%) and groups (5%), 5% of them inactive,
    each taking one to four sections and reading the editions `audience` gives; ids given so
    subscriptions and editions can name them."""
    destinations, subscriptions, editions = [], [], []
    for number in range(count):
        language, reads = audience(number)
        pick = rng.random()
        kind = "private" if pick < 0.80 else "channel" if pick < 0.95 else "supergroup"
        chat_id = 200_000_000 + number if kind == "private" else -1_001_000_000_000 - number
        created = now - timedelta(seconds=rng.randrange(YEAR_SECONDS))
        destinations.append(
            {
                "id": number + 1,
                "chat_id": chat_id,
                "kind": kind,
                "title": f"chat {number}",
                "language": language,
                "active": rng.random() >= 0.05,
                "breaking": True,
                "added_by": None if kind == "private" else 300_000_000 + number,
                "digest": rng.random() < 0.2,
                "inactive_reason": None,
                "created_at": created,
                "updated_at": created,
            }
        )
        for section in rng.sample(SECTIONS, rng.randint(1, 4)):
            subscriptions.append(
                {"destination_id": number + 1, "section": section, "created_at": created}
            )
        editions += [{"destination_id": number + 1, "edition": edition} for edition in reads]
    return destinations, subscriptions, editions


async def insert_batches(database: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        async with database.sessions.begin() as session:
            await session.execute(insert(table), rows[start : start + BATCH])


async def build(database: Database, total: int, destinations: int, now: datetime) -> float:
    """Migrate, then bulk-insert stories (executemany batches), signals and destinations."""
    started = time.perf_counter()
    await upgrade(database)
    gin_indexes: list[tuple[str, str]] = []
    if not database.is_sqlite:
        # A GIN index builds far faster in one go than row by row (and without a pending
        # list to scan later): drop them for the load, recreate them as the migrations did.
        async with database.engine.begin() as connection:
            gin_indexes = [
                (row.indexname, row.indexdef)
                for row in await connection.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes "
                        "WHERE schemaname = current_schema() AND tablename = 'stories' "
                        "AND indexdef LIKE '%USING gin%'"
                    )
                )
            ]
            for name, _ in gin_indexes:
                await connection.execute(text(f"DROP INDEX {name}"))
    generator = Generator()
    table = Story.__table__
    for start in range(0, total, BATCH):
        rows = [generator.row(n, total, now) for n in range(start, min(total, start + BATCH))]
        async with database.sessions.begin() as session:
            await session.execute(insert(table), rows)
        if start and start % 100_000 == 0:
            print(f"  {start:,} stories, {time.perf_counter() - started:.0f} s", flush=True)
    rng = random.Random(11)
    chats, subscriptions, editions = destination_rows(destinations, now, rng)
    await insert_batches(database, Destination.__table__, chats)
    await insert_batches(database, Subscription.__table__, subscriptions)
    await insert_batches(database, DestinationEdition.__table__, editions)
    channels = [row["chat_id"] for row in chats if row["kind"] == "channel"]
    await insert_batches(database, Engagement.__table__, engagement_rows(total, now, rng))
    await insert_batches(
        database, ReactionCount.__table__, reaction_rows(total, channels, now, rng)
    )
    print(
        f"  {len(chats):,} destinations, {len(subscriptions):,} subscriptions, "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    if not database.is_sqlite:
        async with database.engine.begin() as connection:
            for table_name in ("destinations", "stories"):
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                        f"(SELECT max(id) FROM {table_name}))"
                    )
                )
            for _, definition in gin_indexes:
                await connection.execute(text(definition))
        await vacuum(database, "VACUUM ANALYZE")
    return time.perf_counter() - started


@dataclass(frozen=True)
class Place:
    identity: str
    link: str | None


async def keep_most_read(database: Database, total: int, now: datetime) -> int:
    """A most-read list per language, as the poller keeps it (rebuilt on every run, so a
    reused database has them too): places drawn from the last two days' stories of that
    language, one in ten pointing at an older story and one in ten at no stored story."""
    rng = random.Random(5)
    specs = [
        FeedSpec(f"https://example.kz/{language}/popular", None, language, 600, role="popular")
        for language in LANGUAGES
    ]
    recent = max(3, int(total * 2 / 365))
    async with database.sessions.begin() as session:
        await sync_feeds(session, specs, now)
        feeds = {feed.language: feed.id for feed in await enabled_feeds(session)}
        for index, language in enumerate(LANGUAGES):
            places = []
            for place in range(MOST_READ_PLACES):
                pick = rng.random()
                span = total if pick < 0.1 else recent
                number = total - 1 - rng.randrange(span)
                number -= (number - index) % 3  # a story of this language
                link = f"https://example.kz/{language}/{number}"
                if pick > 0.9:
                    link = f"https://example.kz/{language}/gone-{place}"
                places.append(Place(f"guid:https://example.kz/{language}/popular {place}", link))
            await most_read.replace_list(session, feeds[language], places, now)
    return len(LANGUAGES) * MOST_READ_PLACES


@dataclass
class Result:
    name: str
    p50: float
    p95: float
    note: str = ""

    @property
    def target(self) -> float:
        return TARGETS_MS.get(self.name, DEFAULT_TARGET_MS)


async def timed(name: str, runs: int, call: Callable[[int], Awaitable[Any]]) -> Result:
    for index in range(min(5, runs)):  # warm the connection pool and the page cache
        await call(runs + index)
    durations = []
    for index in range(runs):
        started = time.perf_counter()
        await call(index)
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    p95 = durations[min(len(durations) - 1, int(len(durations) * 0.95))]
    return Result(name, statistics.median(durations), p95)


def bench_settings() -> Settings:
    return Settings(
        timezone=ZONE.key,
        sections=[SectionConfig(slug=slug, title=slug.title()) for slug in SECTIONS],
        language="kk",
        editions=list(EDITIONS),
    )


Asker = tuple[int, str]  # a chat's id and kind, as an update names them


async def askers_by_editions(database: Database) -> dict[int, list[Asker]]:
    """The active chats by how many editions they read (one or two)."""
    async with database.sessions() as session:
        rows = (
            await session.execute(
                select(Destination.chat_id, Destination.kind, func.count())
                .join(DestinationEdition, DestinationEdition.destination_id == Destination.id)
                .where(Destination.active.is_(True))
                .group_by(Destination.id, Destination.chat_id, Destination.kind)
                .order_by(Destination.id)
            )
        ).all()
    found: dict[int, list[Asker]] = {}
    for chat_id, kind, count in rows:
        found.setdefault(int(count), []).append((chat_id, kind))
    if not found.get(1) or not found.get(2):
        raise SystemExit(
            "no chats reading one and two editions: build with --destinations "
            "(a database built before editions cannot be reused)"
        )
    return found


def one_per_group(name: str, found: list[Story]) -> None:
    """A list shows each story group once (the reader's version of it)."""
    groups = [story.group_id for story in found]
    if len(set(groups)) != len(groups):
        raise SystemExit(f"{name}: a story group is listed twice")


async def measure(
    database: Database, total: int, runs: int, now: datetime, only: list[str] | None = None
) -> list[Result]:
    """Each command as its handler runs it: the chat's state, what it reads in preference
    order (editions.reading), then the service call. `only`: the labels to time (substrings;
    None: all)."""

    def wanted(label: str) -> bool:
        return not only or any(part in label for part in only)

    rng = random.Random(3)
    settings = bench_settings()
    newsroom = settings.editions
    readers = Readers(database, settings, clock=lambda: now)
    related_stories = RelatedStories(database)
    newsdesk = Newsdesk(database, ZONE, related_stories, clock=lambda: now)
    # A quiet start of the next day: nothing published or read yet, /popular looks back a week.
    morning = Newsdesk(database, ZONE, related_stories, clock=lambda: now + timedelta(minutes=35))
    # Recent stories: what related links are computed for (a new story) and searched for.
    ids = [total - rng.randrange(min(total, 20_000)) for _ in range(runs)]
    async with database.sessions() as session:
        probes = await stories.get_stories(session, ids)
    chats = await askers_by_editions(database)
    askers = {
        edition_count: [found[rng.randrange(len(found))] for _ in range(runs + 5)]
        for edition_count, found in sorted(chats.items())
        if edition_count <= 2
    }
    everyone = [chat for found in askers.values() for chat in found]
    # A reader searches two words of a headline of their first edition; "typo" drops the
    # second letter of each: nothing matches, and PostgreSQL falls back to headline
    # similarity (pg_trgm), in the other editions too.
    queries: dict[str, list[list[str]]] = {edition: [] for edition in newsroom}
    for story in probes:
        words = [w for w in story.title.split() if len(w) >= 5][:2] or ["x"]
        queries[story.edition or newsroom[0]].append(words)
    typos = {
        edition: [[word[0] + word[2:] for word in query] for query in found]
        for edition, found in queries.items()
    }
    slugs = [SECTIONS[rng.randrange(len(SECTIONS))] for _ in range(runs + 5)]

    started = time.perf_counter()
    await related_stories.related_to(probes[0])
    print(
        f"  stem frequencies (cached 10 min by the service): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms with the first related lookup"
    )

    async def state(index: int) -> None:
        chat_id, kind = everyone[index % len(everyone)]
        await readers.state(chat_id, kind, None, None)

    def command(
        chats: list[Asker], service_call: Callable[[int, Reading], Awaitable[Any]]
    ) -> Callable[[int], Awaitable[Any]]:
        async def handler(index: int) -> None:
            chat_id, kind = chats[index % len(chats)]
            found = await readers.state(chat_id, kind, None, None)
            await service_call(index, reading(found.editions, found.language, newsroom))

        return handler

    def searching(words: dict[str, list[list[str]]]) -> Callable[[int, Reading], Awaitable[Any]]:
        async def search(index: int, editions: Reading) -> None:
            mine = words[editions[0] if editions else newsroom[0]]
            await newsdesk.search(mine[index % len(mine)], editions, newsroom)

        return search

    async def related(index: int) -> None:
        await related_stories.related_to(probes[index % len(probes)])

    hits = 0
    for probe in probes[:50]:
        hits += bool(await related_stories.related_to(probe))
    print(f"  related found for {hits}/50 probe stories")
    for reads in (("kk",), ("kk", "ru")):
        sizes = []
        for words in queries[reads[0]][:50]:
            sizes.append(len(await newsdesk.find(words, editions=reads)))
        page = await newsdesk.timeline(0, editions=reads)
        popular = await newsdesk.popular(editions=reads)
        one_per_group(f"/today {reads}", page.stories)
        one_per_group(f"/popular {reads}", popular)
        print(
            f"  reading {'+'.join(reads)}: search {sum(1 for n in sizes if n)}/{len(sizes)} "
            f"queries found stories; /today {page.pages} pages; /popular today "
            f"{len(popular)} stories; one group per line"
        )

    lists: list[tuple[str, Callable[[int, Reading], Awaitable[Any]]]] = [
        ("/section", lambda i, e: newsdesk.latest(slugs[i % len(slugs)], e)),
        ("/today", lambda i, e: newsdesk.timeline(0, None, e)),
        ("/today slug", lambda i, e: newsdesk.timeline(0, slugs[i % len(slugs)], e)),
        ("/popular", lambda i, e: newsdesk.popular(None, e)),
        ("/popular slug", lambda i, e: newsdesk.popular(slugs[i % len(slugs)], e)),
        ("/popular 00:05", lambda i, e: morning.popular(None, e)),
        ("/search", searching(queries)),
        ("/search typo", searching(typos)),
    ]
    results = [await timed("chat state", runs, state)] if wanted("chat state") else []
    for name, call in lists:
        for edition_count, chats_reading in askers.items():
            label = f"{name} {edition_count}ed"
            if wanted(label):
                results.append(await timed(label, runs, command(chats_reading, call)))
    if wanted("related"):
        results.append(await timed("related", runs, related))
    # Forget the reads the commands recorded (all at `now`), so a rerun sees the same data.
    async with database.sessions.begin() as session:
        await session.execute(delete(Engagement).where(Engagement.at >= now))
    if not database.is_sqlite:
        # What autovacuum would do after the deletes (it may be off on a test server).
        await vacuum(database, "VACUUM ANALYZE engagement, story_engagement")
    return results


async def vacuum(database: Database, statement: str) -> None:
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text(statement))


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
        pool_size=10,
        max_overflow=10,
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


async def counts(database: Database) -> tuple[int, int]:
    """Stories and destinations stored (0, 0 before the first migration)."""
    try:
        async with database.sessions() as session:
            story_count = await session.scalar(select(func.count()).select_from(Story))
            chat_count = await session.scalar(select(func.count()).select_from(Destination))
    except DBAPIError:  # not migrated yet
        return 0, 0
    return int(story_count or 0), int(chat_count or 0)


async def newsroom_clock(database: Database, total: int) -> datetime:
    """The clock a build used: its newest story was published one step before it."""
    async with database.sessions() as session:
        newest = await session.scalar(select(func.max(Story.published_at)))
    assert newest is not None
    now = newest + timedelta(seconds=YEAR_SECONDS / total)
    return (now + timedelta(microseconds=500_000)).replace(microsecond=0)


def file_size(path: str) -> int:
    """The SQLite file and its write-ahead log, in bytes."""
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


async def size_of(database: Database, sqlite_path: str | None) -> str:
    if database.is_sqlite:
        assert sqlite_path is not None
        size = file_size(sqlite_path)
    else:
        async with database.sessions() as session:
            size = await session.scalar(
                text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class AS c "
                    "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
                )
            )
    return f"{(size or 0) / 2**30:.2f} GiB"


@dataclass
class Report:
    label: str
    built: str
    size: str = ""
    results: list[Result] = field(default_factory=list)


async def run_one(
    label: str,
    database: Database,
    args: argparse.Namespace,
    sqlite_path: str | None = None,
) -> Report:
    total, chats = args.stories, args.destinations
    found = await counts(database)
    if found == (total, chats):
        print(f"{label}: reusing the {total:,} stories and {chats:,} destinations already built")
        await upgrade(database)  # as the bot does at start-up: later migrations apply
        built = "reused"
    elif any(found):
        raise SystemExit(
            f"{label}: the database holds {found[0]:,} stories and {found[1]:,} destinations; "
            "start from an empty one"
        )
    else:
        print(f"{label}: building {total:,} stories, {chats:,} destinations", flush=True)
        seconds = await build(database, total, chats, build_clock())
        print(f"{label}: built in {seconds:.0f} s")
        built = f"{seconds:.0f} s"
    now = await newsroom_clock(database, total)
    print(f"{label}: newsroom clock {now.astimezone(ZONE):%Y-%m-%d %H:%M %Z}")
    places = await keep_most_read(database, total, now)
    print(f"{label}: {places} most-read places kept ({len(LANGUAGES)} lists)")
    report = Report(label, built, await size_of(database, sqlite_path))
    report.results = await measure(database, total, args.queries, now, args.only)
    for result in report.results:
        flag = "" if result.p95 <= result.target else f"  > {result.target:.0f} ms target"
        print(
            f"{label:>10} {result.name:<18} p50 {result.p50:7.2f} ms   "
            f"p95 {result.p95:7.2f} ms{flag}",
            flush=True,
        )
    return report


def print_table(reports: list[Report], args: argparse.Namespace) -> None:
    if not reports:
        return
    print(
        f"\n{args.stories:,} stories, {args.destinations:,} destinations, "
        f"{args.queries} runs per command (p50 / p95, ms)"
    )
    header = f"{'':<18}" + "".join(f"{report.label:>22}" for report in reports) + "   target"
    print(header)
    for index, result in enumerate(reports[0].results):
        cells = []
        for report in reports:
            other = report.results[index]
            mark = "" if other.p95 <= other.target else " !"
            cells.append(f"{other.p50:7.1f} / {other.p95:7.1f}{mark:<2}".rjust(22))
        print(f"{result.name:<18}" + "".join(cells) + f"   <= {result.target:.0f}")
    print(f"{'database size':<18}" + "".join(f"{report.size:>22}" for report in reports))
    print(f"{'build':<18}" + "".join(f"{report.built:>22}" for report in reports))


async def run_sqlite(path: str, args: argparse.Namespace, reports: list[Report]) -> None:
    database = create_database(f"sqlite:///{path}")
    try:
        reports.append(await run_one("sqlite", database, args, path))
    finally:
        await database.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--destinations", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300, help="timed runs per command")
    parser.add_argument("--database-url", help="one database only (default: SQLite + PG)")
    parser.add_argument("--sqlite", metavar="PATH", help="SQLite file (default: temporary)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--reuse",
        "--keep",
        action="store_true",
        help="keep the databases built (SQLite file, PostgreSQL schema) and reuse them",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="time only the commands whose label contains NAME (repeatable)",
    )
    args = parser.parse_args()
    reports: list[Report] = []
    if args.database_url and not args.database_url.startswith("postgres"):
        path = args.database_url.removeprefix("sqlite:///")
        await run_sqlite(path, args, reports)
        print_table(reports, args)
        return
    if not args.database_url and not args.skip_sqlite:
        if args.sqlite or args.reuse:
            default = Path(tempfile.gettempdir()) / f"newsbot-bench-{args.stories}.db"
            await run_sqlite(args.sqlite or str(default), args, reports)
        else:
            with tempfile.TemporaryDirectory() as directory:
                await run_sqlite(f"{directory}/bench.db", args, reports)
    if args.skip_postgres and not args.database_url:
        print_table(reports, args)
        return
    url = args.database_url or args.postgres_url
    postgres = await postgres_database(url, reuse=args.reuse)
    if postgres is not None:
        try:
            reports.append(await run_one("postgresql", postgres, args))
        finally:
            await postgres.dispose()
            if not args.reuse:
                await drop_postgres_schema(url)
    print_table(reports, args)


if __name__ == "__main__":
    asyncio.run(main())
