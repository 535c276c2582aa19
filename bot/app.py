"""Builds newsbot from its settings and wires the pieces together; owns their lifecycle.

Everything is created here, once, and passed down: the database, the HTTP client, the
fetcher, the extractor, the poller and the scheduler. Nothing is a module global.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.ext import Application

from bot.config import Settings
from bot.delivery.compose import Composer
from bot.delivery.corrections import Corrector
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.leadership import SenderLeadership
from bot.delivery.pacing import Limits, Pacer
from bot.delivery.sender import Sender
from bot.feeds.extract import Extractor
from bot.feeds.fetcher import Fetcher, build_http_client, default_user_agent
from bot.feeds.normalize import build_category_map
from bot.feeds.poller import Poller
from bot.scheduling import PollSchedule, add_delivery_job, wake_delivery
from bot.services.admins import Admins
from bot.services.breaking import Breaking
from bot.services.newsdesk import Newsdesk
from bot.services.readers import Readers
from bot.telegram.application import (
    ALLOWED_UPDATES,
    build_application,
    publish_commands,
    register_handlers,
)
from bot.telegram.i18n import Catalogues
from bot.telegram.services import BotServices
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


def instance_name() -> str:
    """Who holds a lease: readable in the feeds table when several instances run."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


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
            instance=instance_name(),
        )
        yield Core(settings, database, http, extractor, poller)
    finally:
        extractor.close()
        await http.aclose()
        await database.dispose()


async def schedule_polling(
    core: Core,
    scheduler: AsyncIOScheduler,
    after_new_stories: Callable[[], None] | None = None,
) -> PollSchedule:
    schedule = PollSchedule(scheduler, core.poller, after_new_stories)
    async with core.database.sessions() as session:
        feeds = await feed_queries.enabled_feeds(session)
    schedule.add_feeds((feed.id, feed.poll_interval, feed.next_poll_at) for feed in feeds)
    return schedule


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) both mean: finish and exit."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


@dataclass
class TelegramSide:
    """The bot proper: the PTB Application, its services, and the delivery machinery."""

    application: Application
    services: BotServices
    sender: Sender
    dispatcher: Dispatcher


def build_telegram(core: Core, token: str, scheduler: AsyncIOScheduler) -> TelegramSide:
    settings, database = core.settings, core.database
    application = build_application(settings, token)
    bot = application.bot
    catalogues = Catalogues.load()
    breaking = Breaking(database, frozenset(settings.editors))
    services = BotServices(
        settings=settings,
        catalogues=catalogues,
        readers=Readers(database, settings),
        newsdesk=Newsdesk(database, settings.zone),
        admins=Admins(database, bot),
        breaking=breaking,
        wake_delivery=lambda: wake_delivery(scheduler),
    )
    register_handlers(application, services)
    composer = Composer(database, settings, catalogues)
    pacer = Pacer(delivery_limits(settings))
    sender = Sender(database, bot, composer, pacer, paid_broadcast=settings.allow_paid_broadcast)
    dispatcher = Dispatcher(
        database,
        bot,
        sender,
        Corrector(database, bot, composer, pacer),
        SenderLeadership(database),
        breaking,
        catalogues,
        settings.language,
    )
    return TelegramSide(application, services, sender, dispatcher)


def delivery_limits(settings: Settings) -> Limits:
    return Limits(
        per_second=settings.paid_send_rate if settings.allow_paid_broadcast else settings.send_rate,
        private_interval=settings.private_chat_interval,
        group_interval=60.0 / settings.group_messages_per_minute,
    )


@contextlib.asynccontextmanager
async def telegram_running(
    core: Core, token: str, scheduler: AsyncIOScheduler
) -> AsyncIterator[TelegramSide]:
    """Start PTB (getMe, command menus, long polling) and the sender; stop them in reverse."""
    side = build_telegram(core, token, scheduler)
    application = side.application
    await application.initialize()
    await publish_commands(application, side.services)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(
        allowed_updates=ALLOWED_UPDATES, timeout=core.settings.long_poll_timeout
    )
    requeued = await side.sender.recover()
    if requeued:
        log.info("requeued %d deliveries interrupted by the last stop", requeued)
    add_delivery_job(scheduler, side.dispatcher.tick)
    log.info("Telegram bot @%s is up", application.bot.username)
    try:
        yield side
    finally:
        if application.updater.running:
            await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The long-running bot: polling, delivery and Telegram until SIGTERM/SIGINT."""
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    async with open_core(settings) as core, contextlib.AsyncExitStack() as stack:
        scheduler = AsyncIOScheduler(timezone=UTC)
        token = settings.telegram_bot_token
        if token is None:
            log.warning("TELEGRAM_BOT_TOKEN is not set: polling feeds only, sending nothing")
        else:
            await stack.enter_async_context(
                telegram_running(core, token.get_secret_value(), scheduler)
            )
        await schedule_polling(core, scheduler, lambda: wake_delivery(scheduler))
        scheduler.start()
        log.info("newsbot running: %d feeds scheduled", len(settings.feeds))
        try:
            await stop.wait()
        finally:
            log.info("newsbot stopping")
            scheduler.shutdown(wait=False)
