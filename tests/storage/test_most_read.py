"""A newsroom's most-read list blended into /popular's ranking, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest

from storage import engagement, most_read
from storage.db import Database
from storage.feeds import FeedSpec, enabled_feeds, sync_feeds
from tests.fakes.stories import NOW, draft, store

NEWS = FeedSpec("https://example.kz/rss", None, None, 120)
MOST_READ = FeedSpec("https://example.kz/popular", None, None, 600, role="popular")


@dataclass(frozen=True)
class Place:
    """An entry of a most-read feed as the normaliser hands it over."""

    identity: str
    link: str | None


def place(name: str) -> Place:
    return Place(f"guid:https://example.kz/popular {name}", f"https://example.kz/{name}")


async def most_read_feed(database: Database, *specs: FeedSpec) -> int:
    """Sync the feeds (the config at start-up); the most-read feed's id."""
    async with database.sessions.begin() as session:
        await sync_feeds(session, list(specs) or [NEWS, MOST_READ], NOW)
    async with database.sessions() as session:
        feeds = await enabled_feeds(session)
    return next(feed.id for feed in feeds if feed.role == "popular")


async def keep(database: Database, feed_id: int, *places: Place) -> int:
    async with database.sessions.begin() as session:
        return await most_read.replace_list(session, feed_id, list(places), NOW)


async def ranked(database: Database, hours: float = 2, section: str | None = None) -> list[str]:
    since = NOW - timedelta(hours=hours)
    async with database.sessions() as session:
        top = await engagement.popular(session, since=since, now=NOW, limit=10, section=section)
    return [story.identity for story in top]


async def test_places_blend_with_engagement_within_the_window_and_section(
    database: Database,
) -> None:
    ids = await store(
        database,
        draft("read", "Мажилис принял бюджет", 60),
        draft("first", "Сенат одобрил закон", 60),
        draft("third", "Погода в Астане", 60),
        draft("old", "Вчерашняя новость", 60 * 30),
        draft("money", "Курс тенге", 60, section="economy"),
        draft("tagged", "Новость по тегу", 60, link="https://example.kz/elsewhere"),
    )
    feed_id = await most_read_feed(database)
    async with database.sessions.begin() as session:
        await engagement.record_reads(session, [ids["read"]], NOW)
        await engagement.record_reads(session, [ids["read"]], NOW)
    # Link variants the normaliser would have made canonical are stored canonical; an item
    # whose link differs is still matched by its identity (a permalink or tag: guid).
    kept = await keep(
        database,
        feed_id,
        place("first"),
        place("old"),
        place("third"),
        place("money"),
        Place("guid:tag:never-stored", "https://example.kz/never-stored"),
        place("first"),  # listed twice: its first place counts
        Place("tagged", None),
    )
    assert kept == 6
    # first: 10 points (#1); third: 10/3; money: 10/4; read: 2 reads; tagged: 10/6 (the
    # repeat took no place). "old" is out of the window; the unknown item matches nothing.
    assert await ranked(database) == ["first", "third", "money", "read", "tagged"]
    assert await ranked(database, section="parliament") == ["first", "third", "read", "tagged"]
    assert await ranked(database, section="economy") == ["money"]
    assert "old" in await ranked(database, hours=48)


async def test_a_place_decays_with_the_storys_age(database: Database) -> None:
    ids = await store(
        database, draft("yesterday", "Вчерашняя новость", 26 * 60), draft("now", "Свежая", 60)
    )
    feed_id = await most_read_feed(database)
    await keep(database, feed_id, place("yesterday"))
    async with database.sessions.begin() as session:
        for _ in range(3):  # 3 points an hour old (2.83) beat 10 points 26 hours old (2.23)
            await engagement.record(session, ids["now"], "read", NOW)
    assert await ranked(database, hours=7 * 24) == ["now", "yesterday"]


async def test_a_placed_story_keeps_its_own_signals(database: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The engagement scan is cut to its single leader, so "listed" (one read) is outside it:
    # its read must still be added to its place, or the newer "pressed" would win.
    monkeypatch.setattr(engagement, "CANDIDATES_PER_PLACE", 1)
    monkeypatch.setattr(engagement, "EARLY_SLACK", 0)
    ids = await store(
        database, draft("listed", "Сенат одобрил закон", 60), draft("pressed", "Бюджет", 50)
    )
    feed_id = await most_read_feed(database)
    await keep(database, feed_id, place("listed"))
    async with database.sessions.begin() as session:
        await engagement.record(session, ids["listed"], "read", NOW)
        for _ in range(5):
            await engagement.record(session, ids["pressed"], "press", NOW)
    async with database.sessions() as session:
        top = await engagement.popular(session, since=NOW - timedelta(hours=2), now=NOW, limit=1)
    assert [story.identity for story in top] == ["listed"]  # 11 points beat 10


@pytest.mark.parametrize("change", ["removed", "turned_into_news"])
async def test_only_an_enabled_most_read_feeds_list_counts(database: Database, change: str) -> None:
    await store(database, draft("first", "Сенат одобрил закон", 60))
    feed_id = await most_read_feed(database)
    await keep(database, feed_id, place("first"))
    assert await ranked(database) == ["first"]
    news = FeedSpec(MOST_READ.url, None, None, 600)
    async with database.sessions.begin() as session:
        await sync_feeds(session, [NEWS] if change == "removed" else [NEWS, news], NOW)
    assert await ranked(database) == []


async def test_an_empty_list_keeps_the_last_one(database: Database) -> None:
    feed_id = await most_read_feed(database)
    assert await keep(database, feed_id, place("a"), place("b")) == 2
    assert await keep(database, feed_id) == 0
    async with database.sessions() as session:
        kept = await most_read.current_list(session, feed_id)
    assert [(row.position, row.link) for row in kept] == [
        (1, "https://example.kz/a"),
        (2, "https://example.kz/b"),
    ]
    await keep(database, feed_id, place("b"))
    async with database.sessions() as session:
        assert [row.link for row in await most_read.current_list(session, feed_id)] == [
            "https://example.kz/b"
        ]


async def test_two_replacements_at_once_leave_one_whole_list(database: Database) -> None:
    """`newsbot poll` beside a running bot: on PostgreSQL both may replace the list at once."""
    feed_id = await most_read_feed(database)
    await keep(database, feed_id, place("old"))
    first_replaced = asyncio.Event()

    async def first() -> None:
        async with database.writing(), database.sessions.begin() as session:
            await most_read.replace_list(session, feed_id, [place("a"), place("b")], NOW)
            first_replaced.set()
            await asyncio.sleep(0.2)  # the second starts while this one is uncommitted

    async def second() -> None:
        await first_replaced.wait()
        async with database.writing(), database.sessions.begin() as session:
            await most_read.replace_list(session, feed_id, [place("c"), place("d")], NOW)

    await asyncio.gather(first(), second())
    async with database.sessions() as session:
        kept = await most_read.current_list(session, feed_id)
    assert [row.link for row in kept] == ["https://example.kz/c", "https://example.kz/d"]


async def test_a_quiet_window_falls_back_to_the_next_with_its_places(database: Database) -> None:
    # Nothing published in the last hour: the week's ranking, its most-read place included;
    # once a placed story is published within the hour, that window's list is shown alone.
    feed_id = await most_read_feed(database)
    await store(
        database,
        draft("read", "Мажилис принял бюджет", 600),
        draft("placed", "Сенат одобрил закон", 1200),
        draft("old", "Погода в Астане", 8 * 24 * 60),
    )
    await keep(database, feed_id, place("placed"), place("old"))
    async with database.sessions.begin() as session:
        await engagement.record(session, await _id(database, "read"), "read", NOW)
        await engagement.record(session, await _id(database, "old"), "press", NOW)
    windows = [NOW - timedelta(hours=1), NOW - timedelta(days=7)]

    async def first() -> list[str]:
        async with database.sessions() as session:
            top = await engagement.popular_first(session, windows=windows, now=NOW, limit=10)
        return [story.identity for story in top]

    assert await first() == ["placed", "read"]
    await store(database, draft("fresh", "Новый закон вступил в силу", 30))
    await keep(database, feed_id, place("fresh"), place("placed"))
    assert await first() == ["fresh"]


async def _id(database: Database, identity: str) -> int:
    from sqlalchemy import select

    from storage.models import Story

    async with database.sessions() as session:
        found = await session.scalar(select(Story.id).where(Story.identity == identity))
    assert found is not None
    return found
