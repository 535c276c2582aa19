"""Forged callback data and deep links posted to the webhook: refused the same way as by
long polling (tests/entrypoints/telegram/test_forged_input.py), nothing changed, no traceback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Destination, Subscription
from tests.entrypoints.http.conftest import http_settings, running_bot
from tests.entrypoints.http.test_webhook_updates import post
from tests.entrypoints.telegram.conftest import ENGLISH_READER
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer

URL = "https://newsbot.example.org/tg/updates"
SECRET = "hook-secret-5d81c0e2"
NO_LONGER_VALID = "This button is no longer valid. Please send the command again."
HUGE = "9" * 23


async def test_forged_presses_and_links_on_the_webhook_change_nothing(
    tmp_path: Path,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_urls: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = http_settings(tmp_path, fake_api, feed_urls, webhook_url=URL, webhook_secret=SECRET)
    async with running_bot(settings, fake_api) as bot:
        await fake_api.wait_until(lambda: fake_api.webhook_url == URL, timeout=10)
        fake_api.send_message(ENGLISH_READER, "/subscribe")
        assert (await post(bot.base_url, fake_api.last_pending_update())).status_code == 200
        (keyboard,) = await fake_api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id)
        forged = [f"rel:{HUGE}", f"ch:{HUGE}", "sub:parliament:extra", "sub:parliament ", "ap:ok:٧"]
        with caplog.at_level(logging.WARNING):
            for data in forged:
                fake_api.press_button(ENGLISH_READER, keyboard, data)
                assert (await post(bot.base_url, fake_api.last_pending_update())).status_code == 200
            await fake_api.wait_until(lambda: len(fake_api.callback_answers) >= len(forged))
            fake_api.send_message(ENGLISH_READER, "/start en-sub_politics'--")
            assert (await post(bot.base_url, fake_api.last_pending_update())).status_code == 200
            replies = await fake_api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id, count=3)
            await asyncio.sleep(0.3)
        assert [a["text"] for a in fake_api.callback_answers] == [NO_LONGER_VALID] * len(forged)
        assert "There is no section “politics'--”" in replies[1].text
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        async with bot.database.sessions() as session:
            subscribed = await session.scalars(
                select(Subscription.section)
                .join(Destination, Destination.id == Subscription.destination_id)
                .where(Destination.chat_id == ENGLISH_READER.id)
            )
            assert list(subscribed) == []
