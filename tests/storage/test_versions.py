"""The versions of a story group, as the buttons under a pushed story link to them."""

from __future__ import annotations

from sqlalchemy import update

from storage import versions as version_queries
from storage.db import Database
from storage.models import Story
from tests.fakes.stories import draft, store


async def test_versions_of_a_group_one_per_edition_with_links(database: Database) -> None:
    ids = await store(
        database,
        draft("ru-1", "Мажилис одобрил бюджет", 30, language="ru", edition="ru"),
        draft("kk-1", "Мәжіліс бюджетті мақұлдады", 20, language="kk", edition="kk"),
        draft("kk-2", "Мәжіліс бюджетті мақұлдады (жаңартылды)", 10, language="kk", edition="kk"),
        draft("en-1", "Mazhilis approves the budget", 5, language="en", edition="en", link=None),
        draft("ru-other", "Сенат одобрил закон", 1, language="ru", edition="ru"),
    )
    group = ids["ru-1"]
    async with database.sessions.begin() as session:
        await session.execute(
            update(Story)
            .where(Story.id.in_([ids["kk-1"], ids["kk-2"], ids["en-1"]]))
            .values(group_id=group)
        )
    async with database.sessions() as session:
        versions = await version_queries.versions_of(session, group)
        alone = await version_queries.versions_of(session, ids["ru-other"])
    assert [(v.story_id, v.edition, v.link) for v in versions] == [
        (ids["ru-1"], "ru", "https://example.kz/ru-1"),
        (ids["kk-1"], "kk", "https://example.kz/kk-1"),  # the first in its edition
    ]  # the English version has no link to go to
    assert [v.story_id for v in alone] == [ids["ru-other"]]


async def test_versions_named_by_a_source_before_they_are_stored(database: Database) -> None:
    """The Russian item names its Kazakh and English versions; only the Kazakh one is
    stored yet (under another link): the English link is the one the source gave."""
    named = (("kk", "https://example.kz/kk-named"), ("en", "https://example.kz/en-named"))
    ids = await store(
        database, draft("ru-1", "Мажилис одобрил бюджет", 30, language="ru", edition="ru",
                        alternates=named),
    )  # fmt: skip
    alone = await _versions(database, ids["ru-1"])
    kk = await store(
        database, draft("kk-1", "Мәжіліс бюджетті мақұлдады", 20, language="kk", edition="kk")
    )
    async with database.sessions.begin() as session:
        await session.execute(
            update(Story).where(Story.id == kk["kk-1"]).values(group_id=ids["ru-1"])
        )
    assert alone == [
        (ids["ru-1"], "ru", "https://example.kz/ru-1"),
        (None, "en", "https://example.kz/en-named"),
        (None, "kk", "https://example.kz/kk-named"),
    ]
    assert await _versions(database, ids["ru-1"]) == [
        (ids["ru-1"], "ru", "https://example.kz/ru-1"),
        (kk["kk-1"], "kk", "https://example.kz/kk-1"),  # stored: its own link
        (None, "en", "https://example.kz/en-named"),
    ]


async def _versions(database: Database, group: int) -> list[tuple[int | None, str, str]]:
    async with database.sessions() as session:
        return [
            (v.story_id, v.edition, v.link)
            for v in await version_queries.versions_of(session, group)
        ]
