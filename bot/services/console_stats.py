"""The console's Stats tab: deliveries sent and failed per day by edition, the backlog now,
and the most engaging stories with their reach and reactions.

Every figure is counted by the database (storage/stats.py, storage/engagement.py): this only
lays the counts out as series, a value for every day of the window (days without deliveries
are zeros), so a plot needs no gaps filled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage import engagement as engagement_queries
from storage import stats as stats_queries
from storage.db import Database
from storage.states import DeliveryStatus
from storage.stats import Outbox

TOP_STORIES = 10
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


class ConsoleStats:
    def __init__(
        self, database: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = database
        self._clock = clock

    async def stats(self, days: int) -> DeliveryStats:
        """The last `days` UTC days, today included."""
        now = self._clock()
        first = (now - timedelta(days=days - 1)).date()
        since = datetime(first.year, first.month, first.day, tzinfo=UTC)
        names = [(first + timedelta(days=offset)).isoformat() for offset in range(days)]
        async with self._db.sessions() as session:
            counts = await stats_queries.finished_per_day(session, since)
            backlog = await stats_queries.outbox(session, now)
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
        return DeliveryStats(names, ordered, backlog, top)
