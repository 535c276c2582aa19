"""The newsroom's own most-read feed: polled with the news, never pushed, blended into /popular."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Story
from tests.entrypoints.telegram.conftest import (
    ENGLISH_READER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.conversation import ask, subscribe
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
BACKLOG = Item("archive", "Archive story from the morning", NOW - timedelta(hours=3))


def most_read(*items: Item) -> bytes:
    """The newsroom's most-read feed: its own guids and titles, links to its stories."""
    return rss(list(items), title="Kazinform: most read")


def top(guid: str, title: str, link: str) -> Item:
    return Item(f"most-read-{guid}", title, NOW - timedelta(days=2), link=link)


@pytest.fixture
async def newsroom(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    news = feed_server.add("/rss/en.xml", rss([BACKLOG]), etag='"n1"')
    popular = feed_server.add("/rss/most-read.xml", most_read(), etag='"p0"')
    feeds = [
        {"url": news, "section": "parliament"},
        {"url": popular, "role": "popular", "poll_interval": 600},
    ]
    settings = newsroom_settings(tmp_path, fake_api, [], feeds=feeds)
    async with running_newsroom(settings, fake_api, feed_server) as running:
        yield running


def publish(newsroom: Newsroom, *items: Item, version: str) -> None:
    newsroom.feeds.add("/rss/en.xml", rss([*items, BACKLOG]), etag=f'"{version}"')


def list_most_read(newsroom: Newsroom, *items: Item, version: str) -> None:
    newsroom.feeds.add("/rss/most-read.xml", most_read(*items), etag=f'"{version}"')


async def stored_titles(newsroom: Newsroom) -> list[str]:
    async with newsroom.core.database.sessions() as session:
        return list((await session.scalars(select(Story.title).order_by(Story.id))).all())


async def story_ids(newsroom: Newsroom) -> dict[str, int]:
    async with newsroom.core.database.sessions() as session:
        rows = (await session.execute(select(Story.title, Story.id))).all()
    return {title: story_id for title, story_id in rows}


async def test_most_read_items_are_never_stored_or_pushed(newsroom: Newsroom) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()  # first polls: the news feed's backlog, an empty most-read list
    fresh = Item("budget", "Mazhilis passes the budget", NOW - timedelta(minutes=4))
    publish(newsroom, fresh, version="n2")
    list_most_read(
        newsroom,
        top("1", "Most read: Mazhilis passes the budget", "https://www.inform.kz/en/budget"),
        top("2", "Most read: an old feature", "https://www.inform.kz/en/old-feature"),
        version="p1",
    )
    await newsroom.poll()
    list_most_read(  # a second poll of the list: no longer its "backlog"
        newsroom,
        top("3", "Most read: a brand new list entry", "https://www.inform.kz/en/new-entry"),
        top("1", "Most read: Mazhilis passes the budget", "https://www.inform.kz/en/budget"),
        version="p2",
    )
    await newsroom.poll()
    await newsroom.deliver_all()
    assert newsroom.feeds.status_log("/rss/most-read.xml") == [200, 200, 200]
    received = [m.text for m in newsroom.api.messages_to(ENGLISH_READER.id)]
    assert sum("Mazhilis passes the budget" in text for text in received) == 1
    assert not any("Most read" in text for text in received)
    assert await stored_titles(newsroom) == [BACKLOG.title, fresh.title]
    reply = await ask(newsroom.api, ENGLISH_READER, "/popular")
    assert "Mazhilis passes the budget" in reply.text and "Most read" not in reply.text


async def test_the_most_read_first_outranks_a_story_with_a_little_engagement(
    newsroom: Newsroom,
) -> None:
    await newsroom.poll()
    publish(
        newsroom,
        Item("read", "Senate holds a plenary session", NOW - timedelta(minutes=6)),
        Item("first", "Astana hosts the summit", NOW - timedelta(minutes=5)),
        Item("money", "Tenge firms against the dollar", NOW - timedelta(minutes=4),
             category="Economy"),
        version="n2",
    )  # fmt: skip
    await newsroom.poll()
    ids = await story_ids(newsroom)
    desk = newsroom.side.services.newsdesk
    # A little engagement (one press), and no place in the list.
    await desk.record(ids["Senate holds a plenary session"], "press")
    before = await ask(newsroom.api, ENGLISH_READER, "/popular")
    assert "Senate holds" in before.text and "Astana hosts" not in before.text
    list_most_read(
        newsroom,
        # Shared with tracking tags and a fragment: the same canonical link as the story.
        top("1", "Astana summit", "https://WWW.inform.kz/en/first?utm_source=top&fbclid=x#c"),
        top("2", "Not one of ours", "https://elsewhere.example/story"),
        top("3", "Tenge", "https://www.inform.kz/en/money"),
        version="p1",
    )
    await newsroom.poll()
    reply = await ask(newsroom.api, ENGLISH_READER, "/popular")
    assert reply.text.index("Astana hosts") < reply.text.index("Senate holds")
    assert "Not one of ours" not in reply.text
    economy = await ask(newsroom.api, ENGLISH_READER, "/popular economy")
    assert "Tenge firms" in economy.text and "Astana hosts" not in economy.text
    # The list failing to load keeps its last order.
    newsroom.feeds.fail("/rss/most-read.xml", "status", code=500)
    await newsroom.poll()
    again = await ask(newsroom.api, ENGLISH_READER, "/popular")
    assert again.text.index("Astana hosts") < again.text.index("Senate holds")
