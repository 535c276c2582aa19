"""Builds newsbot from its settings and wires the pieces together; owns their lifecycle.

Everything is created here, once, and passed down: the database, the HTTP client, the
fetcher, the extractor, the poller and the scheduler. Nothing is a module global.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings
from bot.feeds.extract import Extractor
from bot.feeds.fetcher import Fetcher, build_http_client, default_user_agent
from bot.feeds.normalize import build_category_map
from bot.feeds.poller import Poller
from bot.scheduling import PollSchedule
from storage import feeds as feed_queries
from storage import sections as section_queries
from storage.db import Database, create_database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass
class Core:
    """The ingestion side of newsbot: what `poll`, `feeds` and `run` share."""

    settings: Settings
    database: Database
    http: httpx.AsyncClient
    extractor: Extractor
    poller: Poller


def feed_specs(settings: Settings) -> list[feed_queries.FeedSpec]:
    return [
        feed_queries.FeedSpec(
            url=feed.url,
            section=feed.section,
            language=feed.language,
            poll_interval=feed.poll_interval or settings.poll_interval,
        )
        for feed in settings.feeds
    ]


async def prepare_database(settings: Settings, database: Database) -> None:
    """Apply migrations, then mirror the config's sections and feeds into the database."""
    await upgrade(database)
    async with database.writing(), database.sessions.begin() as session:
        await section_queries.sync_sections(session, settings.sections)
        await feed_queries.sync_feeds(session, feed_specs(settings), datetime.now(UTC))


@contextlib.asynccontextmanager
async def open_core(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Core]:
    """Open the database, HTTP client and workers; close them all on exit, in reverse."""
    database = create_database(settings.database_url)
    http = build_http_client(timeout=settings.fetch_timeout, user_agent=default_user_agent())
    extractor = Extractor(settings.parse_workers)
    try:
        if migrate:
            await prepare_database(settings, database)
        fetcher = Fetcher(
            http,
            max_bytes=settings.max_feed_bytes,
            max_concurrency=settings.max_concurrent_fetches,
            max_per_host=settings.max_fetches_per_host,
        )
        poller = Poller(
            database,
            fetcher,
            extractor,
            categories=build_category_map(settings.sections),
            max_backoff=settings.max_backoff,
        )
        yield Core(settings, database, http, extractor, poller)
    finally:
        extractor.close()
        await http.aclose()
        await database.dispose()


async def schedule_polling(core: Core, scheduler: AsyncIOScheduler) -> PollSchedule:
    schedule = PollSchedule(scheduler, core.poller)
    async with core.database.sessions() as session:
        feeds = await feed_queries.enabled_feeds(session)
    schedule.add_feeds((feed.id, feed.poll_interval, feed.next_poll_at) for feed in feeds)
    return schedule


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) both mean: finish and exit."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The long-running bot: scheduled polling until SIGTERM/SIGINT (or `stop` is set)."""
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    async with open_core(settings) as core:
        scheduler = AsyncIOScheduler(timezone=UTC)
        await schedule_polling(core, scheduler)
        scheduler.start()
        log.info("newsbot running: %d feeds scheduled", len(settings.feeds))
        try:
            await stop.wait()
        finally:
            log.info("newsbot stopping")
            scheduler.shutdown(wait=False)
