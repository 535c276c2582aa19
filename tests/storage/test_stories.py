"""Stories are stored once, whichever feed or poll brings them; corrections update in place."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from storage import stories
from storage.db import Database
from storage.models import Story

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Draft:
    identity: str
    link: str | None
    title: str = "Senate Speaker meets observers"
    summary: str = "ASTANA. KAZINFORM – The Senate Speaker met observers."
    image_url: str | None = None
    author: str | None = None
    language: str | None = "en"
    section: str | None = "parliament"
    published_at: datetime = NOW
    content_hash: str = "h1"
    edition: str | None = None


async def _store(database: Database, drafts: list[Draft], pushable: bool = True):
    async with database.sessions.begin() as session:
        return await stories.store_stories(
            session, drafts, feed_id=None, pushable=pushable, now=NOW
        )


async def test_same_story_twice_is_stored_once(database: Database) -> None:
    draft = Draft(identity="guid:1", link="https://kazinform.kz/a/1")
    first = await _store(database, [draft])
    second = await _store(database, [draft])
    assert len(first.new_ids) == 1
    assert second.new_ids == [] and second.unchanged == 1


async def test_same_link_in_two_feeds_with_different_guids_is_one_story(
    database: Database,
) -> None:
    await _store(database, [Draft(identity="guid:en-feed-1", link="https://kazinform.kz/a/1")])
    result = await _store(
        database, [Draft(identity="guid:other-2", link="https://kazinform.kz/a/1")]
    )
    assert result.new_ids == []
    async with database.sessions() as session:
        assert await stories.count_stories(session) == 1


async def test_repeats_inside_one_batch_are_stored_once(database: Database) -> None:
    drafts = [
        Draft(identity="guid:1", link="https://kazinform.kz/a/1"),
        Draft(identity="guid:1", link="https://kazinform.kz/a/1"),
        Draft(identity="guid:2", link="https://kazinform.kz/a/1"),
    ]
    assert len((await _store(database, drafts)).new_ids) == 1


async def test_corrected_headline_updates_the_story_and_its_updated_at(
    database: Database,
) -> None:
    draft = Draft(identity="guid:1", link="https://kazinform.kz/a/1")
    (story_id,) = (await _store(database, [draft])).new_ids
    corrected = replace(draft, title="Senate Speaker meets TurkPA observers", content_hash="h2")
    later = NOW + timedelta(minutes=5)
    async with database.sessions.begin() as session:
        result = await stories.store_stories(
            session, [corrected], feed_id=None, pushable=True, now=later
        )
    assert result.updated_ids == [story_id]
    async with database.sessions() as session:
        story = await session.scalar(select(Story).where(Story.id == story_id))
    assert story is not None
    assert story.title == "Senate Speaker meets TurkPA observers"
    assert story.updated_at == later and story.published_at == NOW


async def test_backlog_is_stored_but_not_pushable(database: Database) -> None:
    result = await _store(database, [Draft(identity="guid:1", link=None)], pushable=False)
    async with database.sessions() as session:
        (story,) = await stories.get_stories(session, result.new_ids)
    assert story.pushable is False


async def test_large_batches_are_chunked(database: Database) -> None:
    drafts = [Draft(identity=f"guid:{n}", link=f"https://kazinform.kz/a/{n}") for n in range(1234)]
    assert len((await _store(database, drafts)).new_ids) == 1234
    assert len((await _store(database, drafts)).new_ids) == 0


async def test_a_days_timeline_is_counted_and_paged_in_the_index(database: Database) -> None:
    drafts = [
        Draft(
            identity=f"guid:{n}",
            link=f"https://kazinform.kz/t/{n}",
            section="economy" if n % 3 == 0 else "parliament",
            published_at=NOW + timedelta(minutes=n // 2),  # pairs share a minute: id decides
        )
        for n in range(25)
    ]
    await _store(database, drafts)
    start, end = NOW, NOW + timedelta(days=1)
    async with database.sessions() as session:
        day = await stories.published_between(session, start, end)
        assert await stories.count_published_between(session, start, end) == 25
        assert await stories.count_published_between(session, start, end, limit=20) == 20
        assert await stories.count_published_between(session, start, end, section="economy") == 9
        pages = [
            await stories.published_between(session, start, end, limit=10, offset=offset)
            for offset in (0, 10, 20)
        ]
    assert [s.identity for page in pages for s in page] == [s.identity for s in day]
    assert [len(page) for page in pages] == [10, 10, 5]


async def test_a_story_the_database_refuses_does_not_roll_back_its_batch(
    database: Database,
) -> None:
    """One draft without a publication time (NOT NULL on both backends) is refused alone."""
    good = [Draft(identity=f"guid:{n}", link=f"https://kazinform.kz/a/{n}") for n in (1, 3)]
    broken = Draft(identity="guid:2", link="https://kazinform.kz/a/2", published_at=None)  # type: ignore[arg-type]
    async with database.sessions.begin() as session:
        stored, refused = await stories.store_each(
            session, [good[0], broken, good[1]], feed_id=None, pushable=True, now=NOW
        )
    assert len(stored.new_ids) == 2
    assert [story.identity for story in refused] == ["guid:2"]
    async with database.sessions() as session:
        identities = (await session.scalars(select(Story.identity).order_by(Story.id))).all()
    assert identities == ["guid:1", "guid:3"]


async def test_an_error_every_story_meets_is_raised_not_swallowed(database: Database) -> None:
    broken = [
        Draft(identity=f"guid:{n}", link=f"https://kazinform.kz/a/{n}", published_at=None)  # type: ignore[arg-type]
        for n in (1, 2)
    ]
    with pytest.raises(DBAPIError):
        async with database.sessions.begin() as session:
            await stories.store_each(session, broken, feed_id=None, pushable=True, now=NOW)
