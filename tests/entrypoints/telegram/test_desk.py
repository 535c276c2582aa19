"""The channel desk through the fake Bot API: a config-declared channel with filters takes
only the stories its words admit; other chats are untouched; breaking news ignores filters;
its admins cannot edit it from /channels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import destinations
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    EDITOR,
    ENGLISH_READER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.conversation import ask, button_data, subscribe
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
BACKLOG = Item("old-1", "Senate Speaker meets observers", NOW - timedelta(hours=3))
MATCHING = "Almaty metro gets three new stations"
EXCLUDED = "Almaty football club wins the national cup"
NOTHING = "Senate passes the budget in the second reading"


@pytest.fixture
def feed_urls(feed_server: FeedServer) -> list[str]:
    return [feed_server.add("/rss/en.xml", rss([BACKLOG]), etag='"v1"')]


@pytest.fixture
async def desk(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    channel = {
        "chat": CHANNEL.id,
        "sections": ["parliament"],
        "include": ["Алматы", "Almaty"],
        "exclude": ["football"],
        "exclude_regex": [r"(?i)\bsponsored\b"],
    }
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, channels=[channel])
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        newsroom.api.add_bot_to_channel(ADMIN, CHANNEL)
        await newsroom.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
        yield newsroom


def _texts(newsroom: Newsroom, chat_id: int) -> list[str]:
    return [m.text or m.caption or "" for m in newsroom.api.messages_to(chat_id)]


async def test_filtered_channel_gets_only_what_its_words_admit(desk: Newsroom) -> None:
    await subscribe(desk.api, ENGLISH_READER, "parliament")
    await desk.poll()
    stories = [
        Item("n-1", MATCHING, NOW - timedelta(minutes=3)),
        Item("n-2", EXCLUDED, NOW - timedelta(minutes=2)),
        Item("n-3", NOTHING, NOW - timedelta(minutes=1)),
        Item("n-4", "Almaty: sponsored tour of the new park", NOW),
    ]
    desk.feeds.add("/rss/en.xml", rss([*stories, BACKLOG]), etag='"v2"')
    await desk.poll()
    await desk.deliver_all()
    channel = _texts(desk, CHANNEL.id)
    assert any(MATCHING in text for text in channel)
    assert not any(EXCLUDED in text or NOTHING in text or "sponsored" in text for text in channel)
    reader = _texts(desk, ENGLISH_READER.id)
    for story in stories:  # a chat without filters is unaffected
        assert any(story.title in text for text in reader)


async def test_breaking_news_reaches_a_filtered_channel(desk: Newsroom) -> None:
    desk.api.send_message(EDITOR, "/breaking Earthquake felt across the region")
    messages = await desk.api.wait_for(lambda m: m.chat_id == EDITOR.id, count=2)
    confirm = messages[-1]
    desk.api.press_button(EDITOR, confirm, button_data(confirm)[0])
    await desk.api.wait_for(lambda m: m.method == "editMessageText" and m.chat_id == EDITOR.id)
    await desk.deliver_all()
    assert any("Earthquake" in text for text in _texts(desk, CHANNEL.id))


async def test_admin_edits_of_a_config_managed_channel_are_refused(desk: Newsroom) -> None:
    listing = await ask(desk.api, ADMIN, "/channels")
    assert button_data(listing) == [f"ch:{CHANNEL.id}"]
    for data in (f"cs:{CHANNEL.id}:economy", f"cb:{CHANNEL.id}", f"ce:{CHANNEL.id}:en"):
        desk.api.press_button(ADMIN, listing, data)
    await desk.api.wait_until(lambda: len(desk.api.callback_answers) >= 3)
    for answer in desk.api.callback_answers[-3:]:
        assert answer["show_alert"] and "config" in answer["text"]
    async with desk.core.database.sessions() as session:
        channel = await destinations.get_by_chat(session, CHANNEL.id)
        assert channel is not None and channel.active and channel.breaking
        assert await destinations.sections_of(session, channel.id) == {"parliament"}
