"""What a Telegram refusal does to a claimed delivery (the reading is outcomes.py's).

- 429: wait out retry_after (everyone pauses) and requeue; not counted as a failed attempt.
- 403 (blocked, kicked, deactivated) and "chat not found": the chat is marked inactive.
- 400 with migrate_to_chat_id: the chat moves to its supergroup id and the message is resent.
- other 400s: the delivery fails with Telegram's reason (retrying would not change it).
- timeouts, network errors, 5xx: retried with capped exponential back-off; after
  `max_attempts` the delivery ends as failed with its reason, never silently gone.

A bundle's or a roundup's rows share their message's fate: all of them, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.delivery.outcomes import Outcome, Verdict
from bot.delivery.pacer import Pacer
from bot.domain.bundling import rows_of
from bot.domain.outbox import DeliveryJob
from storage import delivery_results as outcome_queries
from storage import destinations as destination_queries
from storage.db import Database

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600


@dataclass
class SendStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    # Stories per message sent for a bundle or a roundup (one entry per such message).
    bundles: list[int] = field(default_factory=list)
    # Seconds each message waited in the outbox (from queued to sent), for the lag histogram.
    waited: list[float] = field(default_factory=list)
    # Breaking news that fell back to the free pace because the day's paid budget ran out.
    paid_spent: set[int] = field(default_factory=set)
    # The time budget ran out with deliveries still due: the next tick should come at once.
    unfinished: bool = False


class Refusals:
    """Applies Telegram's answer to a delivery that was not sent (see the module)."""

    def __init__(
        self,
        database: Database,
        pacer: Pacer,
        clock: Callable[[], datetime],
        max_attempts: int,
    ) -> None:
        self._db = database
        self._pacer = pacer
        self._clock = clock
        self._max_attempts = max_attempts

    async def handle(self, job: DeliveryJob, outcome: Outcome, stats: SendStats) -> None:
        """What Telegram's refusal means for this delivery (bot/delivery/outcomes.py)."""
        match outcome.verdict:
            case Verdict.RATE_LIMITED:
                await self._rate_limited(job, outcome.retry_after, stats)
            case Verdict.MIGRATED:
                assert outcome.new_chat_id is not None
                await self._migrated(job, outcome.new_chat_id, stats)
            case Verdict.GONE:
                await self._gone(job, outcome.reason, stats)
            case Verdict.REFUSED:
                await self.fail(job, outcome.reason, stats)
            case Verdict.TRANSIENT:
                await self._retry(job, outcome.reason, stats)

    async def _rate_limited(self, job: DeliveryJob, seconds: float, stats: SendStats) -> None:
        stats.rate_limited += 1
        self._pacer.pause(seconds)
        log.warning("Telegram asked to wait %.0fs (429); pausing all sends", seconds)
        at = self._clock() + timedelta(seconds=seconds)
        async with self._db.writing(), self._db.sessions.begin() as session:
            await outcome_queries.requeue(
                session, rows_of(job), at, "429: rate limited", refund_attempt=True
            )

    async def _migrated(self, job: DeliveryJob, new_chat_id: int, stats: SendStats) -> None:
        now = self._clock()
        async with self._db.writing(), self._db.sessions.begin() as session:
            await destination_queries.move_chat(session, job.chat_id, new_chat_id, now)
            await outcome_queries.requeue(
                session,
                rows_of(job),
                now,
                f"chat migrated to {new_chat_id}",
                refund_attempt=True,
            )
        stats.retried += 1

    async def _gone(self, job: DeliveryJob, reason: str, stats: SendStats) -> None:
        log.info("chat %s is gone (%s); marking it inactive", job.chat_id, reason)
        async with self._db.writing(), self._db.sessions.begin() as session:
            for delivery_id in rows_of(job):
                await outcome_queries.mark_failed(session, delivery_id, reason)
            await outcome_queries.chat_gone(session, job.chat_id, reason, self._clock())
        stats.failed += 1

    async def fail(self, job: DeliveryJob, reason: str, stats: SendStats) -> None:
        log.warning("delivery %s to chat %s failed: %s", job.id, job.chat_id, reason)
        async with self._db.writing(), self._db.sessions.begin() as session:
            for delivery_id in rows_of(job):
                await outcome_queries.mark_failed(session, delivery_id, reason)
        stats.failed += 1

    async def _retry(self, job: DeliveryJob, reason: str, stats: SendStats) -> None:
        if job.attempts >= self._max_attempts:
            await self.fail(job, f"gave up after {job.attempts} attempts: {reason}", stats)
            return
        delay = min(2**job.attempts, MAX_BACKOFF_SECONDS)
        async with self._db.writing(), self._db.sessions.begin() as session:
            await outcome_queries.requeue(
                session, rows_of(job), self._clock() + timedelta(seconds=delay), reason
            )
        stats.retried += 1
