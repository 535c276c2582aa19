"""A most-read feed (role = "popular") over local HTTP: its order is kept, never its items."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.config import Settings
from bot.setup.core import Core, open_core
from storage import most_read
from storage.models import Feed, MostReadRank, Story
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
STORIES = [Item(name, f"Story {name}", NOW - timedelta(minutes=n)) for n, name in enumerate("abc")]


def settings_for(database_url: str, news: str, popular: str) -> Settings:
    return Settings(
        database_url=database_url,
        feeds=[{"url": news}, {"url": popular, "role": "popular"}],
        fetch_timeout=2.0,
        parse_workers=0,
    )


def listed(*names: str, tag: str = "") -> list[Item]:
    """A most-read list: links to the stories (tagged as newsrooms tag them), own guids."""
    return [
        Item(
            f"top-{name}",
            f"Most read: {name}",
            NOW - timedelta(hours=1),
            link=f"https://WWW.inform.kz/en/{name}?utm_source=most_read{tag}#top",
        )
        for name in names
    ]


def json_feed(*names: str) -> bytes:
    items = [
        {"id": f"top-{name}", "url": f"https://www.inform.kz/en/{name}", "title": name}
        for name in names
    ]
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "Most read", "items": items}
    return json.dumps(document).encode()


async def kept_order(core: Core) -> list[str | None]:
    async with core.database.sessions() as session:
        feed_id = await session.scalar(select(Feed.id).where(Feed.role == "popular"))
        assert feed_id is not None
        rows = await most_read.current_list(session, feed_id)
    return [row.link.rsplit("/", 1)[-1] if row.link else None for row in rows]


async def poll(core: Core, url: str) -> str:
    outcomes = {outcome.url: outcome for outcome in await core.poller.poll_all()}
    return outcomes[url].status


async def test_failed_empty_or_unchanged_polls_keep_the_last_order(
    feed_server: FeedServer, database_url: str
) -> None:
    news = feed_server.add("/rss.xml", rss(STORIES), etag='"n1"')
    popular = feed_server.add("/popular.xml", rss(listed("c", "a", "b")), etag='"p1"')
    async with open_core(settings_for(database_url, news, popular)) as core:
        outcomes = {outcome.url: outcome for outcome in await core.poller.poll_all()}
        first = outcomes[popular]
        assert (first.status, first.new, first.ranked, first.pushable_ids) == ("ok", 0, 3, [])
        # Tracking parameters, fragment and host case go the way they go for stories.
        assert await kept_order(core) == ["c", "a", "b"]
        assert await poll(core, popular) == "not_modified"
        feed_server.fail("/popular.xml", "status", code=503)
        assert await poll(core, popular) == "http_5xx"
        feed_server.fail("/popular.xml", "empty")
        assert await poll(core, popular) == "empty_body"
        feed_server.add("/popular.xml", rss([]), etag='"p2"')  # a valid feed listing nothing
        assert await poll(core, popular) == "ok"
        assert await kept_order(core) == ["c", "a", "b"]
        # The same parsers as news: a JSON Feed list replaces the order whole.
        feed_server.add(
            "/popular.xml", json_feed("b", "a"), content_type="application/feed+json", etag='"p3"'
        )
        assert await poll(core, popular) == "ok"
        assert await kept_order(core) == ["b", "a"]
        async with core.database.sessions() as session:
            links = (await session.scalars(select(Story.link).order_by(Story.link))).all()
            feed = await session.scalar(select(Feed).where(Feed.url == popular))
            rows = (await session.scalars(select(MostReadRank))).all()
    assert links == [f"https://www.inform.kz/en/{name}" for name in "abc"]  # news only
    assert feed is not None and feed.last_status == "ok" and not feed.backlog_done
    assert [row.observed_at > NOW - timedelta(minutes=1) for row in rows] == [True, True]
