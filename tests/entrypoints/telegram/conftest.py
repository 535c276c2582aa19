"""A running newsbot against the fake Bot API (loopback HTTP) and the local feed server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings
from bot.setup.core import Core, open_core
from bot.setup.telegram_side import TelegramSide, telegram_running
from storage import alerts, deliveries, outbox
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.fakes.feed_server import FeedServer

EDITOR = FakeUser(id=111111111, first_name="Aigerim", language_code="kk")
READER = FakeUser(id=222222222, first_name="Ivan", language_code="ru")
ENGLISH_READER = FakeUser(id=333333333, first_name="Anna", language_code="en")
ADMIN = FakeUser(id=444444444, first_name="Dana", language_code="en")
STRANGER = FakeUser(id=555555555, first_name="Mallory", language_code="en")
CHANNEL = FakeChat(id=-1001000000001, type="channel", title="Kazinform Partner")

SECTIONS: list[dict[str, Any]] = [
    {
        "slug": "parliament",
        "title": {"en": "Parliament", "ru": "Парламент", "kk": "Парламент"},
        "categories": ["Parliament", "Парламент"],
    },
    {
        "slug": "economy",
        "title": {"en": "Economy", "ru": "Экономика", "kk": "Экономика"},
        "categories": ["Economy", "Экономика"],
    },
]


@pytest.fixture
def fake_api() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()


@dataclass
class Newsroom:
    """newsbot as deployed: its core, its Telegram side, and the servers it talks to."""

    core: Core
    side: TelegramSide
    api: FakeBotAPI
    feeds: FeedServer
    scheduler: AsyncIOScheduler

    async def poll(self) -> None:
        await self.core.poller.poll_all()

    async def deliver(self) -> None:
        await self.side.dispatcher.tick(budget_seconds=10)

    async def deliver_all(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Tick until nothing is queued (chats paced to one message a second need waits)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await self.deliver()
            async with self.core.database.sessions() as session:
                if await outbox.next_due_at(session) is None:
                    return
            await asyncio.sleep(0.2)
        raise AssertionError("deliveries still queued")


def newsroom_settings(
    tmp_path: Path, api: FakeBotAPI, feed_urls: list[str], **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'newsbot.db'}",
        "bot_api_url": api.base_url,
        "telegram_bot_token": api.token,
        "timezone": "Asia/Almaty",
        "language": "en",
        "editors": [EDITOR.id],
        "sections": SECTIONS,
        "feeds": [{"url": url, "section": "parliament"} for url in feed_urls],
        "long_poll_timeout": 1,
        "private_chat_interval": 0.0,
        "group_messages_per_minute": 60,
        "send_rate": 200.0,
        "parse_workers": 0,
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture
def feed_urls(feed_server: FeedServer) -> list[str]:
    """The newsroom's feeds; tests replace their bodies to publish new stories."""
    from tests.fakes.feed_server import fixture_bytes

    return [feed_server.add("/rss/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')]


@contextlib.asynccontextmanager
async def running_newsroom(
    settings: Settings, api: FakeBotAPI, feeds: FeedServer
) -> AsyncIterator[Newsroom]:
    """newsbot started as `newsbot run` starts it (its scheduler left to the test)."""
    async with open_core(settings) as core:
        scheduler = AsyncIOScheduler(timezone=UTC)
        token = settings.telegram_bot_token
        assert token is not None
        async with telegram_running(core, token.get_secret_value(), scheduler) as side:
            yield Newsroom(core, side, api, feeds, scheduler)


@pytest.fixture
async def newsroom(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    settings = newsroom_settings(tmp_path, fake_api, feed_urls)
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield newsroom


async def queue_breaking(newsroom: Newsroom, text: str) -> int:
    """Breaking news confirmed and queued for every chat that takes it (as /breaking's
    Confirm does); returns the alert's id."""
    now = datetime.now(UTC)
    async with newsroom.core.database.sessions.begin() as session:
        alert = await alerts.create_draft(
            session, editor_id=1, chat_id=1, text=text, link=None, now=now
        )
        await alerts.confirm(session, alert.id, now)
        await deliveries.queue_alert(session, alert.id, now)
    return alert.id
