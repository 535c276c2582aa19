"""Stories for storage and search tests: drafts as the normaliser makes them, stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage import stories
from storage.db import Database
from storage.models import Story


@dataclass(frozen=True)
class Draft:
    identity: str
    title: str
    published_at: datetime
    summary: str = ""
    language: str | None = "ru"
    section: str | None = "parliament"
    link: str | None = None
    image_url: str | None = None
    author: str | None = None
    content_hash: str = "h"
    edition: str | None = None
    alternates: tuple[tuple[str, str], ...] = ()


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def draft(identity: str, title: str, minutes_ago: int, **extra: object) -> Draft:
    extra.setdefault("link", f"https://example.kz/{identity}")
    return Draft(identity, title, NOW - timedelta(minutes=minutes_ago), **extra)  # type: ignore[arg-type]


async def store(database: Database, *drafts: Draft) -> dict[str, int]:
    async with database.sessions.begin() as session:
        await stories.store_stories(session, drafts, feed_id=None, pushable=True, now=NOW)
        rows = (await session.execute(select(Story.identity, Story.id))).all()
    return {identity: story_id for identity, story_id in rows}
