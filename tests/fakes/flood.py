"""One user's flood of commands and another user's question, against the fake Bot API.

Shared by tests/entrypoints/telegram/test_flood.py, tests/entrypoints/http/test_webhook_flood.py and
benchmarks/flood.py: the flood arrives by long polling (the fake queues it for getUpdates) or
by POSTs to the bot's webhook, and the question's reply time is what the other user notices.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from tests.fakes.bot_api import FakeBotAPI, FakeUser

FLOOD_COMMANDS = ("/help", "/latest", "/sections")
# The flood is sent in this many slices spread over its duration.
SLICES = 10
# Telegram's connections to a webhook at once (setWebhook max_connections, its default).
WEBHOOK_CONNECTIONS = 40

Send = Callable[[FakeUser, str], Awaitable[None]]


async def flood(send: Send, user: FakeUser, count: int, seconds: float) -> None:
    """`count` commands from `user`, spread evenly over `seconds`."""
    per_slice = max(1, count // SLICES)
    sent = 0
    while sent < count:
        for _ in range(min(per_slice, count - sent)):
            await send(user, FLOOD_COMMANDS[sent % len(FLOOD_COMMANDS)])
            sent += 1
        await asyncio.sleep(seconds / SLICES)


async def reply_time(api: FakeBotAPI, send: Send, user: FakeUser, text: str) -> float:
    """Seconds from `user` sending `text` to the bot's first reply in their chat."""
    before = len(api.messages_to(user.id))
    started = time.time()
    await send(user, text)
    replies = await api.wait_for(lambda m: m.chat_id == user.id, count=before + 1, timeout=30)
    return replies[before].time - started


def polling_sender(api: FakeBotAPI) -> Send:
    """Messages the fake queues for the bot's getUpdates (long polling)."""

    async def send(user: FakeUser, text: str) -> None:
        api.send_message(user, text)

    return send


class WebhookSender:
    """Messages posted to the bot's webhook as Telegram would (at most 40 connections at
    once), each POST's time from leaving to its answer kept."""

    def __init__(self, api: FakeBotAPI, base_url: str, path: str, secret: str):
        self.api = api
        self.url = base_url.rstrip("/") + path
        self.headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        self.answer_times: list[float] = []
        self.statuses: list[int] = []
        self._posts: set[asyncio.Task[None]] = set()
        self._client: aiohttp.ClientSession | None = None

    async def __call__(self, user: FakeUser, text: str) -> None:
        self.api.send_message(user, text)
        update = self.api.last_pending_update()
        task = asyncio.create_task(self._post(update))
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)

    async def __aenter__(self) -> WebhookSender:
        # aiohttp, not httpx: a light client, so the test's side of a flood (in the bot's own
        # process) costs the bot little; Telegram's 40 connections at most.
        connector = aiohttp.TCPConnector(limit=WEBHOOK_CONNECTIONS)
        self._client = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.settle()
        if self._client is not None:
            await self._client.close()

    async def _post(self, update: dict[str, Any]) -> None:
        assert self._client is not None, "use `async with WebhookSender(...)`"
        started = time.monotonic()
        async with self._client.post(self.url, json=update, headers=self.headers) as answer:
            await answer.read()
            self.statuses.append(answer.status)
        self.answer_times.append(time.monotonic() - started)

    async def settle(self) -> None:
        """Wait for every POST in flight to be answered."""
        if self._posts:
            await asyncio.gather(*self._posts)
