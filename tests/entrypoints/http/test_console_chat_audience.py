"""What /channels and /topic change, changed from the console's form (issue 24) over real
HTTP with the fake Bot API: a chat's sections, editions and breaking news stored through the
/channels screens' use cases, a forum's topics through /topic's (the next story goes into
the picked topic), every field checked before anything is stored (a good template beside an
unknown section stores neither), a config-managed chat read-only, and an admin Telegram no
longer calls one refused when the topics' use case asks again."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage import destinations, editions, topics
from storage.models import Destination, Story
from tests.entrypoints.http.conftest import RunningBot, running_bot
from tests.entrypoints.http.console_helpers import console_settings
from tests.entrypoints.http.test_console_api import until
from tests.entrypoints.http.test_console_channels import (
    BACKLOG,
    MANAGED,
    SETTINGS,
    client,
    feed_urls,
    stored,
)
from tests.entrypoints.telegram.conftest import ADMIN, CHANNEL
from tests.fakes.bot_api import FakeBotAPI, FakeChat
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

__all__ = ["feed_urls"]  # the fixture, shared with test_console_channels.py

FORUM = FakeChat(-1003000000009, "supergroup", "Partner Forum", is_forum=True)
FORUM_SETTINGS = f"/console/api/chats/{FORUM.id}/settings"


@pytest.fixture
async def chats(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    """A newsroom with editions en and ru; CHANNEL, FORUM and the config's MANAGED joined by
    ADMIN, who administers all three; the backlog polled."""
    config = {"chat": MANAGED.id, "sections": ["parliament"]}
    settings = console_settings(
        tmp_path, fake_api, feed_urls, channels=[config], editions=["en", "ru"]
    )
    async with running_bot(settings, fake_api) as bot:
        for chat in (CHANNEL, FORUM, MANAGED):
            bot.api.add_bot_to_channel(ADMIN, chat)

        async def joined() -> int:
            async with bot.database.sessions() as session:
                found = [await destinations.get_by_chat(session, c.id) for c in (CHANNEL, FORUM)]
            return sum(1 for chat in found if chat is not None and chat.active)

        assert await until(joined, lambda n: n == 2) == 2

        async def stories() -> int:  # the backlog in: a story after it is news
            async with bot.database.sessions() as session:
                return int(await session.scalar(select(func.count()).select_from(Story)) or 0)

        assert await until(stories, lambda n: n >= len(BACKLOG)) >= len(BACKLOG)
        yield bot


async def audience(bot: RunningBot, chat_id: int) -> tuple[set[str], set[str], bool]:
    """The chat's sections, editions and breaking switch as stored."""
    async with bot.database.sessions() as session:
        chat = await destinations.get_by_chat(session, chat_id)
        assert chat is not None
        return (
            await destinations.sections_of(session, chat.id),
            await editions.editions_of(session, chat.id),
            bool(
                await session.scalar(select(Destination.breaking).where(Destination.id == chat.id))
            ),
        )


async def test_sections_editions_and_breaking_are_stored_and_logged(
    chats: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    async with client(chats, ADMIN) as api:
        before = (await api.get(SETTINGS)).json()
        with caplog.at_level(logging.INFO, logger="bot.entrypoints.http.console.channels"):
            answer = await api.put(
                SETTINGS,
                json={
                    "sections": ["economy", "parliament"],
                    "editions": ["ru", "en"],
                    "breaking": False,
                },
            )
        fewer = await api.put(SETTINGS, json={"sections": [], "editions": ["ru"]})
    assert before["sections_offered"] == [
        {"slug": "parliament", "title": "Parliament"},
        {"slug": "economy", "title": "Economy"},
    ]
    assert before["editions_offered"] == ["en", "ru"]
    assert before["breaking"] is True and before["editions"] == ["en"]
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["sections"] == ["economy", "parliament"] and body["editions"] == ["en", "ru"]
    assert body["breaking"] is False
    lines = [r.getMessage() for r in caplog.records if "changed" in r.getMessage()]
    assert lines == [
        f"console: user {ADMIN.id} changed breaking, editions, sections of chat {CHANNEL.id}"
    ]
    assert fewer.status_code == 200, fewer.text
    assert fewer.json()["sections"] == [] and fewer.json()["editions"] == ["ru"]
    assert await audience(chats, CHANNEL.id) == (set(), {"ru"}, False)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sections": ["parliament", "weather"]}, "weather is not a section"),
        ({"sections": "parliament"}, "sections must be a list of text"),
        ({"editions": []}, "a chat reads at least one edition"),
        ({"editions": ["en", "de"]}, "de is not an edition"),
        ({"breaking": "no"}, "breaking must be true or false"),
        ({"topics": {"parliament": 5}}, "topics are only for a forum chat"),
    ],
)
async def test_one_refused_field_stores_nothing_of_the_put(
    chats: RunningBot, change: dict[str, Any], reason: str
) -> None:
    good = {"template": "<b>NEW: {{ title }}</b>", "sections": ["economy"], "breaking": False}
    async with client(chats, ADMIN) as api:
        answer = await api.put(SETTINGS, json={**good, **change})
    assert answer.status_code == 422, answer.text
    assert answer.json() == {"error": reason}
    assert (await stored(chats)).format.template is None
    assert await audience(chats, CHANNEL.id) == (set(), {"en"}, True)


async def test_a_forum_s_topic_is_picked_and_the_next_story_goes_there(
    chats: RunningBot, feed_server: FeedServer
) -> None:
    thread = chats.api.add_topic(FORUM, "Budget talk")
    async with client(chats, ADMIN) as api:
        assert (await api.get(FORUM_SETTINGS)).json()["forum"] is True
        refused = [
            await api.put(FORUM_SETTINGS, json={"topics": {"parliament": bad}})
            for bad in (0, -3, True, "5", 2**63)
        ]
        unknown = await api.put(FORUM_SETTINGS, json={"topics": {"weather": thread}})
        picked = await api.put(
            FORUM_SETTINGS, json={"sections": ["parliament"], "topics": {"parliament": thread}}
        )
    for answer in refused:
        assert answer.status_code == 422, answer.text
        assert "positive whole number" in answer.json()["error"]
    assert unknown.status_code == 422 and unknown.json()["error"] == "weather is not a section"
    assert picked.status_code == 200, picked.text
    assert picked.json()["topics"]["parliament"]["thread_id"] == thread
    assert picked.json()["topics"]["parliament"]["source"] == "admin"
    fresh = Item("new-1", "Astana opens a new bridge", datetime.now(UTC))
    feed_server.add("/rss/en.xml", rss([fresh, *BACKLOG]), etag='"v2"')
    (sent,) = await chats.api.wait_for(
        lambda m: m.chat_id == FORUM.id and "Astana opens" in (m.text or ""), timeout=30
    )
    assert sent.message_thread_id == thread

    async with client(chats, ADMIN) as api:
        back = await api.put(FORUM_SETTINGS, json={"topics": {"parliament": None}})
    assert back.status_code == 200 and back.json()["topics"] == {}


async def test_topics_ask_telegram_again_and_a_demoted_admin_stores_nothing(
    chats: RunningBot,
) -> None:
    thread = chats.api.add_topic(FORUM, "Budget talk")
    async with client(chats, ADMIN) as api:
        assert (await api.get(FORUM_SETTINGS)).status_code == 200  # cached as an admin
        chats.api.set_member(FORUM, ADMIN, "member")
        answer = await api.put(
            FORUM_SETTINGS, json={"sections": ["economy"], "topics": {"parliament": thread}}
        )
    assert answer.status_code == 403, answer.text
    async with chats.database.sessions() as session:
        chat = await destinations.get_by_chat(session, FORUM.id)
        assert chat is not None
        assert await topics.topics_of(session, chat.id) == {}
        assert await destinations.sections_of(session, chat.id) == set()


async def test_a_config_managed_chat_s_audience_is_read_only(chats: RunningBot) -> None:
    path = f"/console/api/chats/{MANAGED.id}/settings"
    async with client(chats, ADMIN) as api:
        answer = await api.put(path, json={"sections": ["economy"], "breaking": False})
    assert answer.status_code == 409 and "config" in answer.json()["error"]
    assert await audience(chats, MANAGED.id) == ({"parliament"}, {"en"}, True)
