"""The console's Stats tab: deliveries sent and failed per day by edition, the backlog now,
and the most engaging stories with their reach and reactions.

Every figure is counted by the database (storage/stats.py, storage/engagement.py): this only
lays the counts out as series, a value for every day of the window (days without deliveries
are zeros), so a plot needs no gaps filled.

Counting a window's deliveries reads every outbox row in it (a million in a busy week: a
second), so the series and the top stories are kept per window and shared by every editor
who looks: counted again in the background once they are SERIES_TTL old, never while a call
waits but the first (bot/services/recount.py). The backlog is read fresh on each call (an
indexed count of the waiting rows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.services.recount import Recounted
from storage import engagement as engagement_queries
from storage import stats as stats_queries
from storage.db import Database
from storage.states import DeliveryStatus
from storage.stats import Outbox

TOP_STORIES = 10
# How long a window's series and top stories are reused, in seconds.
SERIES_TTL = 60.0
SERIES_STATES = (DeliveryStatus.SENT.value, DeliveryStatus.FAILED.value)


@dataclass(frozen=True, slots=True)
class Series:
    """One edition's sent and failed deliveries per day (None: breaking news and digests,
    which carry no story)."""

    edition: str | None
    sent: list[int]
    failed: list[int]


@dataclass(frozen=True, slots=True)
class TopStory:
    id: int
    headline: str
    section: str
    edition: str | None
    published_at: datetime
    reach: int
    reactions: int


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    days: list[str]  # YYYY-MM-DD, UTC, oldest first, the last one today
    series: list[Series]
    backlog: Outbox
    top: list[TopStory]


@dataclass(frozen=True, slots=True)
class _Counted:
    days: list[str]
    series: list[Series]
    top: list[TopStory]


class ConsoleStats:
    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._clock = clock
        self._monotonic = monotonic
        # (days, today) -> that window's counts, recounted in the background once they are
        # SERIES_TTL old (bot/services/recount.py); a new day's windows replace them.
        self._windows: dict[tuple[int, str], Recounted[_Counted]] = {}

    async def stats(self, days: int) -> DeliveryStats:
        """The last `days` UTC days, today included."""
        now = self._clock()
        counted = await self._window(days, now).get()
        async with self._db.sessions() as session:
            backlog = await stats_queries.outbox(session, now)
        return DeliveryStats(counted.days, counted.series, backlog, counted.top)

    def warm(self, days: int) -> None:
        """Have the window counted in the background for a Stats tab about to be opened."""
        self._window(days, self._clock()).warm()

    def _window(self, days: int, now: datetime) -> Recounted[_Counted]:
        first = (now - timedelta(days=days - 1)).date()
        today = now.date().isoformat()
        key = (days, today)
        window = self._windows.get(key)
        if window is None:
            # Yesterday's windows go; today's other lengths (7, 30, 90 days) stay.
            self._windows = {
                other: kept for other, kept in self._windows.items() if other[1] == today
            }
            window = Recounted(lambda: self._count(days, first), SERIES_TTL, self._monotonic)
            self._windows[key] = window
        return window

    async def _count(self, days: int, first: date) -> _Counted:
        now = self._clock()
        since = datetime(first.year, first.month, first.day, tzinfo=UTC)
        names = [(first + timedelta(days=offset)).isoformat() for offset in range(days)]
        async with self._db.sessions() as session:
            counts = await stats_queries.finished_per_day(session, since)
            popular = await engagement_queries.popular(
                session, since=since, now=now, limit=TOP_STORIES
            )
            ids = [story.id for story in popular]
            reach = await stats_queries.story_reach(session, ids)
            reactions = await stats_queries.story_reactions(session, ids)
        position = {day: index for index, day in enumerate(names)}
        series: dict[str | None, Series] = {}
        for count in counts:
            index = position.get(count.day)
            if index is None or count.status not in SERIES_STATES:
                continue
            line = series.setdefault(count.edition, Series(count.edition, [0] * days, [0] * days))
            getattr(line, count.status)[index] += count.count
        top = [
            TopStory(
                id=story.id,
                headline=story.title,
                section=story.section,
                edition=story.edition,
                published_at=story.published_at,
                reach=reach.get(story.id, 0),
                reactions=reactions.get(story.id, 0),
            )
            for story in popular
        ]
        ordered = sorted(
            series.values(), key=lambda line: (line.edition is None, line.edition or "")
        )
        return _Counted(names, ordered, top)
