"""/popular follows what readers do; /today is the newsroom's day, not UTC's."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.newsdesk import Newsdesk, day_bounds
from storage import stories
from storage.db import Database
from tests.fakes.rss import Item, rss
from tests.telegram.conftest import CHANNEL, ENGLISH_READER, Newsroom
from tests.telegram.test_readers import ask

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def feed_urls(feed_server) -> list[str]:  # type: ignore[no-untyped-def]
    old = [Item("base", "Archive story", NOW - timedelta(hours=5))]
    return [feed_server.add("/rss/en.xml", rss(old), etag='"v1"')]


async def test_reactions_on_channel_posts_rank_popular_stories(newsroom: Newsroom) -> None:
    from storage import destinations

    newsroom.api.add_bot_to_channel(ENGLISH_READER, CHANNEL)
    await newsroom.api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id and "/channels" in m.text)
    async with newsroom.core.database.sessions.begin() as session:
        channel = await destinations.get_by_chat(session, CHANNEL.id)
        assert channel is not None
        await destinations.subscribe(session, channel.id, "parliament", NOW)
    await newsroom.poll()
    newsroom.feeds.add(
        "/rss/en.xml",
        rss(
            [
                Item("quiet", "Quiet committee hearing", NOW - timedelta(minutes=3)),
                Item("loved", "Astana wins the bid", NOW - timedelta(minutes=2)),
            ]
        ),
        etag='"v2"',
    )
    await newsroom.poll()
    await newsroom.deliver_all()
    loved = next(m for m in newsroom.api.messages_to(CHANNEL.id) if "bid" in m.text)
    before = await ask(newsroom.api, ENGLISH_READER, "/popular")  # /latest-style reads count
    await ask(newsroom.api, ENGLISH_READER, "/latest")
    await ask(newsroom.api, ENGLISH_READER, "/search quiet committee")
    ranked = await ask(newsroom.api, ENGLISH_READER, "/popular")
    assert ranked.text.index("Quiet") < ranked.text.index("bid")  # searched, so read twice
    assert before.text != ranked.text or "Quiet" in before.text
    newsroom.api.react(CHANNEL, loved.message_id, {"👍": 40, "🔥": 12})
    await newsroom.api.wait_until(lambda: not newsroom.api.pending_updates())
    await asyncio.sleep(0.3)  # the reaction update is handled concurrently
    reply = await ask(newsroom.api, ENGLISH_READER, "/popular")
    assert reply.text.index("bid") < reply.text.index("Quiet")


@dataclass(frozen=True)
class Draft:
    identity: str
    title: str
    published_at: datetime
    link: str | None = None
    summary: str = ""
    image_url: str | None = None
    author: str | None = None
    language: str | None = "en"
    section: str | None = "parliament"
    content_hash: str = "h"


async def test_today_starts_at_the_newsrooms_midnight_not_utcs(database: Database) -> None:
    # 00:30 in Almaty (UTC+5) on 20 Nov is 19:30 UTC on 19 Nov.
    now = datetime(2025, 11, 20, 0, 30, tzinfo=ALMATY).astimezone(UTC)
    before_midnight = datetime(2025, 11, 19, 23, 50, tzinfo=ALMATY)
    after_midnight = datetime(2025, 11, 20, 0, 10, tzinfo=ALMATY)
    async with database.sessions.begin() as session:
        await stories.store_stories(
            session,
            [
                Draft("a", "Yesterday in Almaty", before_midnight),
                Draft("b", "Today in Almaty", after_midnight),
            ],
            feed_id=None,
            pushable=True,
            now=now,
        )
    desk = Newsdesk(database, ALMATY, clock=lambda: now)
    page = await desk.timeline()
    assert [s.title for s in page.stories] == ["Today in Almaty"]
    assert day_bounds(page.day, ALMATY)[0] == datetime(2025, 11, 19, 19, 0, tzinfo=UTC)
