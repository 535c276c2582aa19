"""What readers ask for: the newest stories, a section, today's timeline, popular, search.

"Today" is the newsroom's day: midnight in its configured time zone, not UTC's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage import engagement as engagement_queries
from storage import stories as story_queries
from storage.db import Database
from storage.models import Story

LIST_SIZE = 10
TODAY_PAGE = 10
POPULAR_FALLBACK_DAYS = 7


@dataclass(frozen=True, slots=True)
class Page:
    stories: list[Story]
    page: int
    pages: int
    day: date


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where the newsroom's `day` starts and ends (DST-safe)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


class Newsdesk:
    def __init__(
        self,
        database: Database,
        zone: ZoneInfo,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._zone = zone
        self._clock = clock

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    async def latest(self, section: str | None = None) -> list[Story]:
        async with self._db.sessions() as session:
            found = await story_queries.latest(session, limit=LIST_SIZE, section=section)
        await self._record_reads(found)
        return found

    async def timeline(self, page: int = 0, section: str | None = None) -> Page:
        """Today's stories in chronological order, one page of them."""
        day = self.today()
        start, end = day_bounds(day, self._zone)
        async with self._db.sessions() as session:
            found = await story_queries.published_between(session, start, end, section=section)
        pages = max(1, -(-len(found) // TODAY_PAGE))
        page = min(max(page, 0), pages - 1)
        chunk = found[page * TODAY_PAGE : (page + 1) * TODAY_PAGE]
        await self._record_reads(chunk)
        return Page(stories=chunk, page=page, pages=pages, day=day)

    async def popular(self, section: str | None = None) -> list[Story]:
        """Today's most engaging stories; the last week's when today is quiet."""
        now = self._clock()
        start, _ = day_bounds(self.today(), self._zone)
        async with self._db.sessions() as session:
            found = await engagement_queries.popular(
                session, since=start, now=now, limit=LIST_SIZE, section=section
            )
            if not found:
                found = await engagement_queries.popular(
                    session,
                    since=now - timedelta(days=POPULAR_FALLBACK_DAYS),
                    now=now,
                    limit=LIST_SIZE,
                    section=section,
                )
            if not found:
                found = await story_queries.latest(session, limit=LIST_SIZE, section=section)
        return found

    async def search(self, words: list[str]) -> list[Story]:
        async with self._db.sessions() as session:
            found = await story_queries.search(session, words, limit=LIST_SIZE)
        await self._record_reads(found)
        return found

    async def record(self, story_id: int, kind: str) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await engagement_queries.record(session, story_id, kind, self._clock())

    async def reaction_total(self, chat_id: int, message_id: int, total: int) -> int | None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await engagement_queries.set_reaction_total(
                session, chat_id, message_id, total, self._clock()
            )

    async def _record_reads(self, stories: list[Story]) -> None:
        if not stories:
            return
        async with self._db.writing(), self._db.sessions.begin() as session:
            await engagement_queries.record_reads(session, [s.id for s in stories], self._clock())
