"""Latency benchmark: from a story appearing in a feed to its delivery, with a 5 s poll.

A local feed server publishes a new story every few seconds; newsbot runs as deployed
(scheduler, poller, delivery tick) against the fake Bot API; each story's delay from
publication to arrival at a subscribed reader is measured.

    python benchmarks/latency.py [--stories 20] [--poll-interval 5]

Target: p95 <= poll interval + 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.setup.core import open_core
from bot.setup.jobs import schedule_polling
from bot.setup.logs import configure_logging
from bot.setup.scheduling import wake_delivery
from bot.setup.telegram_side import telegram_running
from storage import destinations
from storage.destinations import ChatInfo
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

READER = 4242


async def run(stories: int, interval: int) -> list[float]:
    feeds = FeedServer()
    items = [Item("seed", "Archive story", datetime.now(UTC) - timedelta(hours=1))]
    url = feeds.add("/en.xml", rss(items))
    with FakeBotAPI() as api, tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            database_url=f"sqlite:///{scratch}/latency.db",
            bot_api_url=api.base_url,
            telegram_bot_token=api.token,
            sections=[{"slug": "politics", "title": "Politics", "categories": ["Politics"]}],
            feeds=[{"url": url, "section": "politics", "poll_interval": interval}],
            long_poll_timeout=1,
        )
        async with open_core(settings) as core:
            async with core.database.sessions.begin() as session:
                reader = await destinations.ensure_destination(
                    session, ChatInfo(chat_id=READER, kind="private"), datetime.now(UTC)
                )
                await destinations.subscribe(session, reader.id, "politics", datetime.now(UTC))
            scheduler = AsyncIOScheduler(timezone=UTC)
            async with telegram_running(core, api.token, scheduler):
                await schedule_polling(core, scheduler, lambda: wake_delivery(scheduler))
                scheduler.start()
                await asyncio.sleep(interval + 1)  # the first poll stores the backlog
                delays = []
                for n in range(stories):
                    await asyncio.sleep(random.uniform(0.5, interval))
                    title = f"Story {n} of the latency run"
                    items.insert(0, Item(f"s{n}", title, datetime.now(UTC)))
                    feeds.add("/en.xml", rss(items))
                    published = time.time()
                    (message,) = await api.wait_for(
                        lambda m, t=title: t in m.text, timeout=interval * 4
                    )
                    delays.append(message.time - published)
                # As `newsbot run` stops: no new tick, and the one running (nothing left to
                # send, so a few milliseconds) ends before the bot closes under it.
                scheduler.pause()
                await asyncio.sleep(0.5)
                scheduler.shutdown(wait=False)
    feeds.close()
    return delays


def main() -> None:
    configure_logging(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20)
    parser.add_argument("--poll-interval", type=int, default=5)
    args = parser.parse_args()
    delays = sorted(asyncio.run(run(args.stories, args.poll_interval)))
    p95 = delays[max(0, int(len(delays) * 0.95) - 1)]
    print(f"stories: {len(delays)}, poll interval: {args.poll_interval} s")
    print(
        f"feed-to-chat delay: p50 {statistics.median(delays):.2f} s, p95 {p95:.2f} s, "
        f"max {delays[-1]:.2f} s (target p95 <= {args.poll_interval + 2} s)"
    )


if __name__ == "__main__":
    main()
