"""Choosing "Related" links for a story: earlier stories on the same subject.

The work happens in the full-text index (storage/search.py) and the scoring in
bot/domain/related.py: the story's distinctive five-letter stems, so inflected Russian and
Kazakh forms ("выборы", "выборов"; "сайлау", "сайлауы") still meet, find earlier stories in
its language sharing a word of its headline or two of its summary; those score by shared
words (headline words weigh most, stems frequent in recent stories and sentences both
summaries have word for word, the agency's boilerplate, nothing), and the ones above a
minimum are ranked by score, the same section, then recency. Which stems are frequent comes
from a sample of recent stories, refreshed every few minutes and kept by RelatedIndex, so
each story costs one indexed query.

It lives below the services because the composer (bot/delivery/compose.py) and the audience
of a narrowed chat (bot/delivery/audience.py) read it for every story they render; the
"Related" button's use case (bot/services/related.py) builds on the same lookup, one per
database (built by bot/setup/telegram_side.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.domain.related import MAX_RELATED, StemFrequencies
from storage import search as search_index
from storage.db import Database
from storage.models import Story

FREQUENCY_TTL_SECONDS = 600.0


class RelatedIndex:
    """Related stories from one database, with its recent stem frequencies cached for `ttl`
    seconds: reading them is a scan of the newest stories, too slow for every message."""

    def __init__(
        self,
        database: Database,
        ttl: float = FREQUENCY_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[float, StemFrequencies] | None = None
        # One reload at a time: a fan-out renders many stories at once when the cache expires.
        self._loading = asyncio.Lock()

    async def frequencies(self) -> StemFrequencies:
        """The recent stem frequencies, read again once they are older than the TTL."""
        async with self._loading:
            if self._cached is None or self._clock() - self._cached[0] >= self._ttl:
                async with self._db.sessions() as session:
                    frequencies = await search_index.stem_frequencies(session)
                self._cached = (self._clock(), frequencies)
            return self._cached[1]

    def forget(self) -> None:
        """Drop the cached stem frequencies (tests, or after a bulk import)."""
        self._cached = None

    async def related_to(self, story: Story, limit: int = MAX_RELATED) -> list[Story]:
        """Up to `limit` earlier stories on the story's subject, best first."""
        frequencies = await self.frequencies()
        async with self._db.sessions() as session:
            return await search_index.related_to(
                session, story, limit=limit, frequencies=frequencies
            )
