"""The versions of a story group, as the buttons under a pushed story link to them."""

from __future__ import annotations

from sqlalchemy import update

from storage import stories
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
        versions = await stories.versions_of(session, group)
        alone = await stories.versions_of(session, ids["ru-other"])
    assert [(v.story_id, v.edition, v.link) for v in versions] == [
        (ids["ru-1"], "ru", "https://example.kz/ru-1"),
        (ids["kk-1"], "kk", "https://example.kz/kk-1"),  # the first in its edition
    ]  # the English version has no link to go to
    assert [v.story_id for v in alone] == [ids["ru-other"]]
