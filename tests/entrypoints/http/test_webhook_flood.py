"""One user's flood posted to the webhook: every POST is answered at once (the route never
waits for a handler) and another user's /help within 2 s. Before: 23.8 s on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.entrypoints.http.conftest import http_settings, running_bot
from tests.entrypoints.http.test_webhook import SECRET, URL
from tests.entrypoints.telegram.conftest import ENGLISH_READER
from tests.entrypoints.telegram.test_flood import FLOODER, assert_the_flood_was_contained
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.flood import WebhookSender, flood, reply_time


async def test_a_flood_on_the_webhook_is_answered_at_once_and_holds_up_nobody(
    tmp_path: Path,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_urls: list[str],
    database_url: str,
) -> None:
    fake_api.enforce_rate_limits = True  # Telegram's limits: 30 a second, one a second to a user
    fake_api.rate_limit_global = 30
    settings = http_settings(
        tmp_path,
        fake_api,
        feed_urls,
        webhook_url=URL,
        webhook_secret=SECRET,
        database_url=database_url,
        private_chat_interval=1.0,
        send_rate=29.0,
    )
    async with running_bot(settings, fake_api) as bot:
        await fake_api.wait_until(lambda: fake_api.webhook_url == URL, timeout=10)
        async with WebhookSender(fake_api, bot.base_url, "/tg/updates", SECRET) as send:
            await flood(send, FLOODER, 300, 0.5)
            waited = await reply_time(fake_api, send, ENGLISH_READER, "/help")
            await send.settle()
        assert waited < 2.0, f"another user's /help waited {waited:.1f}s"
        assert send.statuses == [200] * 301
        slowest = max(send.answer_times)
        assert slowest < 1.0, f"a webhook POST waited {slowest:.2f}s"
        await assert_the_flood_was_contained(fake_api)
