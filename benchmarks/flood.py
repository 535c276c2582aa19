"""Flood benchmark: another user's reply time while one user sends 300 commands in 0.5 s.

newsbot runs as deployed against the fake Bot API with Telegram's flood limits enforced
(30 messages a second, one a second to a private chat). Each round a new user floods the
bot with 300 commands (/help, /latest, /sections) in half a second, by long polling or
posted to the webhook (over Telegram's 40 connections); meanwhile other users send /help at
the flood's start, middle and end, and the time to each one's reply is measured.

    python benchmarks/flood.py [--mode polling|webhook|both] [--rounds 10] [--postgres-url URL]

Target: p95 of another user's reply time under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import run
from bot.config import Settings
from bot.setup.core import open_core
from bot.setup.logs import configure_logging
from bot.setup.telegram_side import telegram_running
from tests.fakes.bot_api import FakeBotAPI, FakeUser
from tests.fakes.feed_server import FeedServer
from tests.fakes.flood import Send, WebhookSender, flood, polling_sender, reply_time
from tests.fakes.rss import Item, rss

FLOOD = 300
FLOOD_SECONDS = 0.5
WEBHOOK_PATH = "/tg/updates"
WEBHOOK_SECRET = "flood-benchmark-secret"


@dataclass
class Figures:
    replies: list[float] = field(default_factory=list)  # another user's reply times
    posts: list[float] = field(default_factory=list)  # webhook POSTs' answer times
    errors: int = 0  # "Something went wrong" sent to anyone
    too_many_requests: int = 0  # 429s the fake answered


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(api: FakeBotAPI, feed_url: str, database_url: str, webhook: bool) -> Settings:
    extra: dict[str, object] = {}
    if webhook:
        extra = {
            "http_port": _free_port(),
            "http_host": "127.0.0.1",
            "webhook_url": f"https://newsbot.example.org{WEBHOOK_PATH}",
            "webhook_secret": WEBHOOK_SECRET,
        }
    return Settings(
        database_url=database_url,
        bot_api_url=api.base_url,
        telegram_bot_token=api.token,
        sections=[{"slug": "politics", "title": "Politics", "categories": ["Politics"]}],
        feeds=[{"url": feed_url, "section": "politics"}],
        long_poll_timeout=1,
        private_chat_interval=1.0,
        send_rate=29.0,
        **extra,
    )


@contextlib.asynccontextmanager
async def _polling_bot(settings: Settings) -> AsyncIterator[None]:
    async with open_core(settings) as core:
        scheduler = AsyncIOScheduler(timezone=UTC)
        async with telegram_running(
            core, settings.telegram_bot_token.get_secret_value(), scheduler
        ):  # type: ignore[union-attr]
            yield


@contextlib.asynccontextmanager
async def _webhook_bot(settings: Settings, api: FakeBotAPI) -> AsyncIterator[str]:
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    try:
        await api.wait_until(lambda: bool(api.webhook_url), timeout=30)
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _rounds(api: FakeBotAPI, send: Send, rounds: int, figures: Figures) -> None:
    for n in range(rounds):
        flooder = FakeUser(id=700_000_000 + n, first_name=f"Flood{n}", language_code="en")
        flooding = asyncio.create_task(flood(send, flooder, FLOOD, FLOOD_SECONDS))
        for k in range(3):  # at the flood's start, middle and end
            asker = FakeUser(id=800_000_000 + 10 * n + k, first_name="Asker", language_code="en")
            figures.replies.append(await reply_time(api, send, asker, "/help"))
            await asyncio.sleep(FLOOD_SECONDS / 2)
        await flooding
        await asyncio.sleep(1.0)
    figures.errors = sum("Something went wrong" in m.text for m in api.sent)
    figures.too_many_requests = api.too_many_requests


async def _webhook_rounds(api: FakeBotAPI, base_url: str, rounds: int, figures: Figures) -> None:
    async with WebhookSender(api, base_url, WEBHOOK_PATH, WEBHOOK_SECRET) as sender:
        await _rounds(api, sender, rounds, figures)
        await sender.settle()
        figures.posts = sender.answer_times


async def measure(mode: str, rounds: int, database_url: str | None) -> Figures:
    figures = Figures()
    feeds = FeedServer()
    url = feeds.add(
        "/en.xml", rss([Item("seed", "Archive", datetime.now(UTC) - timedelta(hours=1))])
    )
    api = FakeBotAPI(enforce_rate_limits=True, rate_limit_global=30, per_chat_rate=1.0)
    with api, tempfile.TemporaryDirectory() as scratch:
        database = database_url or f"sqlite:///{scratch}/flood.db"
        settings = _settings(api, url, database, webhook=mode == "webhook")
        if mode == "webhook":
            async with _webhook_bot(settings, api) as base_url:
                await _webhook_rounds(api, base_url, rounds, figures)
        else:
            async with _polling_bot(settings):
                await api.wait_until_polling(timeout=10)
                await _rounds(api, polling_sender(api), rounds, figures)
    feeds.close()
    return figures


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


def report(mode: str, database: str, figures: Figures) -> None:
    replies = figures.replies
    print(
        f"{mode:8} {database:10} another user's /help under a {FLOOD}-command flood "
        f"({len(replies)} asked): p50 {statistics.median(replies):.2f} s, "
        f"p95 {_percentile(replies, 0.95):.2f} s, max {max(replies):.2f} s"
    )
    if figures.posts:
        print(
            f"{'':19} webhook POSTs ({len(figures.posts)}): p50 "
            f"{statistics.median(figures.posts) * 1000:.0f} ms, "
            f"p95 {_percentile(figures.posts, 0.95) * 1000:.0f} ms, "
            f"max {max(figures.posts) * 1000:.0f} ms"
        )
    print(f"{'':19} 'Something went wrong': {figures.errors}, 429s: {figures.too_many_requests}")


def main() -> None:
    configure_logging(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("polling", "webhook", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--postgres-url", default=None, help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    modes = ("polling", "webhook") if args.mode == "both" else (args.mode,)
    database = "postgresql" if args.postgres_url else "sqlite"
    for mode in modes:
        started = time.monotonic()
        figures = asyncio.run(measure(mode, args.rounds, args.postgres_url))
        report(mode, database, figures)
        logging.getLogger(__name__).info("%s took %.0f s", mode, time.monotonic() - started)


if __name__ == "__main__":
    main()
