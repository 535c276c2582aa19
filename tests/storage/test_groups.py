"""Versions of one story find each other in storage, whichever arrives first and names whom."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage import groups, stories
from storage.db import Database
from storage.models import Story, StoryAlternate
from tests.fakes.stories import Draft

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KK = "https://inform.kz/kk/zan"
RU = "https://inform.kz/ru/zakon"
EN = "https://inform.kz/en/law"


def _version(edition: str, link: str, **names: str) -> Draft:
    return Draft(
        f"link:{link}",
        f"Story in {edition}",
        NOW,
        language=edition,
        edition=edition,
        link=link,
        alternates=tuple(names.items()),
    )


async def _store(database: Database, *drafts: Draft) -> list[int]:
    async with database.sessions.begin() as session:
        stored = await stories.store_stories(session, drafts, feed_id=None, pushable=True, now=NOW)
    return stored.new_ids


async def _groups(database: Database) -> dict[int, int]:
    async with database.sessions() as session:
        rows = (await session.execute(select(Story.id, Story.group_id))).all()
        return {story_id: group_id for story_id, group_id in rows}


async def test_a_later_version_joins_the_story_that_names_it(database: Database) -> None:
    (russian,) = await _store(database, _version("ru", RU, kk=KK, en=EN))
    (english,) = await _store(database, _version("en", EN))
    assert await _groups(database) == {russian: russian, english: russian}


async def test_a_later_version_that_names_an_earlier_one_joins_its_group(
    database: Database,
) -> None:
    (russian,) = await _store(database, _version("ru", RU))
    (english,) = await _store(database, _version("en", EN, ru=RU))
    assert await _groups(database) == {russian: russian, english: russian}


async def test_links_are_compared_as_stored_not_as_written(database: Database) -> None:
    """The English item names the Russian page canonically (normalisation is upstream); a
    version naming a link no story has stays alone until that story arrives."""
    (english,) = await _store(database, _version("en", EN, ru=RU, kk=KK))
    (kazakh,) = await _store(database, _version("kk", KK))
    assert await _groups(database) == {english: english, kazakh: english}
    async with database.sessions() as session:
        named = (await session.execute(select(StoryAlternate.edition, StoryAlternate.link))).all()
    assert set(named) == {("ru", RU), ("kk", KK)}


async def test_two_groups_found_to_be_one_merge_into_the_older(database: Database) -> None:
    russian, english = await _store(database, _version("ru", RU), _version("en", EN))
    assert await _groups(database) == {russian: russian, english: english}
    (kazakh,) = await _store(database, _version("kk", KK, ru=RU, en=EN))
    oldest = min(russian, english)
    assert await _groups(database) == {russian: oldest, english: oldest, kazakh: oldest}
    async with database.sessions() as session:
        assert await groups.group_of(session, english) == sorted([russian, english, kazakh])


async def test_stories_naming_the_same_version_are_one_group(database: Database) -> None:
    (russian,) = await _store(database, _version("ru", RU, kk=KK))
    (english,) = await _store(database, _version("en", EN, kk=KK))
    assert await _groups(database) == {russian: russian, english: russian}


async def test_versions_in_one_batch_group_together(database: Database) -> None:
    russian, english = await _store(database, _version("ru", RU, en=EN), _version("en", EN, ru=RU))
    assert await _groups(database) == {russian: russian, english: russian}


async def test_unrelated_stories_stay_apart(database: Database) -> None:
    first, second = await _store(
        database,
        _version("ru", RU, kk=KK),
        _version("en", "https://inform.kz/en/other", kk="https://inform.kz/kk/other"),
    )
    assert await _groups(database) == {first: first, second: second}
