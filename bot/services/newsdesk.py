"""What readers ask for: the newest stories, a section, today's timeline, popular, search.

"Today" is the newsroom's day: midnight in its configured time zone, not UTC's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.editions import Reading, reading
from bot.services.related import RelatedStories
from storage import destinations as destination_queries
from storage import digests as digest_queries
from storage import editions as edition_queries
from storage import engagement as engagement_queries
from storage import stories as story_queries
from storage.db import Database
from storage.models import Story

LIST_SIZE = 10
TODAY_PAGE = 10
TIMELINE_LIMIT = 500
POPULAR_FALLBACK_DAYS = 7


# A reader's editions in preference order: its interface language's first, then the
# newsroom's order. None: every story, as before editions (tools and tests).
@dataclass(frozen=True, slots=True)
class Found:
    """Search results; `elsewhere` when none was in the reader's editions and these come
    from the others (each then shown with its language)."""

    stories: list[Story]
    elsewhere: bool = False


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
        related: RelatedStories,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._zone = zone
        self._related = related
        self._clock = clock

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    async def private_editions(self, user_id: int) -> set[str]:
        """The editions a user's private chat with the bot reads (none before /start): what
        inline mode and privately shown lists pick versions by."""
        async with self._db.sessions() as session:
            destination = await destination_queries.get_by_chat(session, user_id)
            if destination is None or destination.kind != "private":
                return set()
            return await edition_queries.editions_of(session, destination.id)

    async def user_reading(
        self, user_id: int, language: str | None, newsroom: Sequence[str], fallback: str
    ) -> Reading:
        """What one user reads outside their chat (inline mode, a list shown privately):
        their private chat's editions, else `fallback` (their Telegram language's edition),
        in preference order for `language` (see `reading`)."""
        if len(newsroom) < 2:
            return None
        editions = await self.private_editions(user_id) or {fallback}
        return reading(editions, language, newsroom)

    async def latest(self, section: str | None = None, editions: Reading = None) -> list[Story]:
        async with self._db.sessions() as session:
            found = await story_queries.latest(
                session, limit=LIST_SIZE, section=section, editions=editions
            )
        await self._record_reads(found)
        return found

    async def timeline(
        self, page: int = 0, section: str | None = None, editions: Reading = None
    ) -> Page:
        """Today's stories in chronological order, one page of them."""
        day = self.today()
        start, end = day_bounds(day, self._zone)
        async with self._db.sessions() as session:
            # The day's first TIMELINE_LIMIT stories make the pages; only one page is loaded.
            total = await story_queries.count_published_between(
                session, start, end, section=section, limit=TIMELINE_LIMIT, editions=editions
            )
            pages = max(1, -(-total // TODAY_PAGE))
            page = min(max(page, 0), pages - 1)
            chunk = await story_queries.published_between(
                session,
                start,
                end,
                section=section,
                limit=TODAY_PAGE,
                offset=page * TODAY_PAGE,
                editions=editions,
            )
        await self._record_reads(chunk)
        return Page(stories=chunk, page=page, pages=pages, day=day)

    async def popular(self, section: str | None = None, editions: Reading = None) -> list[Story]:
        """Today's most engaging story groups (engagement on every version counts), each
        in the reader's first edition that has it; the last week's when today is quiet."""
        now = self._clock()
        start, _ = day_bounds(self.today(), self._zone)
        windows = (start, now - timedelta(days=POPULAR_FALLBACK_DAYS))
        async with self._db.sessions() as session:
            found = await engagement_queries.popular_first(
                session, windows=windows, now=now, limit=LIST_SIZE, section=section,
                editions=editions,
            )  # fmt: skip
            if found:
                return found
            return await story_queries.latest(
                session, limit=LIST_SIZE, section=section, editions=editions
            )

    async def search(
        self, words: list[str], editions: Reading = None, everywhere: Sequence[str] = ()
    ) -> Found:
        """Search results a reader opened as a list (each counts as a read): in the
        reader's editions, else in the rest of the newsroom's `everywhere`.

        A misspelling (nothing the index matches in either) is looked up by headline
        similarity once over all of them, the reader's editions first, rather than once for
        each: the fallback's time budget is spent once per search."""
        others = [edition for edition in everywhere if editions and edition not in editions]
        if not others:
            found = Found(await self.find(words, editions=editions))
        else:
            found = await self._find_anywhere(words, list(editions or ()), others)
        await self._record_reads(found.stories)
        return found

    async def _find_anywhere(self, words: list[str], own: list[str], others: list[str]) -> Found:
        """The reader's editions, then the others; then one similarity pass over both."""
        async with self._db.sessions() as session:
            mine = await story_queries.search(
                session, words, limit=LIST_SIZE, editions=own, fuzzy=False
            )
            if mine:
                return Found(mine)
            theirs = await story_queries.search(
                session, words, limit=LIST_SIZE, editions=others, fuzzy=False
            )
            if theirs:
                return Found(theirs, elsewhere=True)
            alike = await story_queries.similar(
                session, words, limit=LIST_SIZE, editions=[*own, *others], preferred=own
            )
        close = [story for story in alike if story.edition in own]
        return Found(close) if close else Found(alike, elsewhere=bool(alike))

    async def find(
        self, words: list[str], limit: int = LIST_SIZE, editions: Reading = None
    ) -> list[Story]:
        """Stories matching the words through the full-text index, best first, each group
        once; no reads recorded (inline mode offers them; only a pick counts)."""
        async with self._db.sessions() as session:
            return await story_queries.search(session, words, limit=limit, editions=editions)

    async def related(self, story_id: int) -> tuple[Story | None, list[Story]]:
        """A story's related stories on demand (its "Related" button: a press counts)."""
        story, found = await self._related.with_related(story_id)
        if story is not None:
            await self.record(story.id, "press")
        return story, found

    async def record(self, story_id: int, kind: str) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await engagement_queries.record(session, story_id, kind, self._clock())

    async def record_pick(self, story_id: int) -> bool:
        """An inline-mode pick: a share of the story into some chat (ids come from clients)."""
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await engagement_queries.record_known(session, story_id, "inline", self._clock())

    async def reaction_total(self, chat_id: int, message_id: int, total: int) -> int | None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await engagement_queries.set_reaction_total(
                session, chat_id, message_id, total, self._clock()
            )

    async def toggle_digest(self, destination_id: int) -> bool:
        """Opt a chat in or out of the daily digest; returns whether it now receives it."""
        async with self._db.writing(), self._db.sessions.begin() as session:
            enabled = not await digest_queries.is_subscribed(session, destination_id)
            await digest_queries.set_digest(session, destination_id, enabled)
        return enabled

    async def _record_reads(self, stories: list[Story]) -> None:
        if not stories:
            return
        async with self._db.writing(), self._db.sessions.begin() as session:
            await engagement_queries.record_reads(session, [s.id for s in stories], self._clock())
