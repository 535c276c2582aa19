"""The console's story reads: the recent stories, and where one of them went (its trace).

The outcome of each chat is bot/domain/trace.py's decision; the facts are storage/trace.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.trace import StoryFacts, StoryTrace, listing_quota, trace
from storage import trace as trace_queries
from storage.db import Database

# Chats a trace lists (all are counted): enough for a newsroom's channels and the readers
# whose story went wrong, small enough for a phone.
TRACE_LISTED = 500


class StoryTraces:
    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        listed: int = TRACE_LISTED,
    ) -> None:
        self._db = database
        self._clock = clock
        self._listed = listed

    async def recent(self, limit: int) -> list[StoryFacts]:
        """The `limit` most recently published stories, newest first."""
        async with self._db.sessions() as session:
            return await trace_queries.recent_stories(session, limit)

    async def trace(self, story_id: int) -> StoryTrace | None:
        """Every chat the story was meant for with its outcome; None for an unknown story."""
        now = self._clock()
        async with self._db.sessions() as session:
            story = await trace_queries.story_facts(session, story_id)
            if story is None:
                return None
            chats = trace_queries.StoryChats(session, story, now)
            counts = await chats.counts()
            samples = await chats.samples(listing_quota(story, counts, self._listed))
        return trace(story, counts, samples, self._listed)
