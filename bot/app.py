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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute
from telegram.error import TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.delivery.compose import Composer
from bot.delivery.corrections import Corrector
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.pacing import Limits, Pacer
from bot.delivery.sender import Sender, SendStats
from bot.feeds.extract import Extractor
from bot.feeds.fetcher import Fetcher, build_http_client, default_user_agent
from bot.feeds.normalize import build_category_map
from bot.feeds.poller import Deferred, Poller, PollOutcome
from bot.http.api import TokenCheck, cms_routes
from bot.http.cms import CmsDesk
from bot.http.health import BotApiState, Readiness
from bot.http.metrics import Metrics, observe_bot_requests
from bot.http.server import HttpServer, build_app, ops_routes
from bot.http.webhook import new_secret, webhook_path, webhook_route
from bot.logs import redact_also
from bot.scheduling import PollSchedule, add_delivery_job, add_updates_job, wake_delivery
from bot.services.admins import Admins
from bot.services.breaking import Breaking
from bot.services.digest import schedule_digest
from bot.services.newsdesk import Newsdesk
from bot.services.readers import Readers
from bot.services.related import RelatedStories
from bot.telegram.application import (
    ALLOWED_UPDATES,
    build_application,
    publish_commands,
    register_handlers,
)
from bot.telegram.handlers.services import BotServices
from bot.telegram.i18n import Catalogues
from bot.telegram.polling import UPDATES_RETRY_SECONDS, LongPolling
from storage import feeds as feed_queries
from storage import sections as section_queries
from storage import stats as stats_queries
from storage.db import Database, create_database
from storage.leadership import Leadership, updates_leadership
from storage.migrate import upgrade_on
from storage.models import Feed

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
    """Every configured feed, news and most-read lists alike: both are polled on the same
    path; the poller keeps a `role = "popular"` feed's order instead of its items."""
    return [
        feed_queries.FeedSpec(
            url=feed.url,
            section=feed.section,
            language=feed.language,
            poll_interval=feed.poll_interval or settings.poll_interval,
            role=feed.role,
        )
        for feed in settings.feeds
    ]


def section_specs(settings: Settings) -> list[section_queries.SectionSpec]:
    """The configured sections with their titles per language (a plain title is English)."""
    return [
        section_queries.SectionSpec(
            slug=section.slug,
            titles={"en": section.title} if isinstance(section.title, str) else section.title,
        )
        for section in settings.sections
    ]


async def prepare_database(settings: Settings, database: Database) -> None:
    """Apply migrations, then mirror the config's sections and feeds into the database.

    One transaction under a start-up lock, so instances starting together on PostgreSQL
    neither migrate twice nor insert the same feed twice.
    """
    async with database.writing(), database.engine.begin() as connection:
        await upgrade_on(connection)
        session = AsyncSession(bind=connection, expire_on_commit=False)
        await section_queries.sync_sections(session, section_specs(settings))
        await feed_queries.sync_feeds(session, feed_specs(settings), datetime.now(UTC))
        await session.flush()


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
            max_poll_interval=settings.max_poll_interval,
            own_interval_urls=frozenset(
                feed.url for feed in settings.feeds if feed.poll_interval is not None
            ),
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
    polling: LongPolling


def build_telegram(core: Core, token: str, scheduler: AsyncIOScheduler) -> TelegramSide:
    settings, database = core.settings, core.database
    application = build_application(settings, token)
    bot = application.bot
    catalogues = Catalogues.load()
    breaking = Breaking(database, frozenset(settings.editors))
    related = RelatedStories(database)
    services = BotServices(
        settings=settings,
        catalogues=catalogues,
        readers=Readers(database, settings),
        newsdesk=Newsdesk(database, settings.zone, related),
        admins=Admins(database, bot),
        breaking=breaking,
        wake_delivery=lambda: wake_delivery(scheduler),
    )
    register_handlers(application, services)
    composer = Composer(database, settings, catalogues, related)
    pacer = Pacer(delivery_limits(settings))
    sender = Sender(database, bot, composer, pacer, paid_broadcast=settings.allow_paid_broadcast)
    dispatcher = Dispatcher(
        database,
        bot,
        sender,
        Corrector(database, bot, composer, pacer),
        Leadership(database),
        breaking,
        catalogues,
        settings.language,
        wake=lambda: wake_delivery(scheduler),
    )
    polling = LongPolling(application, updates_leadership(database), settings.long_poll_timeout)
    return TelegramSide(application, services, sender, dispatcher, polling)


def delivery_limits(settings: Settings) -> Limits:
    return Limits(
        per_second=settings.paid_send_rate if settings.allow_paid_broadcast else settings.send_rate,
        private_interval=settings.private_chat_interval,
        group_interval=60.0 / settings.group_messages_per_minute,
    )


@contextlib.asynccontextmanager
async def telegram_running(
    core: Core,
    token: str,
    scheduler: AsyncIOScheduler,
    *,
    polling: bool = True,
    observe: Callable[[TelegramSide], None] | None = None,
) -> AsyncIterator[TelegramSide]:
    """Start PTB (getMe, command menus, long polling) and the sender; stop them in reverse.

    With `polling=False` (webhook mode) updates arrive through the HTTP server instead, so
    the updater is never started. `observe` sees the side before anything starts (metrics).
    """
    side = build_telegram(core, token, scheduler)
    if observe is not None:
        observe(side)
    application = side.application
    await application.initialize()
    await publish_commands(application, side.services)
    await application.start()
    if polling:
        await side.polling.follow()
        add_updates_job(scheduler, side.polling.follow, UPDATES_RETRY_SECONDS)
    requeued = await side.sender.recover()
    if requeued:
        log.info("requeued %d deliveries interrupted by the last stop", requeued)
    add_delivery_job(scheduler, side.dispatcher.tick)
    schedule_digest(
        scheduler, core.database, application.bot, core.settings, side.services.catalogues
    )
    log.info("Telegram bot @%s is up", application.bot.username)
    try:
        yield side
    finally:
        await side.polling.stop()
        await application.stop()
        await application.shutdown()


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The long-running bot: polling, delivery and Telegram until SIGTERM/SIGINT.

    With `http_port`, one HTTP server (health, metrics, the CMS API and, with `webhook_url`,
    Telegram's webhook) runs in this same loop. On stop: no more updates are taken, the
    delivery tick in progress is given SHUTDOWN_GRACE seconds, then everything closes.
    """
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    webhook_url = settings.webhook_url if settings.http_port is not None else None
    if settings.webhook_url and webhook_url is None:
        log.warning("webhook_url is set but http_port is not: using long polling")
    metrics = Metrics()
    bot_api = BotApiState(configured=settings.telegram_bot_token is not None)
    ticks = TickWatch(metrics)
    side: TelegramSide | None = None
    server: HttpServer | None = None
    try:
        async with open_core(settings) as core, contextlib.AsyncExitStack() as stack:
            observe_polls(core, metrics, ticks)
            ticks.database = core.database
            scheduler = AsyncIOScheduler(timezone=UTC)
            token = settings.telegram_bot_token
            if token is None:
                log.warning("TELEGRAM_BOT_TOKEN is not set: polling feeds only, sending nothing")
            else:
                side = await stack.enter_async_context(
                    telegram_running(
                        core,
                        token.get_secret_value(),
                        scheduler,
                        polling=webhook_url is None,
                        observe=lambda built: observe_telegram(built, metrics, bot_api, ticks),
                    )
                )
                add_bot_api_probe(scheduler, side, bot_api)
            await schedule_polling(core, scheduler, lambda: wake_delivery(scheduler))
            secret = webhook_secret(settings) if webhook_url and side else None
            if settings.http_port is not None:
                server = build_http_server(
                    settings, core, scheduler, side, metrics, bot_api, webhook_url, secret
                )
                await server.start()
                stack.push_async_callback(server.stop)
            if webhook_url and side and secret:
                await register_webhook(side, webhook_url, secret)
            scheduler.start()
            log.info("newsbot running: %d feeds scheduled", len(settings.feeds))
            try:
                await stop.wait()
            finally:
                log.info("newsbot stopping")
                await stop_taking_updates(side, server)
                # Paused, no job starts; shutting down would cancel the running ones.
                scheduler.pause()
                await finish_deliveries(ticks, side, SHUTDOWN_GRACE)
                scheduler.shutdown(wait=False)
    finally:
        remove_stop_signals()


# ---- Operations wiring: metrics, readiness, the HTTP server, webhook, shutdown ------------
# (functions below observe the poller and sender from outside, so those modules stay
# unaware of Prometheus and the HTTP server)

SHUTDOWN_GRACE = 10.0
BOT_API_PROBE_SECONDS = 30.0


def remove_stop_signals() -> None:
    """Give SIGTERM/SIGINT back to their defaults once the bot is down (tests run it twice)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, RuntimeError):
            loop.remove_signal_handler(signum)


def observe_polls(core: Core, metrics: Metrics, watch: TickWatch) -> None:
    """Count every poll's outcome (`poll` and `poll_all` both go through `poll_feed`), and
    note polls in progress so a stop lets them finish instead of cutting a parse short."""
    poll_feed = core.poller.poll_feed

    async def observed(feed: Feed, deferred: Deferred | None = None) -> PollOutcome:
        task = asyncio.current_task()
        if task is not None:
            watch.polls.add(task)
        try:
            outcome = await poll_feed(feed, deferred)
        finally:
            watch.polls.discard(task)  # type: ignore[arg-type]
        metrics.poll_finished(outcome)
        return outcome

    core.poller.poll_feed = observed  # type: ignore[method-assign]


class TickWatch:
    """Wraps the delivery tick: counts its results and lets shutdown wait for it (and for
    the polls in progress, see `observe_polls`)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.database: Database | None = None
        self.running: asyncio.Task[object] | None = None
        self.polls: set[asyncio.Task[object]] = set()

    def wrap(
        self, tick: Callable[..., Awaitable[SendStats]]
    ) -> Callable[..., Awaitable[SendStats]]:
        async def observed(*args: object, **kwargs: object) -> SendStats:
            started = datetime.now(UTC)
            self.running = asyncio.current_task()
            try:
                stats = await tick(*args, **kwargs)
            finally:
                self.running = None
            await self._record(stats, started)
            return stats

        return observed

    async def _record(self, stats: SendStats, started: datetime) -> None:
        latencies: list[float] = []
        if stats.sent and self.database is not None:
            try:
                async with self.database.sessions() as session:
                    latencies = await stats_queries.publish_to_delivery_seconds(
                        session, started, datetime.now(UTC)
                    )
            except Exception as exc:  # metrics must never break delivery
                log.warning("metrics: could not read delivery latencies: %s", exc)
        self.metrics.tick_finished(stats, latencies)


def observe_telegram(
    side: TelegramSide, metrics: Metrics, bot_api: BotApiState, ticks: TickWatch
) -> None:
    observe_bot_requests(side.application.bot.request, metrics, bot_api.record)
    side.dispatcher.tick = ticks.wrap(side.dispatcher.tick)  # type: ignore[method-assign]


def add_bot_api_probe(
    scheduler: AsyncIOScheduler, side: TelegramSide, bot_api: BotApiState
) -> None:
    """getMe when the Bot API has been quiet for a while, so /readyz stays current in
    webhook mode (no getUpdates traffic) and recovers after an outage."""

    async def probe() -> None:
        if bot_api.seconds_since() < BOT_API_PROBE_SECONDS:
            return
        with contextlib.suppress(TelegramError):
            await side.application.bot.get_me()

    scheduler.add_job(
        probe,
        IntervalTrigger(seconds=BOT_API_PROBE_SECONDS / 3),
        id="bot-api-probe",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or a fresh one per start (Telegram learns it at setWebhook)."""
    configured = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    secret = configured or new_secret()
    redact_also(secret)
    return secret


async def register_webhook(side: TelegramSide, url: str, secret: str) -> None:
    await side.application.bot.set_webhook(
        url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
    )
    log.info("webhook registered: Telegram now POSTs updates to %s", url)


def build_http_server(
    settings: Settings,
    core: Core,
    scheduler: AsyncIOScheduler,
    side: TelegramSide | None,
    metrics: Metrics,
    bot_api: BotApiState,
    webhook_url: str | None,
    secret: str | None,
) -> HttpServer:
    """Health, metrics and the CMS API always; the webhook route in webhook mode."""
    assert settings.http_port is not None
    readiness = Readiness(core.database, scheduler, bot_api)
    cms = CmsDesk(
        core.database,
        wake_delivery=lambda: wake_delivery(scheduler),
        on_new_stories=metrics.stories_added,
    )
    tokens = TokenCheck([token.get_secret_value() for token in settings.api_tokens])
    routes: list[BaseRoute] = [
        *ops_routes(readiness, metrics, core.database),
        *cms_routes(cms, tokens, [section.slug for section in settings.sections]),
    ]
    if webhook_url and side and secret:
        routes.append(webhook_route(side.application, webhook_path(webhook_url), secret))
    return HttpServer(build_app(routes), settings.http_host, settings.http_port)


async def stop_taking_updates(side: TelegramSide | None, server: HttpServer | None) -> None:
    """First step of a stop: no webhook requests, no long polling; sending goes on."""
    if server is not None:
        await server.stop()
    if side is not None:
        await side.polling.stop()


async def finish_deliveries(ticks: TickWatch, side: TelegramSide | None, grace: float) -> None:
    """Let the delivery tick (and polls) in progress finish within `grace` seconds; else
    cancel the tick and requeue what it had claimed (SQLite: this process is the only
    sender, so every `sending` row is ours; PostgreSQL: their leases run out and another
    instance takes them)."""
    running = ticks.running
    pending = {task for task in ticks.polls if not task.done()}
    if running is not None and not running.done():
        pending.add(running)
    if not pending:
        return
    if side is not None:
        side.sender.stop_claiming()
    log.info("waiting up to %.0fs for %d delivery/poll jobs in progress", grace, len(pending))
    await asyncio.wait(pending, timeout=grace)
    if running is None or running.done():
        return
    running.cancel()
    with contextlib.suppress(BaseException):
        await running
    if side is not None:
        requeued = await side.sender.recover()
        log.warning("delivery tick cut short at shutdown; %d deliveries requeued", requeued)
