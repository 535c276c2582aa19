"""The Telegram side of newsbot: the PTB Application, the services its handlers use and the
delivery machinery, built on the ingestion core (bot/setup/core.py) and brought up and down
in order: at once (`telegram_running`, for tests and benchmarks) or, by bot/app.py's
`connect`, retried while the Bot API is out of reach.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.ext import Application

from bot.config import Settings
from bot.delivery.approval_desk import DeskPoster
from bot.delivery.compose import Composer
from bot.delivery.corrections import Corrector
from bot.delivery.dispatcher import Dispatcher, TickObserver
from bot.delivery.editor_notices import EditorNotices
from bot.delivery.pacer import Limits, Pacer
from bot.delivery.sender import Sender
from bot.entrypoints.telegram.application import (
    build_application,
    publish_commands,
    register_handlers,
)
from bot.entrypoints.telegram.console_entry import publish_console_buttons
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.entrypoints.telegram.polling import UPDATES_RETRY_SECONDS, LongPolling
from bot.entrypoints.telegram.request import RequestObserver
from bot.outbound.i18n import Catalogues
from bot.services.admins import Admins
from bot.services.approvals import Approvals
from bot.services.breaking import Breaking
from bot.services.channel_settings import ChannelScreens
from bot.services.digest import Digest, add_digest_jobs
from bot.services.feed_alerts import FEED_ALERTS_SECONDS, FeedAlerts
from bot.services.newsdesk import Newsdesk
from bot.services.readers import Readers
from bot.services.related import RelatedStories
from bot.setup.config_sync import resolve_config_usernames
from bot.setup.core import Core
from bot.setup.scheduling import (
    add_delivery_job,
    add_heartbeat_job,
    add_updates_job,
    wake_delivery,
)
from storage.leadership import Leadership, updates_leadership

log = logging.getLogger(__name__)

FEED_ALERTS_JOB_ID = "feed-alerts"


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
    # Tells the editors of a feed that has failed for long, and of its recovery.
    feed_alerts: FeedAlerts


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
        channel_settings=ChannelScreens(database, settings, catalogues, related),
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
    feed_alerts = FeedAlerts(
        database,
        EditorNotices(database, bot, settings, catalogues),
        timedelta(seconds=settings.feed_alert_after),
    )
    return TelegramSide(application, services, sender, dispatcher, polling, digest, feed_alerts)


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
    """getMe, the command menus, the editors' console menu buttons (with `console_url`),
    the update processor and long polling.

    Each step skips what an interrupted attempt already did (PTB's initialize, the menus,
    the menu buttons and `follow` are idempotent; start is guarded), so a failed start can
    simply be retried.
    """
    application = side.application
    await application.initialize()
    await publish_commands(application, side.services)
    await publish_console_buttons(application.bot, side.services)
    if not application.running:
        await application.start()
    if polling:
        await side.polling.follow()


async def start_sending(
    core: Core, side: TelegramSide, scheduler: AsyncIOScheduler, *, polling: bool
) -> None:
    """Once Telegram answers: the updates and delivery jobs, the digests, the feed alerts,
    and the deliveries a previous stop interrupted. Before that nothing is sent, so nothing
    fails for nothing (and no feed alert is marked sent)."""
    if polling:
        add_updates_job(scheduler, side.polling.follow, UPDATES_RETRY_SECONDS)
    requeued = await side.sender.recover()
    if requeued:
        log.info("requeued %d deliveries interrupted by the last stop", requeued)
    await resolve_config_usernames(core.settings, core.database, side.application.bot)
    add_delivery_job(scheduler, side.dispatcher.tick)
    add_digest_jobs(scheduler, side.digest, core.settings)
    add_heartbeat_job(
        scheduler,
        FEED_ALERTS_JOB_ID,
        "tell the editors of failing feeds",
        side.feed_alerts.run,
        FEED_ALERTS_SECONDS,
    )
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
