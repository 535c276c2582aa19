"""What the newsroom's CMS can do through the API, without HTTP: the routes parse and answer,
this calls the use cases. Breaking news takes the same path as an editor's confirmed
/breaking (bot/services/breaking.py); a story the same intake as a feed's items
(bot/services/intake.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.breaking import BreakingText
from bot.services.breaking import Breaking, BreakingPush
from bot.services.intake import CmsStories, StoredStory, StoryIn
from storage.db import Database
from storage.deliveries import Progress

log = logging.getLogger(__name__)


class CmsNewsroom:
    """The newsroom as the CMS reaches it: breaking news, stories, an alert's progress."""

    def __init__(
        self,
        database: Database,
        wake_delivery: Callable[[], None],
        on_new_stories: Callable[[int], None] = lambda count: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        edition_of: Callable[[str | None], str | None] = lambda language: language,
    ) -> None:
        self._wake = wake_delivery
        # No editors: the API's bearer token is the CMS's authority, checked by the routes.
        self._breaking = Breaking(database, frozenset(), clock)
        self._stories = CmsStories(database, wake_delivery, on_new_stories, clock, edition_of)

    async def breaking(
        self, text: BreakingText, link: str | None, sections: list[str] | None, key: str | None
    ) -> BreakingPush:
        """Create the alert and queue its fan-out in one transaction, once per key (a retry
        with the same key answers the first alert and queues nothing)."""
        push = await self._breaking.send_now(text, link, sections, key)
        if not push.replayed:
            log.info(
                "breaking news %d from the CMS queued for %d chats",
                push.id,
                push.queued,
                extra={"alert_id": push.id, "queued": push.queued},
            )
            self._wake()
        return push

    async def story(self, story: StoryIn) -> StoredStory:
        """Store a story straight from the CMS, pushable at once (no feed, no backlog).

        It is identified by its canonical link, so when the feed later carries the same
        article it is recognised and not pushed twice.
        """
        return await self._stories.store(story)

    async def progress(self, alert_id: int) -> Progress | None:
        return await self._breaking.progress_of(alert_id)
