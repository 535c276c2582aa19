"""A chat Telegram answered "retry after N" gets no request for N seconds: not the retried
reply, not an edit, not the fan-out; other chats go on. Through PTB's ExtBot with the bot's
rate limiter (bot/outbound/retry.py) against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.outbound.flood_guard import FloodGuard
from bot.outbound.retry import NO_RETRY, RetryReplies
from tests.fakes.bot_api import FakeBotAPI

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

HELD, OTHER = 4242, 4343
RETRY_AFTER = 2


@pytest.fixture
async def bot(fake_api: FakeBotAPI) -> AsyncIterator[ExtBot]:
    guard = FloodGuard(private_interval=0)  # only the hold decides here
    limiter = RetryReplies(guard)
    async with ExtBot(fake_api.token, base_url=fake_api.ptb_base_url, rate_limiter=limiter) as bot:
        yield bot


def timed(request: Awaitable[object]) -> asyncio.Task[float]:
    """The request under way; its result is the moment it finished."""

    async def run() -> float:
        with contextlib.suppress(RetryAfter):  # the fan-out sees its 429 itself (NO_RETRY)
            await request
        return time.monotonic()

    return asyncio.create_task(run())


async def test_no_request_reaches_a_chat_during_its_retry_after(
    fake_api: FakeBotAPI, bot: ExtBot
) -> None:
    earlier = await bot.send_message(HELD, "an earlier answer")
    fake_api.inject_failures(status=429, ratio=1.0, retry_after=RETRY_AFTER, count=1)
    started = time.monotonic()
    reply = timed(bot.send_message(HELD, "a reply that meets a 429"))
    await fake_api.wait_until(lambda: fake_api.too_many_requests == 1, timeout=5)
    held = [
        timed(bot.edit_message_text("edited", HELD, earlier.message_id)),
        timed(bot.send_message(HELD, "a story from the fan-out", rate_limit_args=NO_RETRY)),
    ]
    other = await timed(bot.send_message(OTHER, "another chat"))
    finished = [await request for request in [reply, *held]]
    assert other - started < 1.0  # another chat is not held
    assert all(at - started >= RETRY_AFTER - 0.05 for at in finished), [
        round(at - started, 2) for at in finished
    ]
    texts = [m.text for m in fake_api.messages_to(HELD)]
    assert "a reply that meets a 429" in texts and "a story from the fan-out" in texts
    assert fake_api.too_many_requests == 1
