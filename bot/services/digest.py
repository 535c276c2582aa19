"""The daily digest: "<date>. Timeline of major events" to every destination that opted in.

Slots are the newsroom's wall-clock times (settings.digest_times in settings.zone), run by
APScheduler cron jobs. Each destination gets each slot at most once: the slot is claimed in
digest_sends before the message goes out and marked sent (or failed) after, so a restart, a
re-run or a second instance finds the claim and skips it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.config import Settings
from bot.services.newsdesk import day_bounds
from bot.telegram.i18n import Catalogues
from bot.telegram.render import OutgoingMessage, render_digest
from bot.telegram.send import deliver
from storage import destinations as destination_queries
from storage import digests as digest_queries
from storage import engagement as engagement_queries
from storage import stories as story_queries
from storage.db import Database
from storage.models import Destination, Story

log = logging.getLogger(__name__)

DIGEST_SIZE = 10
# Well under Telegram's ~30 messages/s broadcast limit; the digest is not urgent.
SEND_INTERVAL = 0.05
# A slot missed by this much (the bot was down) is skipped rather than sent late.
MISFIRE_GRACE_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class SlotReport:
    slot: str
    sent: int
    skipped: int
    failed: int


class Digest:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        settings: Settings,
        catalogues: Catalogues,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._bot = bot
        self._settings = settings
        self._catalogues = catalogues
        self._clock = clock

    def slot_name(self, at: str) -> str:
        """`2026-11-19T08:00`: the newsroom's date and the configured time."""
        return f"{self._clock().astimezone(self._settings.zone).date().isoformat()}T{at}"

    async def top_of_day(self) -> list[Story]:
        """The newsroom day's stories by popularity; its newest when nobody engaged yet."""
        now = self._clock()
        start, end = day_bounds(now.astimezone(self._settings.zone).date(), self._settings.zone)
        async with self._db.sessions() as session:
            found = await engagement_queries.popular(
                session, since=start, now=now, limit=DIGEST_SIZE
            )
            if len(found) < DIGEST_SIZE:
                day = await story_queries.published_between(session, start, end)
                known = {story.id for story in found}
                newest = [story for story in reversed(day) if story.id not in known]
                found += newest[: DIGEST_SIZE - len(found)]
        return found

    async def run_slot(self, at: str) -> SlotReport:
        """Send slot `at` ("08:00") to every subscriber that has not had it yet."""
        slot = self.slot_name(at)
        stories = await self.top_of_day()
        async with self._db.sessions() as session:
            subscribers = await digest_queries.subscribers(session)
        sent = skipped = failed = 0
        rendered: dict[str, OutgoingMessage] = {}
        if not stories:
            return SlotReport(slot, 0, len(subscribers), 0)
        for destination in subscribers:
            if not await self._claim(destination.id, slot):
                skipped += 1
                continue
            language = destination.language or self._settings.language
            if language not in rendered:
                rendered[language] = self._render(stories, language)
            if await self._deliver(destination, slot, rendered[language]):
                sent += 1
            else:
                failed += 1
            await asyncio.sleep(SEND_INTERVAL)
        log.info("digest %s: %d sent, %d already sent, %d failed", slot, sent, skipped, failed)
        return SlotReport(slot, sent, skipped, failed)

    def _render(self, stories: list[Story], language: str) -> OutgoingMessage:
        t = self._catalogues.translator(language)
        zone = self._settings.zone
        day = datetime.combine(self._clock().astimezone(zone).date(), time(12), zone)
        return render_digest(
            t("digest_title", date=t.day(day, zone)),
            stories,
            t=t,
            zone=zone,
            section_titles={s.slug: s.title_in(language) for s in self._settings.sections},
        )

    async def _claim(self, destination_id: int, slot: str) -> bool:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await digest_queries.claim(session, destination_id, slot, self._clock())

    async def _deliver(self, destination: Destination, slot: str, message: OutgoingMessage) -> bool:
        message_id: int | None = None
        try:
            message_id = (await deliver(self._bot, destination.chat_id, message)).message_id
        except (Forbidden, BadRequest) as exc:
            log.warning("digest to %s refused: %s", destination.chat_id, exc.message)
            if isinstance(exc, Forbidden) or "chat not found" in exc.message.lower():
                async with self._db.writing(), self._db.sessions.begin() as session:
                    await destination_queries.deactivate(
                        session, destination.chat_id, exc.message[:255], self._clock()
                    )
        except TelegramError as exc:  # network trouble: the slot stays failed, never doubled
            log.warning("digest to %s failed: %s", destination.chat_id, exc)
        async with self._db.writing(), self._db.sessions.begin() as session:
            await digest_queries.finish(
                session,
                destination.id,
                slot,
                status="sent" if message_id is not None else "failed",
                message_id=message_id,
                now=self._clock(),
            )
        return message_id is not None


def add_digest_jobs(scheduler: AsyncIOScheduler, digest: Digest, settings: Settings) -> None:
    """One cron job per configured time, on the newsroom's clock (DST-aware)."""
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


def schedule_digest(
    scheduler: AsyncIOScheduler,
    database: Database,
    bot: Bot,
    settings: Settings,
    catalogues: Catalogues,
) -> Digest:
    """Build the digest sender and schedule its slots (the one call bot.app makes)."""
    digest = Digest(database, bot, settings, catalogues)
    add_digest_jobs(scheduler, digest, settings)
    return digest
