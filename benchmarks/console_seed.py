"""The console benchmark's database (benchmarks/console.py): opened, seeded in bulk, reused.

N chats (one in a hundred a channel, one in a hundred inactive), interface languages kk, ru
and en in turn; every chat reads the English edition, one in three also Kazakh, one in five
also Russian; all follow `politics`, one in 97 also `economy`. 1,000 stories: the newest
M / N `politics` ones sent to every chat (97% sent, 2% failed, 1% queued; one
INSERT ... SELECT each), one `economy` story to its chats, one `politics` story not sent yet,
and the Kazakh version of the newest story (each of its readers holds the English one);
50 feeds; breaking news in three editions queued for every chat that takes it (97% sent);
20 stories waiting for the editors' desk, each for every channel.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, false, func, literal, select, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.domain.breaking import version_table
from storage import alerts, deliveries
from storage.approvals import open_approval
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

BENCH_SCHEMA = "console_bench"
STORIES = 1000
FEEDS = 50
WAITING_APPROVAL = 20
FIRST_CHAT = 10_000_000
FIRST_CHANNEL = -1_001_000_000_000
# The channel the benchmark's editor administers (its settings, preview, history).
BENCH_CHANNEL = FIRST_CHANNEL - 50
LANGUAGES = ("kk", "ru", "en")
EDITIONS = ["kk", "ru", "en"]
BREAKING = {
    "kk": "Сенат цифрлық платформалар туралы заңды қабылдады",
    "ru": "Сенат принял закон о цифровых платформах",
    "en": "The senate passes the digital platforms law",
}
SEEDED = (
    "feeds",
    "stories",
    "destinations",
    "subscriptions",
    "destination_editions",
    "deliveries",
    "alerts",
    "approvals",
)


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
        "language": LANGUAGES[n % 3],
        "active": not inactive,
        "inactive_reason": "bot was blocked by the user" if inactive else None,
        "created_at": created,
        "updated_at": created,
    }


def _editions(ids: list[int]) -> list[dict[str, Any]]:
    rows = [{"destination_id": i, "edition": "en"} for i in ids]
    rows += [{"destination_id": i, "edition": "kk"} for n, i in enumerate(ids) if n % 3 == 0]
    rows += [{"destination_id": i, "edition": "ru"} for n, i in enumerate(ids) if n % 5 == 0]
    return rows


def _story(n: int, now: datetime, feed_id: int, fanned: int) -> dict[str, Any]:
    """Story 0..fanned-1: politics, sent to every chat; `fanned`: economy, to its chats;
    `fanned`+1: politics, not fanned out yet; the rest older, never pushed."""
    published = now - timedelta(minutes=5 * n + 1)
    return {
        "identity": f"bench-{n}",
        "link": f"https://news.example/story/{n}",
        "feed_id": feed_id,
        "title": f"Benchmark story {n}: the senate passes the digital platforms law",
        "summary": "Senators approved the law in its second reading.",
        "language": "en",
        "edition": "en",
        "section": "economy" if n == fanned else "politics",
        "published_at": published,
        "first_seen_at": published,
        "updated_at": published,
        "content_hash": f"{n:064x}",
        "pushable": n <= fanned + 1,
        "fanned_out_at": published if n <= fanned else None,
    }


def _feed(n: int, now: datetime) -> dict[str, Any]:
    failing = n % 10 == 0
    return {
        "url": f"https://news{n}.example/rss",
        "title": f"Feed {n}",
        "section": "politics" if n % 2 else "economy",
        "poll_interval": 300,
        "enabled": True,
        "last_fetched_at": now - timedelta(minutes=n % 5),
        "last_success_at": now - timedelta(minutes=n % 5 + (60 if failing else 0)),
        "last_status": "error" if failing else "ok",
        "last_error": "HTTP 503" if failing else None,
        "consecutive_errors": 12 if failing else 0,
        "next_poll_at": now + timedelta(minutes=5),
        "backlog_done": True,
        "created_at": now - timedelta(days=30),
    }


async def seed(database: Database, chats: int, deliveries: int, now: datetime) -> None:
    """Chats, stories, feeds, breaking news, approvals and the outbox, in bulk (module)."""
    started = time.perf_counter()
    fanned = max(1, deliveries // chats)
    async with database.sessions.begin() as session:
        await session.execute(Feed.__table__.insert(), [_feed(n, now) for n in range(FEEDS)])
        feed_ids = (await session.scalars(select(Feed.id).order_by(Feed.id))).all()
        await session.execute(
            Story.__table__.insert(),
            [_story(n, now, feed_ids[n % len(feed_ids)], fanned) for n in range(STORIES)],
        )
        earlier = now - timedelta(days=60)
        await session.execute(
            Destination.__table__.insert(), [chat_row(n, earlier) for n in range(chats)]
        )
        ids = list((await session.scalars(select(Destination.id).order_by(Destination.id))).all())
        await session.execute(
            Subscription.__table__.insert(),
            [{"destination_id": i, "section": "politics", "created_at": earlier} for i in ids]
            + [
                {"destination_id": i, "section": "economy", "created_at": earlier}
                for i in ids[::97]
            ],
        )
        await session.execute(DestinationEdition.__table__.insert(), _editions(ids))
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
            await session.execute(_fan_out(Story.id == story_id, number == fanned))
        seconds = time.perf_counter() - started
        print(f"  story {story_id}: outbox rows in {seconds:.1f} s", flush=True)
    await _versions_and_breaking(database, story_ids[0], now)
    await _waiting_for_the_desk(database, now)


async def _versions_and_breaking(database: Database, newest: int, now: datetime) -> None:
    """The newest story's Kazakh version (no rows: its readers hold the English one), and
    breaking news in three editions to every chat that takes it."""
    async with database.sessions.begin() as session:
        english = (await session.execute(select(Story).where(Story.id == newest))).scalar_one()
        await session.execute(
            Story.__table__.insert(),
            [
                {
                    "identity": "bench-kk-version",
                    "link": english.link + "?lang=kk",
                    "feed_id": english.feed_id,
                    "title": "Сенат цифрлық платформалар туралы заңды қабылдады",
                    "language": "kk",
                    "edition": "kk",
                    "section": english.section,
                    "group_id": english.group_id or english.id,
                    "published_at": english.published_at,
                    "first_seen_at": english.first_seen_at,
                    "updated_at": english.updated_at,
                    "content_hash": "k" * 64,
                    "pushable": True,
                    "fanned_out_at": english.fanned_out_at,
                }
            ],
        )
        # Queued as the product queues it (each row with its chat's version), then left as
        # the sender would: 97% sent, 2% failed, 1% queued.
        alert = await alerts.create_sent(
            session,
            text=BREAKING["en"],
            texts=BREAKING,
            link="https://news.example/breaking",
            sections=None,
            idempotency_key=None,
            source="console",
            editor_id=111111111,
            now=now - timedelta(minutes=3),
        )
        started = time.perf_counter()
        table = version_table(BREAKING, EDITIONS, "kk")
        await deliveries.queue_alert(
            session, alert.id, now - timedelta(minutes=3), versions=table, newsroom=EDITIONS
        )
        alert.audience = 99_000
        alert.fanned_out_at = now - timedelta(minutes=3)
        bucket = Delivery.destination_id % 100
        await session.execute(
            update(Delivery)
            .where(Delivery.alert_id == alert.id)
            .values(
                status=case((bucket < 97, "sent"), (bucket < 99, "failed"), else_="queued"),
                sent_at=case((bucket < 97, now)),
                chat_id=case((bucket < 97, Delivery.destination_id)),
                message_id=case((bucket < 97, Delivery.id)),
            )
        )
    print(f"  breaking news {alert.id}: outbox rows in {time.perf_counter() - started:.1f} s")


async def _waiting_for_the_desk(database: Database, now: datetime) -> None:
    """WAITING_APPROVAL older stories, each awaiting the desk for every channel."""
    async with database.sessions.begin() as session:
        older = (
            await session.scalars(
                select(Story.id)
                .where(Story.fanned_out_at.is_(None), Story.section == "politics")
                .order_by(Story.published_at.desc())
                .offset(1)
                .limit(WAITING_APPROVAL)
            )
        ).all()
        channels = (
            await session.scalars(select(Destination.id).where(Destination.kind == "channel"))
        ).all()
        for story_id in older:
            approval = await open_approval(session, story_id, now, now + timedelta(hours=6))
            await session.execute(
                Delivery.__table__.insert(),
                [
                    {
                        "destination_id": chat,
                        "story_id": story_id,
                        "group_id": story_id,
                        "priority": 10,
                        "status": "awaiting",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "approval_id": approval,
                        "roundup": False,
                    }
                    for chat in channels
                ],
            )
    print(f"  {len(older)} stories waiting for the desk, each for {len(channels):,} channels")


def _fan_out(which: Any, economy: bool = False) -> Any:
    """INSERT ... SELECT: a story's outbox rows (`which` picks the story) for every chat
    reading its section; 97% sent, 2% failed, 1% queued, as the sender leaves them."""
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
            case((failed, "Forbidden: bot was blocked by the user")).label("last_error"),
            case((sent, Destination.chat_id)).label("chat_id"),
            false().label("roundup"),
            Story.published_at.label("next_attempt_at"),
            case((sent, Story.id)).label("message_id"),
            Story.published_at.label("created_at"),
            case((sent, Story.published_at)).label("sent_at"),
        )
        .select_from(Destination)
        .join(Subscription, Subscription.destination_id == Destination.id)
        .join(Story, which)
        .where(Subscription.section == ("economy" if economy else "politics"))
    )
    names = [column.name for column in source.selected_columns]
    return Delivery.__table__.insert().from_select(names, source)


async def analyze(database: Database, statement: str = "ANALYZE deliveries") -> None:
    """PostgreSQL's statistics and visibility map, as autovacuum keeps them (fresh: slower)."""
    if database.is_sqlite:
        return
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
