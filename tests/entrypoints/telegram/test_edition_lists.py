"""Lists through the fake Bot API in a trilingual newsroom: each chat sees each story once,
in the first of its editions that has it; /search falls back to the others, marked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update

from storage import editions, stories
from storage.models import Story
from tests.entrypoints.telegram.conftest import ENGLISH_READER, READER, Newsroom, newsroom_settings
from tests.entrypoints.telegram.conftest import running_newsroom as running
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.conversation import ask
from tests.fakes.feed_server import FeedServer
from tests.fakes.stories import Draft, draft

VERSIONS = [
    draft("vote-kk", "Парламент сайлауы өтті", 50, language="kk", edition="kk"),
    draft("vote-ru", "Парламентские выборы прошли", 50, language="ru", edition="ru"),
    draft("vote-en", "Parliament vote held", 50, language="en", edition="en"),
    draft("fest-kk", "Дала фестивалі басталды", 30, language="kk", edition="kk"),
]


@pytest.fixture
async def trilingual(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, editions=["kk", "ru", "en"])
    async with running(settings, fake_api, feed_server) as newsroom:
        yield newsroom


async def _store(newsroom: Newsroom, drafts: list[Draft]) -> None:
    from datetime import UTC, datetime

    async with newsroom.core.database.sessions.begin() as session:
        now = datetime.now(UTC)
        result = await stories.store_stories(session, drafts, feed_id=None, pushable=False, now=now)
        vote = result.new_ids[:3]
        await session.execute(update(Story).where(Story.id.in_(vote)).values(group_id=vote[0]))


async def _reads(newsroom: Newsroom, chat_id: int, reads: list[str]) -> None:
    from storage import destinations

    async with newsroom.core.database.sessions.begin() as session:
        chat = await destinations.get_by_chat(session, chat_id)
        assert chat is not None
        await editions.set_editions(session, chat.id, reads)


async def test_each_reader_sees_each_story_once_in_its_edition(trilingual: Newsroom) -> None:
    await ask(trilingual.api, READER, "/start")
    await ask(trilingual.api, ENGLISH_READER, "/start")
    await _store(trilingual, VERSIONS)
    russian = await ask(trilingual.api, READER, "/latest")
    assert "Парламентские выборы" in russian.text
    assert "сайлауы" not in russian.text and "vote held" not in russian.text
    await _reads(trilingual, READER.id, ["ru", "kk"])
    both = await ask(trilingual.api, READER, "/latest")
    assert "Парламентские выборы" in both.text and "Дала фестивалі" in both.text
    assert "сайлауы" not in both.text  # the group once, in Russian (the interface's)
    english = await ask(trilingual.api, ENGLISH_READER, "/popular")
    assert "Parliament vote held" in english.text and "Дала" not in english.text


async def test_search_falls_back_to_other_editions_marked(trilingual: Newsroom) -> None:
    await ask(trilingual.api, READER, "/start")
    await _store(trilingual, VERSIONS)
    own = await ask(trilingual.api, READER, "/search парламентские")
    assert "Парламентские выборы" in own.text and "[ru]" not in own.text
    other = await ask(trilingual.api, READER, "/search фестивалі")
    assert "Дала фестивалі басталды" in other.text and "[kk]" in other.text
