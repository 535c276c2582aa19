"""The ingestion side of newsbot, opened and closed as one: database, HTTP client, fetcher,
extractor, poller and the article-page reader.

`newsbot poll`, `newsbot feeds` and `newsbot run` all start from here (bot/operations.py,
bot/app.py); the Telegram side (bot/setup/telegram_side.py) is built on top of it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.feeds.extract import Extractor
from bot.feeds.fetcher import Fetcher, build_http_client, default_user_agent
from bot.feeds.normalize import build_category_map
from bot.services.alternates import PageAlternates
from bot.services.poller import Poller, PollObserver
from bot.setup.config_sync import prepare_database
from storage.db import Database, create_database


@dataclass
class Core:
    """The ingestion side of newsbot: what `poll`, `feeds` and `run` share."""

    settings: Settings
    database: Database
    http: httpx.AsyncClient
    extractor: Extractor
    poller: Poller
    page_alternates: PageAlternates


def instance_name() -> str:
    """Who holds a lease: readable in the feeds table when several instances run."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def own_interval_urls(settings: Settings) -> frozenset[str]:
    """Feeds the operator gave a poll interval: their own, or a top-level `poll_interval`
    set in the file or the environment. Only the others follow their server's TTL and
    max-age: an operator's explicit choice beats a server's hint, which beats our default."""
    if "poll_interval" in settings.model_fields_set:
        return frozenset(feed.url for feed in settings.feeds)
    return frozenset(feed.url for feed in settings.feeds if feed.poll_interval is not None)


def page_alternates_urls(settings: Settings) -> frozenset[str]:
    """Feeds whose stories' versions are named on their article pages (alternates = "page")."""
    return frozenset(feed.url for feed in settings.feeds if feed.alternates == "page")


@contextlib.asynccontextmanager
async def open_core(
    settings: Settings, *, migrate: bool = True, poll_observer: PollObserver | None = None
) -> AsyncIterator[Core]:
    """Open the database, HTTP client and workers; close them all on exit, in reverse.

    `poll_observer` sees every poll (metrics, and a stop that lets polls finish)."""
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
            editions=tuple(settings.editions),
            default_edition=settings.default_edition,
            max_backoff=settings.max_backoff,
            max_poll_interval=settings.max_poll_interval,
            own_interval_urls=own_interval_urls(settings),
            page_alternates_urls=page_alternates_urls(settings),
            instance=instance_name(),
            observer=poll_observer,
        )
        page_alternates = PageAlternates(
            database,
            fetcher,
            editions=tuple(settings.editions),
            default_edition=settings.default_edition,
            observer=poll_observer,
        )
        yield Core(settings, database, http, extractor, poller, page_alternates)
    finally:
        extractor.close()
        await http.aclose()
        await database.dispose()
