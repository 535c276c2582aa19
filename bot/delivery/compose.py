"""Turning a queued delivery into the message for its chat's language (cached per batch).

A fan-out of one story to ten thousand chats renders it once per language, not per chat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from bot.services.related import related_stories
from bot.telegram.i18n import Catalogues
from bot.telegram.render import OutgoingMessage, RelatedLink, render_breaking, render_story
from storage import alerts as alert_queries
from storage import stories as story_queries
from storage.db import Database
from storage.models import Story


async def related_links(database: Database, story: Story) -> list[RelatedLink]:
    """The "Related" block under a pushed story: earlier stories found through the index."""
    return [
        RelatedLink(title=pick.title, url=pick.link)
        for pick in await related_stories(database, story)
        if pick.link
    ]


@dataclass
class Composer:
    database: Database
    settings: Settings
    catalogues: Catalogues
    _cache: dict[tuple[str, int, str], OutgoingMessage | None] = field(default_factory=dict)
    _versions: dict[int, str] = field(default_factory=dict)

    def language_of(self, language: str | None) -> str:
        return language or self.settings.language

    async def story(self, story_id: int, language: str | None) -> OutgoingMessage | None:
        key = ("story", story_id, self.language_of(language))
        if key not in self._cache:
            self._cache[key] = await self._render_story(story_id, key[2])
        return self._cache[key]

    async def alert(self, alert_id: int, language: str | None) -> OutgoingMessage | None:
        key = ("alert", alert_id, self.language_of(language))
        if key not in self._cache:
            async with self.database.sessions() as session:
                alert = await alert_queries.get(session, alert_id)
            self._cache[key] = (
                None
                if alert is None
                else render_breaking(alert.text, alert.link, t=self.catalogues.translator(key[2]))
            )
        return self._cache[key]

    def version(self, story_id: int) -> str | None:
        """The content hash of the story as last rendered (recorded with each delivery)."""
        return self._versions.get(story_id)

    def forget(self) -> None:
        self._cache.clear()
        self._versions.clear()

    async def _render_story(self, story_id: int, language: str) -> OutgoingMessage | None:
        async with self.database.sessions() as session:
            found = await story_queries.get_stories(session, [story_id])
        if not found:
            return None
        story = found[0]
        self._versions[story_id] = story.content_hash
        section = self.settings.section(story.section) if story.section else None
        return render_story(
            story,
            t=self.catalogues.translator(language),
            zone=self.settings.zone,
            section_title=section.title_in(language) if section else None,
            related=await related_links(self.database, story),
        )
