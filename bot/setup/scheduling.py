"""APScheduler jobs: one polling job per feed (each on its own interval, with jitter).

Each feed job runs at most one instance (no overlapping polls of one feed) and coalesces
missed runs into one, so a process that was suspended does not fire a burst of polls.
After a failed poll the job is moved to the back-off time the poller decided.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.services.poller import Poller

log = logging.getLogger(__name__)

# Spread first polls over a few seconds so a restart does not hit every feed at once.
STARTUP_SPREAD_SECONDS = 5.0


def jitter_for(interval: int) -> float:
    """Up to 10% of the interval (at most 30 s), so feeds on one host drift apart."""
    return min(interval * 0.1, 30.0)


def poll_job_id(feed_id: int) -> str:
    return f"poll-feed-{feed_id}"


class PollSchedule:
    """Keeps one APScheduler job per enabled feed and reschedules after back-off."""

    def __init__(
        self,
        scheduler: AsyncIOScheduler,
        poller: Poller,
        after_new_stories: Callable[[], None] | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._poller = poller
        self._after_new_stories = after_new_stories

    def add_feeds(self, feeds: Iterable[tuple[int, int, datetime | None]]) -> None:
        """Schedule (feed id, interval seconds, next poll time) triples."""
        now = datetime.now(UTC)
        for feed_id, interval, next_poll_at in feeds:
            first = max(next_poll_at or now, now) + timedelta(
                seconds=random.uniform(0, min(STARTUP_SPREAD_SECONDS, interval))
            )
            self._scheduler.add_job(
                self._poll,
                IntervalTrigger(seconds=interval, jitter=jitter_for(interval)),
                args=[feed_id],
                id=poll_job_id(feed_id),
                name=f"poll feed {feed_id}",
                next_run_time=first,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(interval, 30),
                replace_existing=True,
            )

    async def _poll(self, feed_id: int) -> None:
        outcome = await self._poller.poll(feed_id)
        if outcome is None:
            self._remove(feed_id)
            return
        if outcome.pushable_ids and self._after_new_stories is not None:
            self._after_new_stories()
        if outcome.next_poll_at is not None:
            # Follow the time stored with the feed (back-off, or another instance's poll),
            # so every instance's job fires when the feed is next due.
            job = self._scheduler.get_job(poll_job_id(feed_id))
            if job is not None:
                at = max(outcome.next_poll_at, datetime.now(UTC))
                job.modify(next_run_time=at + timedelta(seconds=random.uniform(0, 0.5)))

    def _remove(self, feed_id: int) -> None:
        job = self._scheduler.get_job(poll_job_id(feed_id))
        if job is not None:
            job.remove()


DELIVERY_JOB_ID = "deliver"
UPDATES_JOB_ID = "take-updates"


def add_updates_job(
    scheduler: AsyncIOScheduler, follow: Callable[[], Awaitable[object]], every: float
) -> None:
    """Keep (or take over) the long-polling role: one try at a time, missed tries merged."""
    scheduler.add_job(
        follow,
        IntervalTrigger(seconds=every),
        id=UPDATES_JOB_ID,
        name="take updates",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        replace_existing=True,
    )


def add_heartbeat_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    name: str,
    work: Callable[[], Awaitable[object]],
    every: float,
) -> None:
    """A job that runs every `every` seconds, one run at a time, missed runs merged into
    one: the shape of the sender's tick and of the article-page reader."""
    scheduler.add_job(
        work,
        IntervalTrigger(seconds=every),
        id=job_id,
        name=name,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        replace_existing=True,
    )


def wake_job(scheduler: AsyncIOScheduler, job_id: str) -> None:
    """Run a heartbeat job now rather than at its next beat."""
    job = scheduler.get_job(job_id)
    if job is not None:
        job.modify(next_run_time=datetime.now(UTC))


def add_delivery_job(
    scheduler: AsyncIOScheduler, tick: Callable[[], Awaitable[object]], every: float = 1.0
) -> None:
    """The sender's heartbeat: one tick at a time, missed ticks merged into one."""
    add_heartbeat_job(scheduler, DELIVERY_JOB_ID, "deliver", tick, every)


def wake_delivery(scheduler: AsyncIOScheduler) -> None:
    """Run the delivery tick now rather than at its next beat (new stories, breaking news)."""
    wake_job(scheduler, DELIVERY_JOB_ID)
