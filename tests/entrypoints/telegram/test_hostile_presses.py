"""Buttons are judged by who pressed them, never by the message they sit on.

Every callback prefix the bot emits is replayed by someone who may not change the chat: on the
bot's own channel post (which carries `sender_chat == chat`), on a story pushed into a group,
and on the bot's reply to an administrator in a group. Nothing in those chats, their settings
or their posts may change; the presser is answered privately.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import destinations, editions, outbox
from storage.models import Story
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    EDITOR,
    STRANGER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser, SentMessage
from tests.fakes.conversation import ask, button_data
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

GROUP = FakeChat(id=-1002000000002, type="supergroup", title="Newsroom readers")
OWN_CHANNEL = FakeChat(id=-1003000000003, type="channel", title="Mallory's channel")
NOW = datetime.now(UTC).replace(microsecond=0)
BACKLOG = Item("old-1", "Senate Speaker meets CIS IPA observers", NOW - timedelta(hours=3))
FRESH = Item("new-1", "Senate Speaker meets TurkPA observers", NOW - timedelta(minutes=5))


@pytest.fixture
def feed_urls(feed_server) -> list[str]:  # type: ignore[no-untyped-def]
    return [feed_server.add("/rss/en.xml", rss([BACKLOG]), etag='"v1"')]


@pytest.fixture
async def newsroom(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    """A newsroom in three editions, so edition toggles have something to change."""
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, editions=["en", "kk", "ru"])
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield newsroom


async def _subscribe_chat(newsroom: Newsroom, chat: FakeChat) -> None:
    readers = newsroom.side.services.readers
    state = await readers.state(chat.id, chat.type, chat.title)
    await readers.subscribe(state, "parliament")


async def _chat_settings(newsroom: Newsroom, chat: FakeChat) -> tuple:  # type: ignore[type-arg]
    async with newsroom.core.database.sessions() as session:
        destination = await destinations.get_by_chat(session, chat.id)
        assert destination is not None
        sections = await destinations.sections_of(session, destination.id)
        reads = await editions.editions_of(session, destination.id)
    return (
        destination.active,
        destination.language,
        destination.breaking,
        sorted(sections),
        sorted(reads),
    )


async def _press(api: FakeBotAPI, user: FakeUser, message: SentMessage, data: str) -> dict:  # type: ignore[type-arg]
    before = len(api.callback_answers)
    api.press_button(user, message, data)
    await api.wait_until(lambda: len(api.callback_answers) > before)
    return api.callback_answers[-1]


async def _stage(newsroom: Newsroom) -> dict[str, SentMessage]:
    """A partner's channel and a readers' group, each with a pushed story; the group also
    has the bot's replies (with their keyboards) to its administrator."""
    api = newsroom.api
    await ask(api, ADMIN, "/start")
    for chat in (CHANNEL, GROUP):
        api.add_bot_to_channel(ADMIN, chat)
        api.set_member(chat, STRANGER, "member")
    api.add_bot_to_channel(STRANGER, OWN_CHANNEL)  # the stranger administers a channel too
    await api.wait_until(lambda: api.updates_delivered() >= 4)
    for chat in (CHANNEL, GROUP):
        await _subscribe_chat(newsroom, chat)
    await newsroom.poll()
    newsroom.feeds.add("/rss/en.xml", rss([FRESH, BACKLOG]), etag='"v2"')
    await newsroom.poll()
    await newsroom.deliver_all()
    targets = {
        "channel post": next(m for m in api.messages_to(CHANNEL.id) if "TurkPA" in m.text),
        "group story": next(m for m in api.messages_to(GROUP.id) if "TurkPA" in m.text),
    }
    for command in ("/subscriptions", "/today", "/language", "/editions"):
        before = len(api.messages_to(GROUP.id))
        api.send_message(ADMIN, command, chat=GROUP)
        replies = await api.wait_for(lambda m: m.chat_id == GROUP.id, count=before + 1)
        targets[f"group reply to {command}"] = replies[-1]
    return targets


async def _replayed_data(newsroom: Newsroom) -> list[str]:
    """The callback data of every kind of button the bot emits, aimed at the partner's chats."""
    api = newsroom.api
    api.send_message(EDITOR, "/breaking Draft that must stay a draft")
    confirm = (await api.wait_for(lambda m: m.chat_id == EDITOR.id, count=2))[-1]
    alert_id = button_data(confirm)[0].rsplit(":", 1)[1]
    async with newsroom.core.database.sessions() as session:
        story_id = (await session.execute(select(func.max(Story.id)))).scalar_one()
    return [
        "sub:parliament",
        "sub:economy",
        "sec:parliament",
        "lang:kk",
        "ed:kk",
        "ed:en",
        "today:0",
        "today:1",
        f"rel:{story_id}",
        *(
            data
            for chat in (CHANNEL, GROUP, OWN_CHANNEL)
            for data in (
                f"ch:{chat.id}",
                f"cs:{chat.id}:economy",
                f"cb:{chat.id}",
                f"ce:{chat.id}:kk",
                f"ce:{chat.id}:en",
            )
        ),
        f"bk:ok:{alert_id}",
        f"bk:no:{alert_id}",
    ]


async def test_replayed_buttons_change_nothing_in_a_partners_chats(newsroom: Newsroom) -> None:
    api = newsroom.api
    targets = await _stage(newsroom)
    replayed = await _replayed_data(newsroom)
    watched = (CHANNEL, GROUP, OWN_CHANNEL)
    watched_ids = {chat.id for chat in watched}
    settings_before = {chat.id: await _chat_settings(newsroom, chat) for chat in watched}
    posts_before = {
        name: api.current_message(message.chat_id, message.message_id)
        for name, message in targets.items()
    }
    sent_before = len(api.sent)
    for name, message in targets.items():
        for presser in (STRANGER, EDITOR):
            for data in replayed:
                answer = await _press(api, presser, message, data)
                touched = [m for m in api.sent[sent_before:] if m.chat_id in watched_ids]
                assert touched == [], f"{presser.first_name} pressed {data} on the {name}"
                assert answer["callback_query_id"]
    await asyncio.sleep(0.5)  # a handler still running after its answer would show now
    assert [m for m in api.sent[sent_before:] if m.chat_id in watched_ids] == []
    for chat in watched:
        assert await _chat_settings(newsroom, chat) == settings_before[chat.id], chat.title
    for name, message in targets.items():
        assert api.current_message(message.chat_id, message.message_id) == posts_before[name]
    async with newsroom.core.database.sessions() as session:
        assert await outbox.next_due_at(session) is None  # the draft was not confirmed


async def test_a_press_on_a_channel_post_is_answered_in_the_pressers_private_chat(
    newsroom: Newsroom,
) -> None:
    api = newsroom.api
    targets = await _stage(newsroom)
    post = targets["channel post"]
    alert = await _press(api, STRANGER, post, "sec:parliament")
    assert alert["show_alert"] and "TurkPA" in alert["text"] and "@" in alert["text"]
    await ask(api, STRANGER, "/start")
    answer = await _press(api, STRANGER, post, "sec:parliament")
    private = api.messages_to(STRANGER.id)[-1]
    assert "TurkPA" in private.text and not answer.get("show_alert")
    answer = await _press(api, STRANGER, post, "today:0")
    assert "TurkPA" in api.messages_to(STRANGER.id)[-1].text
    assert [m for m in api.sent if m.chat_id == CHANNEL.id] == [post]


async def test_in_a_group_the_asker_is_answered_there_and_only_admins_change_it(
    newsroom: Newsroom,
) -> None:
    api = newsroom.api
    targets = await _stage(newsroom)
    toggles = targets["group reply to /subscriptions"]
    before = len(api.messages_to(GROUP.id))
    await _press(api, ADMIN, toggles, "sec:parliament")  # the asker: shown in the group
    shown = await api.wait_for(lambda m: m.chat_id == GROUP.id, count=before + 1)
    assert "TurkPA" in shown[-1].text
    await _press(api, ADMIN, toggles, "sub:economy")  # a verified administrator changes it
    async with newsroom.core.database.sessions() as session:
        group = await destinations.get_by_chat(session, GROUP.id)
        assert await destinations.sections_of(session, group.id) == {"parliament", "economy"}
    await _press(api, ADMIN, targets["group reply to /editions"], "ed:kk")  # so are editions
    async with newsroom.core.database.sessions() as session:
        assert await editions.editions_of(session, group.id) == {"en", "kk"}
    api.set_member(GROUP, ADMIN, "member")  # demoted: the next press is refused
    refused = await _press(api, ADMIN, toggles, "sub:economy")
    assert refused["show_alert"]
    refused = await _press(api, ADMIN, targets["group reply to /editions"], "ed:en")
    assert refused["show_alert"]
    async with newsroom.core.database.sessions() as session:
        assert await destinations.sections_of(session, group.id) == {"parliament", "economy"}
        assert await editions.editions_of(session, group.id) == {"en", "kk"}
