"""newsbot running against the fake Bot API, for the delivery tests (see
tests/entrypoints/telegram, whose
fake Bot API and newsroom fixtures these tests share)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import destinations
from storage.destinations import ChatInfo
from tests.entrypoints.telegram.conftest import (
    Newsroom,
    fake_api,
    feed_urls,
    newsroom,
    newsroom_settings,
    queue_breaking,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, SentMessage
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

__all__ = ["fake_api", "feed_urls", "newsroom"]

NOW = datetime.now(UTC).replace(microsecond=0)
BACKLOG = Item("old", "Old story", NOW - timedelta(hours=1))


@pytest.fixture
def strict_api() -> Iterator[FakeBotAPI]:
    """Telegram's flood limits enforced: 30 a second overall, one a second per reader."""
    with FakeBotAPI(enforce_rate_limits=True, rate_limit_global=30, group_per_minute=20) as api:
        yield api


@pytest.fixture
async def paced_newsroom(
    tmp_path: Path, strict_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    """newsbot paced as deployed (28 a second, a reader once a second, a group 20 a minute),
    its backlog polled."""
    url = feed_server.add("/en.xml", rss([BACKLOG]))
    settings = newsroom_settings(
        tmp_path,
        strict_api,
        [url],
        send_rate=28.0,
        private_chat_interval=1.0,
        group_messages_per_minute=20,
    )
    async with running_newsroom(settings, strict_api, feed_server) as newsroom:
        await newsroom.poll()  # the backlog: stored, never pushed
        yield newsroom


async def add_readers(newsroom: Newsroom, chat_ids: Iterable[int]) -> None:
    """Readers of "parliament" in the English edition, as /start and /subscribe leave them."""
    async with newsroom.core.database.sessions.begin() as session:
        for chat_id in chat_ids:
            reader = await destinations.ensure_destination(
                session, ChatInfo(chat_id=chat_id, kind="private", editions=("en",)), NOW
            )
            await destinations.subscribe(session, reader.id, "parliament", NOW)


async def breaking_mid_backlog(
    newsroom: Newsroom, readers: Iterable[int], stories: list[Item], text: str
) -> tuple[float, list[SentMessage]]:
    """Readers with `stories` waiting; once the first ten messages are out, breaking news
    `text` is queued; everything is then delivered. Returns when the alert was queued and
    every message the readers got."""
    readers = list(readers)
    await add_readers(newsroom, readers)
    newsroom.feeds.add("/en.xml", rss([*stories, BACKLOG]))
    await newsroom.poll()
    sending = asyncio.create_task(newsroom.deliver_all(timeout=30))
    await newsroom.api.wait_until(lambda: len(newsroom.api.sent) >= 10, timeout=10)
    queued_at = datetime.now(UTC).timestamp()
    await queue_breaking(newsroom, text)
    await sending
    await newsroom.deliver_all(timeout=30)
    return queued_at, [m for m in newsroom.api.sent if m.chat_id in readers]
