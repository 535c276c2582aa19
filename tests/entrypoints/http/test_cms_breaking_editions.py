"""The CMS API's breaking news in versions: `text` as an object keyed by edition reaches each
chat in its edition; a key that is not an edition is refused with 422 naming it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.models import Alert
from tests.entrypoints.http.conftest import READER, RunningBot, http_settings, running_bot
from tests.entrypoints.telegram.conftest import ENGLISH_READER
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer

VERSIONS = {
    "kk": "Алматыда 5 балдық жер сілкінісі болды",
    "ru": "В Алматы произошло землетрясение магнитудой 5",
    "en": "Earthquake of magnitude 5 in Almaty",
}


@pytest.fixture
async def trilingual(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    settings = http_settings(tmp_path, fake_api, feed_urls, editions=["kk", "ru", "en"])
    async with running_bot(settings, fake_api) as running:
        yield running


def _got(bot: RunningBot, chat_id: int) -> list[str]:
    return [
        m.text
        for m in bot.api.messages_to(chat_id)
        if any(text in (m.text or "") for text in VERSIONS.values())
    ]


async def test_text_keyed_by_edition_reaches_each_chat_in_its_own(trilingual: RunningBot) -> None:
    await trilingual.subscribe(READER)
    await trilingual.subscribe(ENGLISH_READER)
    body = {"text": VERSIONS, "link": "https://news.example/quake"}
    async with trilingual.client() as client:
        answer = await client.post("/api/v1/breaking", json=body)
    assert answer.status_code == 202, answer.text
    assert answer.json()["queued"] == 2
    await trilingual.api.wait_until(
        lambda: _got(trilingual, READER.id) and _got(trilingual, ENGLISH_READER.id), timeout=10
    )
    await asyncio.sleep(0.5)
    assert [VERSIONS["ru"] in text for text in _got(trilingual, READER.id)] == [True]
    assert [VERSIONS["en"] in text for text in _got(trilingual, ENGLISH_READER.id)] == [True]
    async with trilingual.database.sessions() as session:
        alert = await session.get(Alert, answer.json()["id"])
    # The first version stays in `text`, for readers of the column that know one text.
    assert alert is not None and alert.text == VERSIONS["kk"] and alert.texts == VERSIONS


async def test_a_key_that_is_not_an_edition_is_422_naming_it(trilingual: RunningBot) -> None:
    async with trilingual.client() as client:
        for text, field in [
            ({"kk": "Жаңалық", "de": "Nachricht"}, "de"),
            ({}, "text"),
            ({"ru": "   "}, "ru"),
        ]:
            answer = await client.post("/api/v1/breaking", json={"text": text})
            assert answer.status_code == 422, answer.text
            assert field in answer.text, answer.text
        document = (await client.get("/api/v1/openapi.json")).json()
    schema = document["components"]["schemas"]["BreakingRequest"]["properties"]["text"]
    assert {"type": "string"} in [{"type": s.get("type")} for s in schema["oneOf"]]
    keyed = next(s for s in schema["oneOf"] if s.get("type") == "object")
    assert set(keyed["properties"]) == {"kk", "ru", "en"}
    async with trilingual.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Alert)) == 0
