"""The daily digest: "<date>. Timeline of major events" to every destination that opted in.

Slots are the newsroom's wall-clock times (settings.digest_times in settings.zone), run by
APScheduler cron jobs. A slot is queued in the outbox like any story: the day's top stories
are fixed with the slot (as story groups: the top of each edition, in one order) and one
delivery per opted-in destination is queued, in one transaction; the sender
(bot/delivery/sender.py) sends them, paced, rendered in each chat's language, each group
as its version in the chat's first edition that has it. The deliveries' unique key
(destination, slot) means each chat gets each slot once, however often it is queued (a
restart, a second instance); the outbox survives a crash mid-send like any fan-out. A slot
missed by more than an hour is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import Settings
from bot.services.newsdesk import day_bounds
from storage import digests as digest_queries
from storage import engagement as engagement_queries
from storage import stories as story_queries
from storage.db import Database

log = logging.getLogger(__name__)

DIGEST_SIZE = 10
MISFIRE_GRACE_SECONDS = int(digest_queries.MISSED_AFTER.total_seconds())


@dataclass(frozen=True, slots=True)
class SlotReport:
    slot: str
    # Deliveries queued by this run, and chats that had the slot queued before.
    queued: int
    already: int


@dataclass(frozen=True, slots=True)
class Slot:
    """One occurrence of a digest time: `2026-11-19T08:00`, due at that time in the zone."""

    name: str
    day: str
    due_at: datetime


def latest_slot(at: str, now: datetime, zone: ZoneInfo) -> Slot:
    """The latest occurrence of `at` ("08:00") not after `now` on the newsroom's clock, so
    a job firing late after midnight still names the evening it belongs to."""
    hour, minute = (int(part) for part in at.split(":"))
    local = now.astimezone(zone)
    due = datetime(local.year, local.month, local.day, hour, minute, tzinfo=zone)
    if due > local:
        day = due.date() - timedelta(days=1)
        due = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    return Slot(f"{due.date().isoformat()}T{at}", due.date().isoformat(), due.astimezone(UTC))


class Digest:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        wake_delivery: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._settings = settings
        self._wake_delivery = wake_delivery
        self._clock = clock

    async def top_of_day(self, slot: Slot) -> list[int]:
        """The slot's day's top story groups, best first: each edition's DIGEST_SIZE top
        groups by popularity (engagement on every version counts; its newest when nobody
        engaged yet), merged in one order, so every reader's digest (the first DIGEST_SIZE
        groups it has a version of, compose.py) is the top of its own editions."""
        now = self._clock()
        day = datetime.fromisoformat(slot.day).date()
        start, end = day_bounds(day, self._settings.zone)
        ranked: dict[int, tuple[int, float]] = {}  # group -> (0 popular / 1 newest, -score)
        newsroom = self._settings.editions
        # One edition: every story is in it (see bot/domain/editions.py reading), no filter needed.
        each: list[tuple[str] | None] = [(e,) for e in newsroom] if len(newsroom) > 1 else [None]
        async with self._db.sessions() as session:
            for edition in each:
                popular = await engagement_queries.popular_groups(
                    session, since=start, now=now, limit=DIGEST_SIZE, editions=edition
                )
                keys = [(group.group_id, (0, -group.score)) for group in popular[:DIGEST_SIZE]]
                if len(keys) < DIGEST_SIZE:
                    stories = await story_queries.published_between(
                        session, start, end, editions=edition
                    )
                    known = {group for group, _ in keys}
                    newest = [s for s in reversed(stories) if s.group_id not in known]
                    keys += [
                        (s.group_id or s.id, (1, -s.published_at.timestamp()))
                        for s in newest[: DIGEST_SIZE - len(keys)]
                    ]
                for group, key in keys:
                    ranked[group] = min(ranked.get(group, key), key)
        return sorted(ranked, key=lambda group: (ranked[group], -group))

    async def run_slot(self, at: str) -> SlotReport:
        """Queue slot `at` ("08:00") for every opted-in chat that has not had it queued."""
        slot = latest_slot(at, self._clock(), self._settings.zone)
        if self._clock() - slot.due_at > digest_queries.MISSED_AFTER:
            log.info("digest %s missed by more than an hour: skipped", slot.name)
            return SlotReport(slot.name, 0, 0)
        groups = await self.top_of_day(slot)
        if not groups:
            log.info("digest %s: no stories today, nothing queued", slot.name)
            return SlotReport(slot.name, 0, 0)
        async with self._db.writing(), self._db.sessions.begin() as session:
            queued = await digest_queries.queue_slot(
                session,
                slot.name,
                day=slot.day,
                due_at=slot.due_at,
                story_ids=groups,
                now=self._clock(),
            )
        log.info("digest %s: %d queued, %d queued before", slot.name, queued.queued, queued.already)
        if queued.queued and self._wake_delivery is not None:
            self._wake_delivery()
        return SlotReport(slot.name, queued.queued, queued.already)

    def due_within_grace(self, times: list[str]) -> list[str]:
        """The times whose latest slot passed less than an hour ago: a bot started (or
        restarted) then queues them at once rather than skipping them."""
        now = self._clock()
        return [
            at
            for at in times
            if now - latest_slot(at, now, self._settings.zone).due_at <= digest_queries.MISSED_AFTER
        ]


def add_digest_jobs(scheduler: AsyncIOScheduler, digest: Digest, settings: Settings) -> None:
    """One cron job per configured time, on the newsroom's clock (DST-aware); and, once at
    start-up, each slot that came due within the last hour (queueing is idempotent, so a
    slot already queued before a restart queues nothing new)."""
    for at in settings.digest_times:
        hour, minute = (int(part) for part in at.split(":"))
        scheduler.add_job(
            digest.run_slot,
            CronTrigger(hour=hour, minute=minute, timezone=settings.zone),
            args=[at],
            id=f"digest-{at}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
    for at in digest.due_within_grace(settings.digest_times):
        scheduler.add_job(
            digest.run_slot,
            args=[at],
            id=f"digest-{at}-catch-up",
            replace_existing=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
