"""Builds newsbot from its settings and wires the pieces together; owns their lifecycle.

Everything is created once and passed down: the database, the HTTP client, the fetcher, the
extractor, the poller and the scheduler. Nothing is a module global. The pieces are made in
bot/setup/ (core.py: ingestion; telegram_side.py: the bot and delivery; config_sync.py,
jobs.py, tick_watch.py); here they are started in order and stopped in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.routing import BaseRoute
from telegram.error import NetworkError

from bot.config import Settings
from bot.entrypoints.http.api import TokenCheck, cms_routes
from bot.entrypoints.http.cms import CmsNewsroom
from bot.entrypoints.http.console.routes import console_routes
from bot.entrypoints.http.health import BotApiState, Readiness
from bot.entrypoints.http.metrics import BotApiWatch, Metrics
from bot.entrypoints.http.server import HttpServer, build_app, ops_routes
from bot.entrypoints.http.webhook import UpdateLedger, new_secret, webhook_path, webhook_route
from bot.entrypoints.telegram.application import ALLOWED_UPDATES
from bot.setup.core import Core, open_core
from bot.setup.jobs import (
    add_bot_api_probe,
    add_page_alternates_job,
    after_new_stories,
    schedule_polling,
)
from bot.setup.logs import redact_also
from bot.setup.scheduling import wake_delivery
from bot.setup.telegram_side import (
    TelegramSide,
    bring_up,
    build_telegram,
    shut_down,
    start_sending,
)
from bot.setup.tick_watch import TickWatch, finish_deliveries

log = logging.getLogger(__name__)


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) both mean: finish and exit."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


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


# ---- Operations wiring: readiness, the HTTP server, webhook, shutdown --------------------
# (metrics and the stop's wait observe the poller and sender from outside, through
# bot/setup/tick_watch.py, so those modules stay unaware of Prometheus and the HTTP server)

SHUTDOWN_GRACE = 10.0


def remove_stop_signals() -> None:
    """Give SIGTERM/SIGINT back to their defaults once the bot is down (tests run it twice)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, RuntimeError):
            loop.remove_signal_handler(signum)


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
    cms = CmsNewsroom(
        core.database,
        wake_delivery=lambda: wake_delivery(scheduler),
        on_new_stories=metrics.stories_added,
        edition_of=settings.edition_of,
    )
    tokens = TokenCheck([token.get_secret_value() for token in settings.api_tokens])
    services = side.services if side is not None else None
    desk = (
        (services.approvals, services.desk_poster)
        if services is not None
        and services.approvals is not None
        and services.desk_poster is not None
        else None
    )
    routes: list[BaseRoute] = [
        *ops_routes(readiness, metrics, core.database),
        *cms_routes(
            cms, tokens, [section.slug for section in settings.sections], settings.editions
        ),
        *console_routes(
            settings,
            core.database,
            lambda: wake_delivery(scheduler),
            editors_desk=desk,
            bot=side.application.bot if side else None,
        ),
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
