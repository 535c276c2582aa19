"""newsbot's `run` in this process with its HTTP server on a loopback port, talking to the
fake Bot API; tests speak to it through real HTTP (httpx against uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import run
from bot.config import Settings
from storage.db import Database, create_database
from tests.entrypoints.telegram.conftest import newsroom_settings
from tests.fakes.bot_api import FakeBotAPI, FakeUser
from tests.fakes.feed_server import FeedServer, fixture_bytes

API_TOKEN = "cms-token-7f3a9c1e5b"
OTHER_TOKEN = "cms-second-token-42d1"
READER = FakeUser(id=222222222, first_name="Ivan", language_code="ru")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fake_api() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def feed_urls(feed_server: FeedServer) -> list[str]:
    return [feed_server.add("/rss/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')]


@dataclass
class RunningBot:
    """A running `newsbot run` and what a test needs to reach it."""

    settings: Settings
    api: FakeBotAPI
    base_url: str
    database: Database
    stop: asyncio.Event
    task: asyncio.Task[None]

    def client(self, token: str | None = API_TOKEN) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)

    async def subscribe(self, user: FakeUser = READER, section: str = "parliament") -> None:
        """A reader subscribes through Telegram (long polling) and gets the confirmation."""
        await self.api.wait_until_polling(timeout=10)
        before = len(self.api.messages_to(user.id))
        self.api.send_message(user, f"/subscribe {section}")
        await self.api.wait_until(lambda: len(self.api.messages_to(user.id)) > before, timeout=10)


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, api: FakeBotAPI) -> AsyncIterator[RunningBot]:
    """Start `bot.app.run`, wait until /readyz says ready (the HTTP server answers before
    Telegram is up), stop it (as SIGTERM would) on exit."""
    assert settings.http_port is not None
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    base_url = f"http://127.0.0.1:{settings.http_port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        for _ in range(300):
            if task.done():
                task.result()
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the bot did not become ready")
    database = create_database(settings.database_url)
    try:
        yield RunningBot(settings, api, base_url, database, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await database.dispose()


def http_settings(tmp_path: Path, api: FakeBotAPI, feed_urls: list[str], **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "http_port": free_port(),
        "http_host": "127.0.0.1",
        "api_tokens": [API_TOKEN, OTHER_TOKEN],
        "poll_interval": 1,
    }
    values.update(extra)
    return newsroom_settings(tmp_path, api, feed_urls, **values)


@pytest.fixture
async def bot(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    """newsbot in long-polling mode with the HTTP server and the CMS API on."""
    async with running_bot(http_settings(tmp_path, fake_api, feed_urls), fake_api) as running:
        yield running
