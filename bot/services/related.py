"""Choosing "Related" links for a story: earlier stories on the same subject.

The work happens in the full-text index (storage/search.py): the story's rarest five-letter
stems, so inflected Russian and Kazakh forms ("выборы", "выборов"; "сайлау", "сайлауы")
still meet, find earlier stories in its language sharing at least two of them; those are
ranked by shared words, the same section, then recency. Which stems are rare comes from a
sample of recent stories, refreshed every few minutes per database and kept here, so each
story costs one indexed query.
"""

from __future__ import annotations

import time
import weakref

from sqlalchemy.engine import Engine

from storage import search as search_index
from storage import stories as story_queries
from storage.db import Database
from storage.models import Story

MAX_RELATED = 3
FREQUENCY_TTL_SECONDS = 600.0

# Per database engine: (loaded at, frequencies). Weak keys: a disposed engine drops its entry.
_frequencies: weakref.WeakKeyDictionary[Engine, tuple[float, search_index.StemFrequencies]] = (
    weakref.WeakKeyDictionary()
)


async def _current_frequencies(database: Database) -> search_index.StemFrequencies:
    key = database.engine.sync_engine
    cached = _frequencies.get(key)
    if cached is not None and time.monotonic() - cached[0] < FREQUENCY_TTL_SECONDS:
        return cached[1]
    async with database.sessions() as session:
        frequencies = await search_index.stem_frequencies(session)
    _frequencies[key] = (time.monotonic(), frequencies)
    return frequencies


def forget_frequencies(database: Database) -> None:
    """Drop the cached stem frequencies (tests, or after a bulk import)."""
    _frequencies.pop(database.engine.sync_engine, None)


async def related_stories(
    database: Database, story: Story, limit: int = MAX_RELATED
) -> list[Story]:
    """Up to `limit` earlier stories on the story's subject, best first."""
    frequencies = await _current_frequencies(database)
    async with database.sessions() as session:
        return await search_index.related_to(session, story, limit=limit, frequencies=frequencies)


async def related_to_id(database: Database, story_id: int) -> tuple[Story | None, list[Story]]:
    """The story with this id and its related stories (nothing when it is gone)."""
    async with database.sessions() as session:
        found = await story_queries.get_stories(session, [story_id])
    if not found:
        return None, []
    return found[0], await related_stories(database, found[0])
