"""Stories waiting for their article page to name their versions (feeds with
`alternates = "page"`: their items name no versions, their pages do, for search engines).

Each such new story is stored waiting (`alternates_pending`), so the fan-out does not send a
reader of two editions the first version before the second is known to be one.
`PageAlternates.run` (a scheduled job, after the poll, never inside it) reads each waiting
story's page once through the shared Fetcher (its timeout, size cap and per-host limits; only
the first PAGE_BYTES), records the versions it names (storage/groups; the page is read by
bot/feeds/alternates.py), and lets the story go. A page that cannot be read, or a story
waiting past the deadline (a slow site, or a crash that left it waiting), is let go without:
late, it would still reach chats, ungrouped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.feeds.alternates import PAGE_BYTES, charset_of, page_versions
from bot.feeds.fetcher import Fetcher
from bot.feeds.normalize import FeedContext, alternate_editions
from bot.services.poller import PollObserver
from storage import groups
from storage.db import Database

log = logging.getLogger(__name__)

DEADLINE = timedelta(seconds=60)
BATCH = 100
CONCURRENCY = 4


class PageAlternates:
    """Reads the pages of stories waiting for them; one run at a time (the job's max)."""

    def __init__(
        self,
        database: Database,
        fetcher: Fetcher,
        *,
        editions: tuple[str, ...],
        default_edition: str | None,
        deadline: timedelta = DEADLINE,
        concurrency: int = CONCURRENCY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observer: PollObserver | None = None,
    ) -> None:
        self._db = database
        self._fetcher = fetcher
        # Sees each run as a poll, so a stop waits for (or cancels) it alike.
        self._observer = observer
        self._editions = editions
        self._default_edition = default_edition
        self._deadline = deadline
        self._slots = asyncio.Semaphore(concurrency)
        self._clock = clock

    async def run(self) -> int:
        """Read the waiting stories' pages; the number of stories let go to the fan-out."""
        if self._observer is not None:
            self._observer.poll_started()
        try:
            return await self._run()
        finally:
            if self._observer is not None:
                self._observer.poll_finished(None)

    async def _run(self) -> int:
        now = self._clock()
        async with self._db.writing(), self._db.sessions.begin() as session:
            expired = await groups.expire_pending(session, seen_before=now - self._deadline)
            waiting = await groups.pending_stories(session, limit=BATCH)
        if expired:
            log.warning("%d stories waited too long for their page: sent ungrouped", expired)
        # Each page is read once: read or not, its story stops waiting in `_record`.
        found = await asyncio.gather(*(self._read(story) for story in waiting))
        released = await self._record(list(zip(waiting, found, strict=True)))
        return released + expired

    async def _read(self, story: groups.Pending) -> tuple[tuple[str, str], ...]:
        """The versions the story's page names as (edition, canonical link); () on failure."""
        if not story.link:
            return ()
        async with self._slots:
            fetched = await self._fetcher.fetch(story.link, read_at_most=PAGE_BYTES)
        if fetched.error is not None or fetched.content is None:
            log.info("page of story %d not read (%s): no versions", story.story_id, fetched.detail)
            return ()
        # html.parser takes some 45 ms on a full 256 KiB page: in a thread, as feeds are
        # parsed (bot/feeds/extract.py), so command replies are not held up behind it.
        charset = charset_of(fetched.headers.get("content-type", ""))
        named = await asyncio.to_thread(page_versions, fetched.content, charset)
        context = FeedContext(
            feed_url=fetched.final_url,
            section=None,
            language=story.edition,
            editions=self._editions,
            default_edition=self._default_edition,
        )
        return alternate_editions(named, context, own_edition=story.edition, own_link=story.link)

    async def _record(self, read: list[tuple[groups.Pending, tuple[tuple[str, str], ...]]]) -> int:
        if not read:
            return 0
        async with self._db.writing(), self._db.sessions.begin() as session:
            await groups.record_versions(
                session, [groups.Versions(story.story_id, named) for story, named in read]
            )
            return await groups.clear_pending(session, [story.story_id for story, _ in read])
