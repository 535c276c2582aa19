"""The console's Feeds tab: each feed's health (last success, last error, next check)."""

from __future__ import annotations

from storage import feed_status as feed_status_queries
from storage.db import Database
from storage.feed_status import FeedStatus


class FeedBoard:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def feeds(self) -> list[FeedStatus]:
        async with self._db.sessions() as session:
            return await feed_status_queries.feed_statuses(session)
