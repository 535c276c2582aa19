"""One reader's flood (300 commands in half a second, by long polling) holds up nobody else.

Before: PTB's 16 places filled with the flooder's updates, each reply met Telegram's one
message a second to a private chat (500+ 429s), another user's /help waited over 30 s and
the flooder got "Something went wrong" 9 times. Now each user has a lane (bot/outbound/
lanes.py): the flood is held to a short backlog of its own, answered a second apart, told
once to slow down, and another user is answered within 2 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.entrypoints.telegram.lanes import BACKLOG
from tests.entrypoints.telegram.conftest import (
    ENGLISH_READER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeUser
from tests.fakes.feed_server import FeedServer
from tests.fakes.flood import flood, polling_sender, reply_time

FLOODER = FakeUser(id=666666666, first_name="Flood", language_code="en")
SLOW_DOWN = "You are sending too much too fast."
SOMETHING_WRONG = "Something went wrong"


def enforcing_api() -> FakeBotAPI:
    """The fake with Telegram's flood limits on: 30 a second, one a second to a user."""
    return FakeBotAPI(enforce_rate_limits=True, rate_limit_global=30, per_chat_rate=1.0)


@pytest.fixture
async def paced(
    tmp_path: Path, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    """newsbot as deployed: Telegram's pace for private chats (one a second)."""
    api = enforcing_api()
    api.start()
    try:
        settings = newsroom_settings(
            tmp_path, api, feed_urls, private_chat_interval=1.0, send_rate=29.0
        )
        async with running_newsroom(settings, api, feed_server) as newsroom:
            await api.wait_until_polling(timeout=10)
            yield newsroom
    finally:
        api.stop()


def texts_to(api: FakeBotAPI, user: FakeUser) -> list[str]:
    return [m.plain_text or m.text for m in api.messages_to(user.id)]


async def assert_the_flood_was_contained(api: FakeBotAPI) -> None:
    """The flooder: answers a second apart (no 429), one "slow down", no error, and no more
    answers than their backlog (the rest of the 300 dropped)."""
    await api.wait_until(lambda: any(SLOW_DOWN in t for t in texts_to(api, FLOODER)), timeout=5)
    await asyncio.sleep(2.0)  # a second slow-down would be here by now
    texts = texts_to(api, FLOODER)
    assert sum(SLOW_DOWN in text for text in texts) == 1, texts
    assert not [text for text in texts if SOMETHING_WRONG in text]
    assert len(texts) <= BACKLOG + 1, texts
    assert api.too_many_requests == 0, api.stats()


async def test_one_users_flood_leaves_another_answered_within_two_seconds(
    paced: Newsroom,
) -> None:
    api = paced.api
    send = polling_sender(api)
    await flood(send, FLOODER, 300, 0.5)
    waited = await reply_time(api, send, ENGLISH_READER, "/help")
    assert waited < 2.0, f"another user's /help waited {waited:.1f}s"
    await assert_the_flood_was_contained(api)
