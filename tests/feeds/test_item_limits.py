"""One feed item the database cannot hold never stops the rest of its feed, on SQLite and
PostgreSQL alike: the same limits (the model columns) are checked where items come in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.feeds.fit import fit_story
from bot.feeds.normalize import StoryDraft
from storage.models import Feed, Story
from tests.entrypoints.telegram.conftest import ENGLISH_READER, newsroom_settings, running_newsroom
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.conversation import subscribe
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
BACKLOG = Item("old-1", "Senate Speaker meets CIS IPA observers", NOW - timedelta(hours=3))
LONG_LINK = "https://www.inform.kz/en/" + "a" * 3000
LONG_IMAGE = "https://static.inform.kz/" + "p" * 3000 + ".jpg"


async def stories(newsroom) -> list[Story]:  # type: ignore[no-untyped-def]
    async with newsroom.core.database.sessions() as session:
        return list((await session.scalars(select(Story).order_by(Story.id))).all())


@pytest.fixture
def fake_api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as api:
        yield api


async def test_a_feed_item_with_a_link_too_long_is_refused_alone(
    tmp_path: Path,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: on PostgreSQL every poll failed (value too long) and nothing was stored."""
    url = feed_server.add("/rss/en.xml", rss([BACKLOG]), etag='"v1"')
    settings = newsroom_settings(tmp_path, fake_api, [url], database_url=database_url)
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        await subscribe(fake_api, ENGLISH_READER, "parliament")
        await newsroom.poll()
        feed_server.add(
            "/rss/en.xml",
            rss(
                [
                    Item("new-1", "Mazhilis passes the budget", NOW - timedelta(minutes=3)),
                    Item("long", "A link no database holds", NOW - timedelta(minutes=2),
                         link=LONG_LINK),
                    Item("new-2", "Senate ratifies the water treaty", NOW - timedelta(minutes=1),
                         image=LONG_IMAGE),
                    BACKLOG,
                ]
            ),
            etag='"v2"',
        )  # fmt: skip
        with caplog.at_level(logging.WARNING, logger="bot.services.intake"):
            await newsroom.poll()
        await newsroom.deliver_all()
        stored = await stories(newsroom)
        async with newsroom.core.database.sessions() as session:
            feed = await session.scalar(select(Feed))
    assert feed is not None and feed.last_status == "ok"
    assert {story.title for story in stored} == {
        BACKLOG.title,
        "Mazhilis passes the budget",
        "Senate ratifies the water treaty",
    }
    assert [story.image_url for story in stored if "water" in story.title] == [None]
    received = " ".join(m.text or m.caption or "" for m in fake_api.messages_to(ENGLISH_READER.id))
    assert "Mazhilis passes the budget" in received
    assert "Senate ratifies the water treaty" in received
    assert "A link no database holds" not in received
    refused = [r.getMessage() for r in caplog.records if "refused: link is 3,0" in r.getMessage()]
    assert len(refused) == 1, caplog.text
    assert "image dropped" in caplog.text


def test_what_can_be_shortened_is_and_what_cannot_is_left_out() -> None:
    draft = StoryDraft(
        identity="guid:1",
        link="https://www.inform.kz/en/1",
        title="Senate ratifies the water treaty",
        summary="",
        image_url=None,
        author="Aigerim " * 50,
        language="en",
        section="parliament",
        published_at=NOW,
        content_hash="h",
        alternates=(("kk", "https://www.inform.kz/kk/1"), ("ru", LONG_LINK)),
    )
    fitted = fit_story(draft)
    assert fitted.draft is not None and fitted.note is not None
    assert len(fitted.draft.author or "") <= 255 and fitted.draft.author.startswith("Aigerim")
    assert fitted.draft.alternates == (("kk", "https://www.inform.kz/kk/1"),)
    assert fit_story(fitted.draft) == type(fitted)(fitted.draft)  # nothing left to change
