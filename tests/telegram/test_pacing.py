"""The sender stays under Telegram's limits instead of running into them."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import open_core, telegram_running
from storage import destinations
from storage.destinations import ChatInfo
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss
from tests.telegram.conftest import Newsroom, newsroom_settings

NOW = datetime.now(UTC).replace(microsecond=0)
READERS = range(10_000, 10_060)


@pytest.fixture
def strict_api() -> AsyncIterator[FakeBotAPI]:
    with FakeBotAPI(enforce_rate_limits=True, rate_limit_global=30, group_per_minute=20) as api:
        yield api


@pytest.fixture
async def paced_newsroom(
    tmp_path: Path, strict_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    url = feed_server.add("/en.xml", rss([Item("old", "Old story", NOW - timedelta(hours=1))]))
    settings = newsroom_settings(
        tmp_path,
        strict_api,
        [url],
        send_rate=28.0,
        private_chat_interval=1.0,
        group_messages_per_minute=20,
    )
    async with open_core(settings) as core:
        scheduler = AsyncIOScheduler(timezone=UTC)
        async with telegram_running(core, strict_api.token, scheduler) as side:
            yield Newsroom(core, side, strict_api, feed_server, scheduler)


async def _readers(newsroom: Newsroom) -> None:
    async with newsroom.core.database.sessions.begin() as session:
        for chat_id in READERS:
            reader = await destinations.ensure_destination(
                session, ChatInfo(chat_id=chat_id, kind="private"), NOW
            )
            await destinations.subscribe(session, reader.id, "parliament", NOW)


async def test_fan_out_to_sixty_readers_meets_no_429(paced_newsroom: Newsroom) -> None:
    await _readers(paced_newsroom)
    await paced_newsroom.poll()
    paced_newsroom.feeds.add(
        "/en.xml", rss([Item("new", "Budget adopted", NOW), Item("old", "Old story", NOW)])
    )
    await paced_newsroom.poll()
    started = time.monotonic()
    await paced_newsroom.deliver_all()
    elapsed = time.monotonic() - started
    received = {m.chat_id for m in paced_newsroom.api.sent if "Budget" in m.text}
    assert received == set(READERS)
    assert paced_newsroom.api.too_many_requests == 0
    assert elapsed >= 59 / 28 * 0.9  # paced, not bursted


async def test_several_stories_to_one_chat_are_spaced_a_second_apart(
    paced_newsroom: Newsroom,
) -> None:
    async with paced_newsroom.core.database.sessions.begin() as session:
        reader = await destinations.ensure_destination(
            session, ChatInfo(chat_id=42, kind="private"), NOW
        )
        await destinations.subscribe(session, reader.id, "parliament", NOW)
    await paced_newsroom.poll()
    paced_newsroom.feeds.add(
        "/en.xml",
        rss([Item(f"n{i}", f"Story number {i}", NOW - timedelta(seconds=i)) for i in range(3)]),
    )
    await paced_newsroom.poll()
    await paced_newsroom.deliver_all()
    times = [m.time for m in paced_newsroom.api.messages_to(42)]
    assert len(times) == 3 and paced_newsroom.api.too_many_requests == 0
    assert all(later - earlier >= 0.95 for earlier, later in itertools.pairwise(times))
