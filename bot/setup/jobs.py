"""The app's own scheduled jobs, on the shapes bot/setup/scheduling.py gives: a poll job per
feed, the article-page reader beside the polls, and the Bot API probe that keeps /readyz
current. bot/app.py adds them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from telegram.error import TelegramError

from bot.entrypoints.http.health import BotApiState
from bot.setup.core import Core
from bot.setup.scheduling import PollSchedule, add_heartbeat_job, wake_delivery, wake_job
from bot.setup.telegram_side import TelegramSide
from storage import feeds as feed_queries

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


BOT_API_PROBE_SECONDS = 30.0


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
