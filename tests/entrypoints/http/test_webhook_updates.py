"""Webhook updates once and whole: a repeated update_id is answered 200 and dropped (across
restarts, so in the database), an update the handlers cannot take is dropped at the door
with its reason, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.entrypoints.http.update_checks import REQUIRED
from bot.entrypoints.http.webhook import DROPPED_HEADER
from bot.entrypoints.telegram.application import ALLOWED_UPDATES
from storage.models import WebhookUpdate
from tests.conftest import postgres_skip_reason, postgres_url, reset_postgres
from tests.entrypoints.http.conftest import READER, http_settings, running_bot
from tests.entrypoints.http.test_webhook import SECRET, URL, last_update
from tests.entrypoints.telegram.conftest import ENGLISH_READER
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer

PATH = "/tg/updates"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def webhook_settings(tmp_path: Path, api: FakeBotAPI, feed_urls: list[str], database_url: str):  # type: ignore[no-untyped-def]
    return http_settings(
        tmp_path,
        api,
        feed_urls,
        webhook_url=URL,
        webhook_secret=SECRET,
        database_url=database_url,
    )


async def post(base_url: str, update: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        return await client.post(PATH, json=update, headers=HEADERS)


@pytest.fixture
def shared_postgres() -> str:
    """An empty PostgreSQL database for two instances at once (skipped without one)."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    url = postgres_url()
    asyncio.run(reset_postgres(url))
    return url


async def test_two_instances_take_an_update_posted_to_both_once(
    tmp_path: Path,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_urls: list[str],
    shared_postgres: str,
) -> None:
    """Behind one URL, Telegram's repeat may reach the other instance: PostgreSQL decides."""
    url = shared_postgres
    first = webhook_settings(tmp_path / "a", fake_api, feed_urls, url)
    second = webhook_settings(tmp_path / "b", fake_api, feed_urls, url)
    fake_api.send_message(ENGLISH_READER, "/help")
    update = last_update(fake_api)
    async with running_bot(first, fake_api) as one, running_bot(second, fake_api) as other:
        answers = await asyncio.gather(
            *(post(bot.base_url, update) for bot in (one, other, one, other))
        )
        assert [answer.status_code for answer in answers] == [200] * 4
        assert sum(DROPPED_HEADER.lower() not in answer.headers for answer in answers) == 1
        await fake_api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id, timeout=10)
        await asyncio.sleep(0.5)
        assert len(fake_api.messages_to(ENGLISH_READER.id)) == 1


def test_the_door_knows_every_kind_of_update_the_bot_asks_for() -> None:
    assert sorted(REQUIRED) == sorted(ALLOWED_UPDATES)


async def test_an_update_posted_again_is_answered_once_across_restarts(
    tmp_path: Path,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_urls: list[str],
    database_url: str,
) -> None:
    settings = webhook_settings(tmp_path, fake_api, feed_urls, database_url)
    fake_api.send_message(ENGLISH_READER, "/help")
    update = last_update(fake_api)
    async with running_bot(settings, fake_api) as bot:
        await fake_api.wait_until(lambda: fake_api.webhook_url == URL, timeout=10)
        answers = [await post(bot.base_url, update) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert DROPPED_HEADER.lower() not in answers[0].headers
        assert all("already taken" in a.headers[DROPPED_HEADER] for a in answers[1:])
        await fake_api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id, timeout=10)
        await asyncio.sleep(0.5)
        assert len(fake_api.messages_to(ENGLISH_READER.id)) == 1
    # Telegram posts it once more to the restarted bot (or another instance): still once.
    async with running_bot(settings, fake_api) as bot:
        again = await post(bot.base_url, update)
        assert again.status_code == 200 and "already taken" in again.headers[DROPPED_HEADER]
        fake_api.send_message(ENGLISH_READER, "/help")
        fresh = await post(bot.base_url, last_update(fake_api))
        assert fresh.status_code == 200 and DROPPED_HEADER.lower() not in fresh.headers
        await fake_api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id, count=2, timeout=10)
        await asyncio.sleep(0.5)
        assert len(fake_api.messages_to(ENGLISH_READER.id)) == 2
        async with bot.database.sessions() as session:
            taken = await session.scalar(select(func.count()).select_from(WebhookUpdate))
        assert taken == 2


async def test_an_update_the_handlers_cannot_take_is_dropped_at_the_door(
    tmp_path: Path,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_urls: list[str],
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = webhook_settings(tmp_path, fake_api, feed_urls, database_url)
    fake_api.send_message(READER, "/subscribe parliament")
    update = last_update(fake_api)
    chatless = {"update_id": update["update_id"] + 1, "message": dict(update["message"])}
    del chatless["message"]["chat"]
    senderless = {"update_id": update["update_id"] + 2, "message": dict(update["message"])}
    del senderless["message"]["from"]
    presser_missing = {
        "update_id": update["update_id"] + 3,
        "callback_query": {"id": "77", "chat_instance": "1", "data": "sec:parliament"},
    }
    nothing = {"update_id": update["update_id"] + 4}
    async with running_bot(settings, fake_api) as bot:
        await fake_api.wait_until(lambda: fake_api.webhook_url == URL, timeout=10)
        with caplog.at_level(logging.WARNING):
            for forged, reason in [
                (chatless, "message without chat"),
                (senderless, "message without from"),
                (presser_missing, "callback_query without from"),
                (nothing, "no kind of update this bot takes"),
            ]:
                answer = await post(bot.base_url, forged)
                assert answer.status_code == 200, answer.text
                assert answer.headers[DROPPED_HEADER] == reason
                assert answer.content == b""
            # The real update still goes through, after all that.
            assert (await post(bot.base_url, update)).status_code == 200
            await fake_api.wait_for(lambda m: m.chat_id == READER.id, timeout=10)
            await asyncio.sleep(0.5)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
        assert len(dropped) == 4 and "message without chat" in dropped[0]
        assert len(fake_api.messages_to(READER.id)) == 1
