"""A story's "Related" button: the story and its earlier stories on the same subject.

The lookup itself (the full-text query, the scoring and the cached stem frequencies) is
bot/delivery/related.py's RelatedIndex, which the composer reads for every story it renders;
RelatedStories is that same index with the use case on top, built once per database by
bot/setup/telegram_side.py and handed to both.
"""

from __future__ import annotations

from bot.delivery.related import RelatedIndex
from storage import stories as story_queries
from storage.models import Story


class RelatedStories(RelatedIndex):
    """The related-stories index of one database, with what the desk asks of it by id."""

    async def with_related(self, story_id: int) -> tuple[Story | None, list[Story]]:
        """The story with this id and its related stories (nothing when it is gone)."""
        async with self._db.sessions() as session:
            found = await story_queries.get_stories(session, [story_id])
        if not found:
            return None, []
        return found[0], await self.related_to(found[0])
