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
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute
from telegram import Bot, Chat
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application

from bot.config import ChannelConfig, Settings
from bot.delivery.approval_desk import DeskPoster
from bot.delivery.compose import Composer
from bot.delivery.corrections import Corrector
from bot.delivery.dispatcher import Dispatcher, TickObserver
from bot.delivery.pacing import Limits, Pacer
from bot.delivery.sender import Sender, SendStats
from bot.domain import channel_rules
from bot.entrypoints.http.api import TokenCheck, cms_routes
from bot.entrypoints.http.cms import CmsDesk
from bot.entrypoints.http.console.routes import console_routes
from bot.entrypoints.http.health import BotApiState, Readiness
from bot.entrypoints.http.metrics import BotApiWatch, Metrics
from bot.entrypoints.http.server import HttpServer, build_app, ops_routes
from bot.entrypoints.http.webhook import UpdateLedger, new_secret, webhook_path, webhook_route
from bot.entrypoints.telegram.application import (
    ALLOWED_UPDATES,
    build_application,
    publish_commands,
    register_handlers,
)
from bot.entrypoints.telegram.handlers.channels import can_manage_topics
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.entrypoints.telegram.polling import UPDATES_RETRY_SECONDS, LongPolling
from bot.entrypoints.telegram.request import RequestObserver
from bot.feeds.alternates import PageAlternates
from bot.feeds.extract import Extractor
from bot.feeds.fetcher import Fetcher, build_http_client, default_user_agent
from bot.feeds.normalize import build_category_map
from bot.feeds.poller import Poller, PollObserver, PollOutcome
from bot.outbound.i18n import Catalogues
from bot.services.admins import Admins
from bot.services.approvals import Approvals
from bot.services.breaking import Breaking
from bot.services.desk_settings import DeskScreens
from bot.services.digest import Digest, add_digest_jobs
from bot.services.newsdesk import Newsdesk
from bot.services.readers import Readers
from bot.services.related import RelatedStories
from bot.setup.logs import redact_also
from bot.setup.scheduling import (
    PollSchedule,
    add_delivery_job,
    add_heartbeat_job,
    add_updates_job,
    wake_delivery,
    wake_job,
)
from storage import channel_rules as desk_queries
from storage import editions as edition_queries
from storage import feeds as feed_queries
from storage import sections as section_queries
from storage import stats as stats_queries
from storage import topics as topic_queries
from storage.db import Database, create_database
from storage.leadership import Leadership, updates_leadership
from storage.migrate import upgrade_on

log = logging.getLogger(__name__)


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


PAGE_ALTERNATES_JOB_ID = "page-alternates"
PAGE_ALTERNATES_SECONDS = 2.0


def add_page_alternates_job(scheduler: AsyncIOScheduler, core: Core) -> None:
    """Read waiting stories' pages beside the polls, never inside them: one run at a time,
    missed runs merged; woken after a poll that stored new stories. Stories let go are
    delivered at once."""

    async def read_pages() -> None:
        if await core.page_alternates.run():
            wake_delivery(scheduler)

    add_heartbeat_job(
        scheduler,
        PAGE_ALTERNATES_JOB_ID,
        "read article pages for their versions",
        read_pages,
        PAGE_ALTERNATES_SECONDS,
    )


def wake_page_alternates(scheduler: AsyncIOScheduler) -> None:
    wake_job(scheduler, PAGE_ALTERNATES_JOB_ID)


def section_specs(settings: Settings) -> list[section_queries.SectionSpec]:
    """The configured sections with their titles per language (a plain title is English)."""
    return [
        section_queries.SectionSpec(
            slug=section.slug,
            titles={"en": section.title} if isinstance(section.title, str) else section.title,
        )
        for section in settings.sections
    ]


def channel_spec(channel: ChannelConfig, chat_id: int) -> channel_rules.ChannelSpec:
    """A config-declared chat as storage writes it (its id resolved)."""
    return channel_rules.ChannelSpec(
        ref=channel.ref,
        chat_id=chat_id,
        sections=tuple(channel.sections),
        editions=tuple(channel.editions),
        breaking=channel.breaking,
        include=tuple(channel.include),
        exclude=tuple(channel.exclude),
        include_regex=tuple(channel.include_regex),
        exclude_regex=tuple(channel.exclude_regex),
        format=channel_rules.DeskFormat(
            template=channel.template,
            summary=channel.summary,
            related=channel.related,
            image=channel.image,
            link_preview=channel.link_preview,
            hashtags=channel.hashtags,
            read_button=channel.read_button,
            signature=channel.signature,
            utm=channel.utm,
        ),
        pace=channel_rules.DeskPace(
            max_posts_per_hour=channel.max_posts_per_hour,
            quiet_hours=channel.quiet_hours,
            quiet_mode=channel.quiet_mode,
        ),
        approval=channel.approval,
        topics=tuple(channel.topics.items()),
    )


async def sync_config_channels(
    settings: Settings, session: AsyncSession, resolved: dict[str, int] | None = None
) -> None:
    """Write the config's chats: numeric ids at once, "@username" ones once `resolved`
    (getChat, when the bot is up); every chat the config names stays config-managed."""
    resolved = resolved or {}
    specs = [
        channel_spec(
            channel, channel.chat if isinstance(channel.chat, int) else resolved[channel.ref]
        )
        for channel in settings.channels
        if isinstance(channel.chat, int) or channel.ref in resolved
    ]
    await desk_queries.sync_config_channels(
        session,
        specs,
        [channel.ref for channel in settings.channels],
        settings.default_edition,
        datetime.now(UTC),
    )


async def resolve_config_usernames(core: Core, bot: Bot) -> None:
    """Config chats named by @username: their ids from Telegram (getChat), then written.
    One that Telegram does not know stays pending (logged) until the next start."""
    resolved: dict[str, int] = {}
    forums: dict[int, tuple[bool, bool | None]] = {}
    for channel in settings_usernames(core.settings):
        try:
            chat = await bot.get_chat(channel)
        except TelegramError as exc:
            log.warning("config channel %s not resolved: %s", channel, exc)
            continue
        resolved[channel] = chat.id
        forums[chat.id] = (bool(chat.is_forum), await _manages_topics(bot, chat))
    if resolved:
        async with core.database.writing(), core.database.sessions.begin() as session:
            await sync_config_channels(core.settings, session, resolved)
            for chat_id, (is_forum, can_manage) in forums.items():
                await topic_queries.set_forum(
                    session, chat_id, is_forum=is_forum, can_manage_topics=can_manage
                )


async def _manages_topics(bot: Bot, chat: Chat) -> bool | None:
    """For a forum: may the bot create its topics (its own membership)? None: not known."""
    if not chat.is_forum:
        return None
    try:
        member = await bot.get_chat_member(chat.id, bot.id)
    except TelegramError as exc:
        log.warning("forum %s: the bot's rights not read: %s", chat.id, exc)
        return None
    return can_manage_topics(member)


def settings_usernames(settings: Settings) -> list[str]:
    return [channel.ref for channel in settings.channels if isinstance(channel.chat, str)]


async def prepare_database(settings: Settings, database: Database) -> None:
    """Apply migrations, then mirror the config's sections and feeds into the database.

    One transaction under a start-up lock, so instances starting together on PostgreSQL
    neither migrate twice nor insert the same feed twice.
    """
    async with database.writing(), database.engine.begin() as connection:
        await upgrade_on(connection)
        session = AsyncSession(bind=connection, expire_on_commit=False)
        await section_queries.sync_sections(session, section_specs(settings))
        await edition_queries.sync_editions(session, settings.editions, settings.default_edition)
        await feed_queries.sync_feeds(session, feed_specs(settings), datetime.now(UTC))
        await sync_config_channels(settings, session)
        await session.flush()


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


def after_new_stories(scheduler: AsyncIOScheduler) -> None:
    """New stories: read the pages of those that wait for theirs, deliver the others."""
    wake_page_alternates(scheduler)
    wake_delivery(scheduler)


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
    # Queues each digest slot in the outbox; the sender sends it like any story.
    digest: Digest


def build_telegram(
    core: Core,
    token: str,
    scheduler: AsyncIOScheduler,
    *,
    tick_observer: TickObserver | None = None,
    request_observer: RequestObserver | None = None,
) -> TelegramSide:
    """The bot's objects, wired; `tick_observer` sees each delivery tick and
    `request_observer` each Bot API call (metrics and readiness), from the inside."""
    settings, database = core.settings, core.database
    application = build_application(settings, token, request_observer)
    bot = application.bot
    catalogues = Catalogues.load()
    breaking = Breaking(
        database,
        frozenset(settings.editors),
        editions=settings.editions,
        language=settings.language,
    )
    related = RelatedStories(database)
    approvals = Approvals(database, settings)
    desk = DeskPoster(bot, approvals, settings, catalogues)
    services = BotServices(
        settings=settings,
        catalogues=catalogues,
        readers=Readers(database, settings),
        newsdesk=Newsdesk(database, settings.zone, related),
        admins=Admins(database, bot),
        breaking=breaking,
        desk_settings=DeskScreens(database, settings, catalogues, related),
        wake_delivery=lambda: wake_delivery(scheduler),
        approvals=approvals,
        desk_poster=desk,
    )
    register_handlers(application, services)
    composer = Composer(database, settings, catalogues, related)
    pacer = Pacer(delivery_limits(settings))
    sender = Sender(
        database,
        bot,
        composer,
        pacer,
        paid_broadcast=settings.allow_paid_broadcast,
        paid_stars_per_day=settings.paid_stars_per_day,
        approval_timeout=timedelta(seconds=settings.approval_timeout),
    )
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
        observer=tick_observer,
        desk=desk,
    )
    polling = LongPolling(application, updates_leadership(database), settings.long_poll_timeout)
    digest = Digest(database, settings, wake_delivery=lambda: wake_delivery(scheduler))
    return TelegramSide(application, services, sender, dispatcher, polling, digest)


def delivery_limits(settings: Settings) -> Limits:
    return Limits(
        per_second=settings.send_rate,
        paid_per_second=settings.paid_send_rate,
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
) -> AsyncIterator[TelegramSide]:
    """Start PTB (getMe, command menus, long polling) and the sender; stop them in reverse.

    With `polling=False` (webhook mode) updates arrive through the HTTP server instead, so
    the updater is never started. A Bot API out of reach is an error here; `newsbot run`
    retries instead (`connect`).
    """
    side = build_telegram(core, token, scheduler)
    try:
        await bring_up(side, polling=polling)
        await start_sending(core, side, scheduler, polling=polling)
        yield side
    finally:
        await shut_down(side)


async def bring_up(side: TelegramSide, *, polling: bool) -> None:
    """getMe, the command menus, the update processor and long polling.

    Each step skips what an interrupted attempt already did (PTB's initialize, the menus
    and `follow` are idempotent; start is guarded), so a failed start can simply be retried.
    """
    application = side.application
    await application.initialize()
    await publish_commands(application, side.services)
    if not application.running:
        await application.start()
    if polling:
        await side.polling.follow()


async def start_sending(
    core: Core, side: TelegramSide, scheduler: AsyncIOScheduler, *, polling: bool
) -> None:
    """Once Telegram answers: the updates and delivery jobs, the digests, and the deliveries
    a previous stop interrupted. Before that nothing is sent, so nothing fails for nothing."""
    if polling:
        add_updates_job(scheduler, side.polling.follow, UPDATES_RETRY_SECONDS)
    requeued = await side.sender.recover()
    if requeued:
        log.info("requeued %d deliveries interrupted by the last stop", requeued)
    await resolve_config_usernames(core, side.application.bot)
    add_delivery_job(scheduler, side.dispatcher.tick)
    add_digest_jobs(scheduler, side.digest, core.settings)
    log.info("Telegram bot @%s is up", side.application.bot.username)


async def shut_down(side: TelegramSide) -> None:
    """Stop whatever `bring_up` got to: polling, the application, the HTTP clients."""
    await side.polling.stop()
    application = side.application
    if application.running:
        await application.stop()
    await application.shutdown()
    # An application whose getMe never succeeded skips this, but its clients are open.
    await application.bot.shutdown()
    await side.dispatcher.release()


# Retrying a Bot API that is out of reach at start (no network yet, DNS down, Telegram
# down): soon at first, then doubling up to the cap, so a long outage costs one request
# every BOT_API_RETRY_CAP seconds.
BOT_API_RETRY_FIRST = 1.0
BOT_API_RETRY_CAP = 30.0


async def connect(
    core: Core,
    side: TelegramSide,
    scheduler: AsyncIOScheduler,
    bot_api: BotApiState,
    *,
    webhook: tuple[str, str] | None,
) -> None:
    """Bring the Telegram side up, retrying while the Bot API cannot be reached; feeds are
    polled and stored meanwhile and /readyz says not ready. One warning line, not one per
    attempt. A refused token (InvalidToken) is raised: waiting would not help."""
    delay, warned = BOT_API_RETRY_FIRST, False
    while True:
        try:
            await bring_up(side, polling=webhook is None)
            if webhook is not None:
                await register_webhook(side, *webhook)
            break
        except NetworkError as exc:  # TimedOut too; InvalidToken is not a NetworkError
            if not warned:
                log.warning(
                    "Bot API unreachable at start (%s): polling and storing feeds, "
                    "retrying Telegram every %.0f s at most",
                    exc.message,
                    BOT_API_RETRY_CAP,
                )
                warned = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, BOT_API_RETRY_CAP)
    await start_sending(core, side, scheduler, polling=webhook is None)
    add_bot_api_probe(scheduler, side, bot_api)
    bot_api.started = True


async def until_stopped(stop: asyncio.Event, connecting: asyncio.Task[None] | None) -> None:
    """Wait for SIGTERM/SIGINT; a start of the Telegram side that failed for good (a
    refused token) ends the wait early with its error."""
    waiting = asyncio.ensure_future(stop.wait())
    try:
        if connecting is not None:
            await asyncio.wait({waiting, connecting}, return_when=asyncio.FIRST_COMPLETED)
            if connecting.done() and not waiting.done():
                connecting.result()
        await waiting
    finally:
        waiting.cancel()


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a start still retrying; an error it ended with is already reported."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" at exit


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The long-running bot: polling, delivery and Telegram until SIGTERM/SIGINT.

    With `http_port`, one HTTP server (health, metrics, the CMS API and, with `webhook_url`,
    Telegram's webhook) runs in this same loop. Feeds are polled from the start; Telegram is
    brought up beside them (`connect`), retried while the Bot API is out of reach. On stop:
    no more updates are taken, the delivery tick in progress is given SHUTDOWN_GRACE
    seconds, then everything closes. A refused token is raised (InvalidToken) after that.
    """
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    webhook_url = settings.webhook_url if settings.http_port is not None else None
    if settings.webhook_url and webhook_url is None:
        log.warning("webhook_url is set but http_port is not: using long polling")
    metrics = Metrics()
    bot_api = BotApiState(configured=settings.telegram_bot_token is not None)
    ticks = TickWatch(metrics)
    requests = BotApiWatch(metrics, bot_api)
    side: TelegramSide | None = None
    server: HttpServer | None = None
    connecting: asyncio.Task[None] | None = None
    try:
        async with (
            open_core(settings, poll_observer=ticks) as core,
            contextlib.AsyncExitStack() as stack,
        ):
            ticks.database = core.database
            scheduler = AsyncIOScheduler(timezone=UTC)
            token = settings.telegram_bot_token
            if token is None:
                log.warning("TELEGRAM_BOT_TOKEN is not set: polling feeds only, sending nothing")
            else:
                side = build_telegram(
                    core,
                    token.get_secret_value(),
                    scheduler,
                    tick_observer=ticks,
                    request_observer=requests,
                )
                stack.push_async_callback(shut_down, side)
            await schedule_polling(core, scheduler, lambda: after_new_stories(scheduler))
            add_page_alternates_job(scheduler, core)
            secret = webhook_secret(settings) if webhook_url and side else None
            if settings.http_port is not None:
                server = build_http_server(
                    settings, core, scheduler, side, metrics, bot_api, webhook_url, secret
                )
                await server.start()
                stack.push_async_callback(server.stop)
            scheduler.start()
            if side is not None:
                webhook = (webhook_url, secret) if webhook_url and secret else None
                connecting = asyncio.create_task(
                    connect(core, side, scheduler, bot_api, webhook=webhook)
                )
            log.info("newsbot running: %d feeds scheduled", len(settings.feeds))
            try:
                await until_stopped(stop, connecting)
            finally:
                log.info("newsbot stopping")
                await cancel(connecting)
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


class TickWatch:
    """Sees every poll and delivery tick from the inside (the poller's and the dispatcher's
    observer): counts their results for metrics, and lets shutdown wait for the tick and
    the polls in progress instead of cutting a send or a parse short."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.database: Database | None = None
        self.running: asyncio.Task[object] | None = None
        self.polls: set[asyncio.Task[object]] = set()

    def poll_started(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.polls.add(task)

    def poll_finished(self, outcome: PollOutcome | None) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.polls.discard(task)
        self.metrics.poll_finished(outcome)

    def tick_started(self) -> None:
        self.running = asyncio.current_task()

    async def tick_finished(self, stats: SendStats | None, started: datetime) -> None:
        self.running = None
        if stats is not None:
            await self._record(stats, started)

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
    """Health, metrics and the CMS API always; the console with `console_url`; the webhook
    route in webhook mode."""
    assert settings.http_port is not None
    readiness = Readiness(core.database, scheduler, bot_api)
    cms = CmsDesk(
        core.database,
        wake_delivery=lambda: wake_delivery(scheduler),
        on_new_stories=metrics.stories_added,
        edition_of=settings.edition_of,
    )
    tokens = TokenCheck([token.get_secret_value() for token in settings.api_tokens])
    routes: list[BaseRoute] = [
        *ops_routes(readiness, metrics, core.database),
        *cms_routes(
            cms, tokens, [section.slug for section in settings.sections], settings.editions
        ),
        *console_routes(settings, core.database),
    ]
    if webhook_url and side and secret:
        ledger = UpdateLedger(core.database)
        path = webhook_path(webhook_url)
        routes.append(webhook_route(side.application, path, secret, ledger))
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
    await asyncio.sleep(0)  # a job the scheduler has just started reaches its poll_started
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
    # A poll still running (a slow site) is cancelled now, while the loop and the database
    # are up: cancelled later, when asyncio.run tears the loop down, its database
    # connection can no longer close and the process never exits.
    for poll in [task for task in ticks.polls if not task.done()]:
        poll.cancel()
        with contextlib.suppress(BaseException):
            await poll
    if running is None or running.done():
        return
    running.cancel()
    with contextlib.suppress(BaseException):
        await running
    if side is not None:
        requeued = await side.sender.recover()
        log.warning("delivery tick cut short at shutdown; %d deliveries requeued", requeued)
