"""The CMS names a story's translations: the versions form one group, each reader gets one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import destinations, editions
from storage.models import Story
from tests.entrypoints.http.conftest import READER, RunningBot, http_settings, running_bot
from tests.entrypoints.telegram.conftest import ENGLISH_READER
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer

RU = "https://inform.kz/ru/vodnyi-dogovor"
EN = "https://inform.kz/en/water-treaty"
KK = "https://inform.kz/kk/su-kelisimi"


@pytest.fixture
async def trilingual_bot(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    settings = http_settings(tmp_path, fake_api, feed_urls, editions=["kk", "ru", "en"])
    async with running_bot(settings, fake_api) as running:
        yield running


def story(language: str, url: str, title: str, **translations: str) -> dict[str, object]:
    body: dict[str, object] = {
        "title": title,
        "url": url,
        "section": "parliament",
        "language": language,
    }
    if translations:
        body["translations"] = translations
    return body


async def test_translations_group_the_versions_for_readers(trilingual_bot: RunningBot) -> None:
    bot = trilingual_bot
    await bot.subscribe(READER)
    await bot.subscribe(ENGLISH_READER)
    async with bot.database.sessions.begin() as session:  # Ivan reads Russian and English
        chat = await destinations.get_by_chat(session, READER.id)
        assert chat is not None
        await editions.set_editions(session, chat.id, ["ru", "en"])
    async with bot.client() as client:
        russian = await client.post(
            "/api/v1/stories",
            json=story(
                "ru", RU, "Сенат ратифицировал водный договор", en=EN + "?utm_source=cms", kk=KK
            ),
        )
        assert russian.status_code == 201, russian.text
        await bot.api.wait_for(lambda m: m.chat_id == READER.id and "водный" in m.text, timeout=10)
        english = await client.post(
            "/api/v1/stories", json=story("en", EN, "Senate ratifies the water treaty")
        )
        assert english.status_code == 201, english.text
    await bot.api.wait_for(
        lambda m: m.chat_id == ENGLISH_READER.id and "water treaty" in m.text, timeout=10
    )
    await asyncio.sleep(1.0)
    assert [m for m in bot.api.messages_to(READER.id) if "water treaty" in m.text] == []
    async with bot.database.sessions() as session:
        query = select(Story.link, Story.edition, Story.group_id).where(Story.link.in_([RU, EN]))
        rows = (await session.execute(query)).all()
    assert {link: (edition, group) for link, edition, group in rows} == {
        RU: ("ru", russian.json()["id"]),
        EN: ("en", russian.json()["id"]),
    }


async def test_a_translation_keyed_by_no_edition_is_refused(trilingual_bot: RunningBot) -> None:
    async with trilingual_bot.client() as client:
        answer = await client.post(
            "/api/v1/stories", json=story("ru", RU, "Сенат", de="https://inform.kz/de/x")
        )
    assert answer.status_code == 422
    (field,) = answer.json()["fields"]
    assert field["field"].startswith("translations.de")
    assert "'de' is not an edition" in field["message"]


@pytest.fixture
async def uzbek_bot(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    """A newsroom whose editions include one the interface does not speak."""
    settings = http_settings(
        tmp_path, fake_api, feed_urls, language="ru", editions=["kk", "ru", "uz"]
    )
    async with running_bot(settings, fake_api) as running:
        yield running


async def test_a_storys_language_is_any_edition_and_nothing_else(uzbek_bot: RunningBot) -> None:
    uz = "https://inform.kz/uz/suv-shartnomasi"
    async with uzbek_bot.client() as client:
        uzbek = await client.post(
            "/api/v1/stories", json=story("uz", uz, "Senat suv shartnomasini ratifikatsiya qildi")
        )
        english = await client.post("/api/v1/stories", json=story("en", EN, "Senate ratifies"))
        document = (await client.get("/api/v1/openapi.json")).json()
    assert uzbek.status_code == 201, uzbek.text
    async with uzbek_bot.database.sessions() as session:
        stored = (await session.execute(select(Story.edition).where(Story.link == uz))).scalar()
    assert stored == "uz"
    assert english.status_code == 422
    (field,) = english.json()["fields"]
    assert field["field"] == "language"
    assert "'en' is not an edition (kk, ru, uz)" in field["message"]
    language = document["components"]["schemas"]["StoryRequest"]["properties"]["language"]
    assert ["kk", "ru", "uz"] in [form.get("enum") for form in language.get("anyOf", [language])]
