"""The tick watch: sees every poll and delivery tick from the inside, for metrics and for a
stop that lets the work in progress finish.

It observes the poller and the sender from outside their code (their PollObserver and
TickObserver), so those modules stay unaware of Prometheus and of shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from bot.delivery.sender import SendStats
from bot.entrypoints.http.metrics import Metrics
from bot.services.poller import PollOutcome
from bot.setup.telegram_side import TelegramSide
from storage import stats as stats_queries
from storage.db import Database

log = logging.getLogger(__name__)


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
