"""The versions an article page names: `<link rel="alternate" hreflang="xx" href>` in its head.

For feeds with `alternates = "page"` (their items name no versions, their pages do, for
search engines) each new story is stored waiting (`alternates_pending`), so the fan-out does
not send a reader of two editions the first version before the second is known to be one.
`PageAlternates.run` (a scheduled job, after the poll, never inside it) reads each waiting
story's page once through the shared Fetcher (its timeout, size cap and per-host limits; only
the first PAGE_BYTES), records the versions it names (storage/groups), and lets the story go.
A page that cannot be read, or a story waiting past the deadline (a slow site, or a crash
that left it waiting), is let go without: late, it would still reach chats, ungrouped.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from bot.feeds.fetcher import Fetcher
from bot.feeds.normalize import FeedContext, alternate_editions
from bot.feeds.poller import PollObserver
from storage import groups
from storage.db import Database

log = logging.getLogger(__name__)

PAGE_BYTES = 256 * 1024
DEADLINE = timedelta(seconds=60)
BATCH = 100
CONCURRENCY = 4


class _HreflangLinks(HTMLParser):
    """Collects (hreflang, href) of <link rel="alternate" hreflang href> anywhere in the
    markup (a junk page, unclosed tags and all, still gives what it has): html.parser never
    raises on bad HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {name.lower(): (value or "").strip() for name, value in attrs}
        if "alternate" not in values.get("rel", "").lower().split():
            return
        if values.get("hreflang") and values.get("href"):
            self.found.append((values["hreflang"], values["href"]))

    handle_startendtag = handle_starttag


def page_versions(content: bytes, charset: str | None = None) -> list[tuple[str, str]]:
    """(hreflang, href) as the page names them, in page order."""
    text = content.decode(_codec(charset), errors="replace")
    parser = _HreflangLinks()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # html.parser on truly broken declarations
        pass
    return parser.found


def _codec(charset: str | None) -> str:
    """The page's declared charset if Python knows it, else UTF-8 (hreflang URLs are ASCII
    or percent-encoded on nearly every site, so a wrong guess costs little)."""
    try:
        return codecs.lookup(charset).name if charset else "utf-8"
    except LookupError:
        return "utf-8"


def _charset(content_type: str) -> str | None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


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
        charset = _charset(fetched.headers.get("content-type", ""))
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
