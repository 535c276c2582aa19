"""Webhook mode: Telegram's updates arrive by POST, only with the secret token."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from bot.entrypoints.telegram.application import ALLOWED_UPDATES
from tests.entrypoints.http.conftest import READER, http_settings, running_bot
from tests.entrypoints.telegram.conftest import ENGLISH_READER
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer

URL = "https://newsbot.example.org/tg/updates"
SECRET = "hook-secret-5d81c0e2"


def last_update(api: FakeBotAPI) -> dict[str, Any]:
    return api.pending_updates()[-1]


def set_webhook_params(api: FakeBotAPI) -> dict[str, Any]:
    calls = [params for method, params in api.requests if method == "setWebhook"]
    assert len(calls) == 1
    return calls[0]


async def test_webhook_takes_updates_only_with_the_secret(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> None:
    settings = http_settings(tmp_path, fake_api, feed_urls, webhook_url=URL, webhook_secret=SECRET)
    async with running_bot(settings, fake_api) as bot:
        # The server is up (healthz) just before the webhook is registered.
        await fake_api.wait_until(lambda: fake_api.webhook_url == URL, timeout=10)
        params = set_webhook_params(fake_api)
        assert params["secret_token"] == SECRET
        assert sorted(params["allowed_updates"]) == sorted(ALLOWED_UPDATES)
        assert not [m for m, _ in fake_api.requests if m == "getUpdates"]

        fake_api.send_message(READER, "/subscribe parliament")
        update = last_update(fake_api)
        async with httpx.AsyncClient(base_url=bot.base_url) as client:
            missing = await client.post("/tg/updates", json=update)
            wrong = await client.post(
                "/tg/updates",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1] + "x"},
            )
            assert missing.status_code == 401 and wrong.status_code == 401
            assert SECRET not in missing.text + wrong.text
            await asyncio.sleep(0.5)
            assert fake_api.messages_to(READER.id) == []  # the refused update did nothing

            accepted = await client.post(
                "/tg/updates", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert accepted.status_code == 200
            await fake_api.wait_for(lambda m: m.chat_id == READER.id, timeout=10)
            # Only the configured path is the webhook.
            other = await client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert other.status_code in (404, 405)


async def test_a_generated_secret_is_registered_and_required(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> None:
    settings = http_settings(tmp_path, fake_api, feed_urls, webhook_url=URL)
    async with running_bot(settings, fake_api) as bot:
        await fake_api.wait_until(lambda: fake_api.webhook_url == URL, timeout=10)
        secret = set_webhook_params(fake_api)["secret_token"]
        assert isinstance(secret, str) and len(secret) >= 32
        fake_api.send_message(ENGLISH_READER, "/start")
        update = last_update(fake_api)
        async with httpx.AsyncClient(base_url=bot.base_url) as client:
            refused = await client.post("/tg/updates", json=update)
            assert refused.status_code == 401
            taken = await client.post(
                "/tg/updates", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            )
            assert taken.status_code == 200
        await fake_api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id, timeout=10)


async def test_an_admin_who_only_sent_channels_by_webhook_can_be_told_about_their_chats(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> None:
    """/channels alone registers the sender's private chat (the notices' way to them)."""
    from storage.destinations import private_chats_of

    settings = http_settings(tmp_path, fake_api, feed_urls, webhook_url=URL, webhook_secret=SECRET)
    async with running_bot(settings, fake_api) as bot:
        await fake_api.wait_until(lambda: fake_api.webhook_url == URL, timeout=10)
        fake_api.send_message(ENGLISH_READER, "/channels")
        async with httpx.AsyncClient(base_url=bot.base_url) as client:
            accepted = await client.post(
                "/tg/updates",
                json=last_update(fake_api),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
        assert accepted.status_code == 200
        await fake_api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id, timeout=10)
        async with bot.database.sessions() as session:
            reachable = await private_chats_of(session, [ENGLISH_READER.id], limit=5)
    assert reachable == [(ENGLISH_READER.id, "en")]
