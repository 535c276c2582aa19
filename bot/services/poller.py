"""One feed, start to finish: fetch, extract, store, record health, schedule the next poll
(the scheduled "refresh feeds" use case; bot/feeds fetches, parses and normalises for it).

New stories go in through the intake (bot/services/intake.py), as the CMS's do, and are not
handed on from here: they are stored with `fanned_out_at` unset, and the delivery tick
queues them (bot.delivery), so a crash between the two loses nothing.

A most-read feed (role = "popular") goes through the same fetch and parse, but its items are
never stored as stories, so never pushed: its order replaces the feed's kept list instead
(storage/most_read.py), which /popular blends in.

A failing feed is data (status, error, error count, next attempt), never an exception that
escapes: every other feed goes on as if nothing happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.feeds.extract import Extraction, Extractor
from bot.feeds.fetcher import Fetcher, FetchResult
from bot.feeds.normalize import FeedContext
from bot.services.intake import fitted_from_feed, store_from_feed
from storage import feeds as feed_queries
from storage import most_read as most_read_queries
from storage.db import Database
from storage.models import Feed
from storage.states import HEALTHY_POLLS, PollStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """The per-feed line `newsbot poll` prints, and what the scheduler needs next."""

    feed_id: int
    url: str
    status: str
    new: int = 0
    updated: int = 0
    elapsed: float = 0.0
    detail: str | None = None
    next_poll_at: datetime | None = None
    pushable_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    ranked: int = 0  # places kept from a most-read feed (0: none, or the last list kept)

    @property
    def ok(self) -> bool:
        return self.status in HEALTHY_POLLS


def backoff_delay(interval: int, errors: int, cap: int, retry_after: float | None) -> float:
    """Seconds until the next attempt after `errors` consecutive failures.

    Doubling per failure, capped, never sooner than the server's Retry-After (RFC 9110
    §10.2.3): a newsroom's CDN that says "come back in an hour" is obeyed, up to the
    operator's `max_backoff`, the longest a feed may go unpolled.
    """
    delay = min(interval * (2 ** min(errors, 20)), cap)
    return min(max(delay, retry_after or 0.0), max(cap, interval))


Deferred = list[tuple[int, feed_queries.PollRecord]]
# A job firing this close before the feed's next poll time still polls (clock and timer
# drift); small, so another instance's job right after a poll never polls again.
DUE_SLACK = timedelta(milliseconds=100)


def success_interval(
    interval: int, hints: Iterable[float | None], *, own_interval: bool, ceiling: int
) -> float:
    """Seconds until the next poll after a successful one.

    A feed with its own `poll_interval` in the config is polled on it. Any other feed, as
    Miniflux does, waits as long as its server says nothing new will appear: the largest of
    RSS <ttl> and the response's freshness (Cache-Control max-age or Expires, RFC 9111
    §4.2.1), never less than the newsroom's `poll_interval` and never more than
    `max_poll_interval`, so a CDN's "max-age=86400" cannot make a news feed go quiet.
    """
    if own_interval:
        return float(interval)
    longest = max((hint for hint in hints if hint), default=0.0)
    return float(max(interval, min(longest, ceiling)))


class PollObserver(Protocol):
    """Sees every poll start and end (metrics, and a stop that lets polls finish)."""

    def poll_started(self) -> None: ...

    def poll_finished(self, outcome: PollOutcome | None) -> None:
        """`outcome` is None when the poll was cancelled."""


class Poller:
    """Polls feeds; owns nothing but references to the shared database, fetcher and extractor."""

    def __init__(
        self,
        database: Database,
        fetcher: Fetcher,
        extractor: Extractor,
        *,
        categories: dict[str, str],
        editions: tuple[str, ...] = (),
        default_edition: str | None = None,
        max_backoff: int,
        max_poll_interval: int = 900,
        own_interval_urls: frozenset[str] = frozenset(),
        page_alternates_urls: frozenset[str] = frozenset(),
        instance: str = "local",
        lease: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observer: PollObserver | None = None,
    ) -> None:
        self._db = database
        self._observer = observer
        self._fetcher = fetcher
        self._extractor = extractor
        self._categories = categories
        self._editions = editions
        self._default_edition = default_edition
        self._max_backoff = max_backoff
        self._max_poll_interval = max_poll_interval
        self._own_interval_urls = own_interval_urls
        # Feeds with alternates = "page": their new stories wait for their page to be read
        # (bot/services/alternates.py) before the fan-out takes them.
        self._page_alternates_urls = page_alternates_urls
        self._instance = instance
        self._lease = lease
        self._clock = clock

    async def poll(self, feed_id: int) -> PollOutcome | None:
        """Poll one feed if it is due and no other instance holds it (a scheduled poll).

        Returns None when the feed is gone or disabled; a "skipped" outcome carrying the
        feed's next poll time when it is not due or another instance is polling it.
        """
        # Seen from its first query, not only once claimed: a stop waits for (or cancels)
        # this poll before the database closes under it (bot/setup/tick_watch.py finish_deliveries).
        # poll_feed reports the outcome; the end here only closes what it did not reach.
        if self._observer is not None:
            self._observer.poll_started()
        try:
            now = self._clock()
            async with self._db.writing(), self._db.sessions.begin() as session:
                claimed = await feed_queries.claim_feed(
                    session, feed_id, self._instance, now, self._lease, due_slack=DUE_SLACK
                )
            async with self._db.sessions() as session:
                feed = await feed_queries.get_feed(session, feed_id)
            if feed is None or not feed.enabled:
                return None
            if not claimed:
                return PollOutcome(
                    feed_id=feed.id,
                    url=feed.url,
                    status=PollStatus.SKIPPED,
                    next_poll_at=feed.next_poll_at,
                )
            return await self.poll_feed(feed)
        finally:
            if self._observer is not None:
                self._observer.poll_finished(None)

    async def poll_feed(self, feed: Feed, deferred: Deferred | None = None) -> PollOutcome:
        """Poll a feed row already read (its validators and error count are current).

        With `deferred`, health records that store no stories are collected there for the
        caller to write in one transaction instead of one each.
        """
        started = time.perf_counter()
        if self._observer is not None:
            self._observer.poll_started()
        outcome: PollOutcome | None = None
        try:
            outcome = await self._poll(feed, started, deferred)
        except Exception as exc:  # a bug or a database outage must not stop other feeds
            log.exception("poll of %s failed unexpectedly", feed.url)
            outcome = await self._record_failure(
                feed,
                PollStatus.INTERNAL_ERROR,
                f"{type(exc).__name__}: {exc}",
                None,
                started,
                deferred,
            )
        finally:
            if self._observer is not None:
                self._observer.poll_finished(outcome)
        return outcome

    async def poll_all(self) -> list[PollOutcome]:
        """Poll every enabled feed once, concurrently (the fetcher bounds the concurrency)."""
        async with self._db.sessions() as session:
            feeds = await feed_queries.enabled_feeds(session)
        deferred: Deferred = []
        outcomes = await asyncio.gather(*(self.poll_feed(feed, deferred) for feed in feeds))
        await self._write_records(deferred)
        return list(outcomes)

    async def _write_records(self, records: Deferred) -> None:
        if not records:
            return
        async with self._db.writing(), self._db.sessions.begin() as session:
            for feed_id, record in records:
                await feed_queries.record_poll(session, feed_id, record)

    async def _poll(self, feed: Feed, started: float, deferred: Deferred | None) -> PollOutcome:
        fetched = await self._fetcher.fetch(
            feed.url, etag=feed.etag, last_modified=feed.last_modified
        )
        if fetched.error is not None:
            return await self._record_failure(
                feed, str(fetched.error), fetched.detail, fetched.retry_after, started, deferred
            )
        if fetched.not_modified:
            # RFC 9110 §15.4.5: nothing changed, so nothing is parsed or stored.
            return await self._record_success(feed, fetched, None, started, deferred)
        assert fetched.content is not None
        extraction = await self._extractor.extract(
            fetched.content, fetched.final_url, fetched.headers, self._context(feed)
        )
        if extraction.error is not None:
            return await self._record_failure(
                feed, str(extraction.error), extraction.detail, None, started, deferred
            )
        return await self._record_success(feed, fetched, extraction, started, deferred)

    def _context(self, feed: Feed) -> FeedContext:
        return FeedContext(
            feed_url=feed.url,
            section=feed.section,
            language=feed.language,
            categories=self._categories,
            now=self._clock(),
            editions=self._editions,
            default_edition=self._default_edition,
        )

    async def _record_success(
        self,
        feed: Feed,
        fetched: FetchResult,
        extraction: Extraction | None,
        started: float,
        deferred: Deferred | None,
    ) -> PollOutcome:
        now = self._clock()
        interval = success_interval(
            feed.poll_interval,
            (fetched.max_age, extraction.ttl_seconds if extraction else None),
            own_interval=feed.url in self._own_interval_urls,
            ceiling=self._max_poll_interval,
        )
        next_poll = now + timedelta(seconds=interval)
        status = PollStatus.NOT_MODIFIED if extraction is None else PollStatus.OK
        record = feed_queries.PollRecord(
            fetched_at=now,
            status=status,
            error=None,
            next_poll_at=next_poll,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            title=extraction.title if extraction else None,
            body_read=extraction is not None,
            warning=extraction.warning if extraction else None,
        )
        new_ids: list[int] = []
        updated_ids: list[int] = []
        ranked = 0
        pushable = feed.backlog_done
        if extraction is None and deferred is not None:
            deferred.append((feed.id, record))
        elif feed.role == "popular":
            ranked = await self._rank(feed, record, extraction, now)
        else:
            new_ids, updated_ids = await self._store(feed, record, extraction, now)
        outcome = PollOutcome(
            feed_id=feed.id,
            url=feed.url,
            status=status,
            new=len(new_ids),
            updated=len(updated_ids),
            elapsed=time.perf_counter() - started,
            detail=extraction.warning if extraction else None,
            next_poll_at=next_poll,
            pushable_ids=new_ids if pushable else [],
            updated_ids=updated_ids,
            ranked=ranked,
        )
        log.info(
            "polled %s: %s, %d new, %d updated, %d ranked, %.2fs",
            feed.url,
            status,
            outcome.new,
            outcome.updated,
            outcome.ranked,
            outcome.elapsed,
        )
        return outcome

    async def _rank(
        self,
        feed: Feed,
        record: feed_queries.PollRecord,
        extraction: Extraction | None,
        now: datetime,
    ) -> int:
        """A most-read feed's order and its health in one transaction; the places kept.

        Nothing is stored as a story and the backlog flag is left alone: were the feed turned
        into a news feed later, its first poll would still be backlog, not a flood. An empty
        list keeps the last one (so does a failed or unchanged fetch, which never get here).
        """
        ranked = 0
        drafts = fitted_from_feed(feed, extraction.drafts if extraction is not None else ())
        async with self._db.writing(), self._db.sessions.begin() as session:
            if extraction is not None:
                ranked = await most_read_queries.replace_list(session, feed.id, drafts, now)
            await feed_queries.record_poll(session, feed.id, record)
        return ranked

    async def _store(
        self,
        feed: Feed,
        record: feed_queries.PollRecord,
        extraction: Extraction | None,
        now: datetime,
    ) -> tuple[list[int], list[int]]:
        """Stories (bot/services/intake.py) and the feed's health in one transaction: (new
        ids, corrected ids)."""
        new_ids: list[int] = []
        updated_ids: list[int] = []
        drafts = fitted_from_feed(feed, extraction.drafts if extraction is not None else ())
        async with self._db.writing(), self._db.sessions.begin() as session:
            # The feed's row first: its UPDATE opens the transaction on SQLite too, so the
            # stories' savepoints below nest inside it (pysqlite opens none for SAVEPOINT).
            await feed_queries.record_poll(session, feed.id, record)
            new_ids, updated_ids = await store_from_feed(
                session,
                feed,
                drafts,
                now,
                alternates_pending=feed.url in self._page_alternates_urls,
            )
            if not feed.backlog_done and extraction is not None:
                await feed_queries.mark_backlog_done(session, feed.id)
        return new_ids, updated_ids

    async def _record_failure(
        self,
        feed: Feed,
        status: str,
        detail: str | None,
        retry_after: float | None,
        started: float,
        deferred: Deferred | None,
    ) -> PollOutcome:
        now = self._clock()
        delay = backoff_delay(
            feed.poll_interval, feed.consecutive_errors, self._max_backoff, retry_after
        )
        next_poll = now + timedelta(seconds=delay)
        record = feed_queries.PollRecord(
            fetched_at=now, status=status, error=detail, next_poll_at=next_poll, succeeded=False
        )
        if deferred is not None:
            deferred.append((feed.id, record))
        else:
            await self._write_records([(feed.id, record)])
        log.warning("polled %s: %s (%s); next try in %.0fs", feed.url, status, detail, delay)
        return PollOutcome(
            feed_id=feed.id,
            url=feed.url,
            status=status,
            elapsed=time.perf_counter() - started,
            detail=detail,
            next_poll_at=next_poll,
        )
