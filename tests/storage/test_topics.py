"""What storage decides about forum topics, on SQLite and PostgreSQL: the config's picks at
start-up, an admin's pick, and a lost topic (recreate once, else General and tell)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.channel_rules import ChannelSpec
from storage import destinations
from storage import topics as topic_queries
from storage.channel_rules import sync_config_channels
from storage.db import Database
from storage.topics import ForumChat, LostTopic

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FORUM = -1003000000001


async def _forum(database: Database, *, can_manage: bool = True) -> int:
    async with database.sessions.begin() as session:
        chat = await destinations.ensure_destination(
            session,
            destinations.ChatInfo(
                FORUM, "supergroup", "Forum", is_forum=True, can_manage_topics=can_manage
            ),
            NOW,
        )
        return chat.id


def _spec(**topics: int) -> ChannelSpec:
    return ChannelSpec(
        ref=str(FORUM),
        chat_id=FORUM,
        sections=("politics",),
        editions=(),
        topics=tuple(topics.items()),
    )


async def _sync(database: Database, **topics: int) -> None:
    async with database.sessions.begin() as session:
        await sync_config_channels(session, [_spec(**topics)], [str(FORUM)], "ru", NOW)


async def _lost(database: Database, chat: int, section: str, thread: int) -> LostTopic:
    async with database.sessions.begin() as session:
        return await topic_queries.topic_lost(session, chat, section, thread, NOW)


async def _chat(database: Database, chat: int) -> ForumChat:
    async with database.sessions() as session:
        return (await topic_queries.forum_chats(session, [chat]))[chat]


async def test_the_configs_topics_are_written_at_start_up(database: Database) -> None:
    chat = await _forum(database)
    await _sync(database, politics=12, society=14, breaking=4)
    forum = await _chat(database, chat)
    assert forum.breaking_topic == 4
    assert {s: (t.thread_id, t.source) for s, t in forum.topics.items()} == {
        "politics": (12, "config"),
        "society": (14, "config"),
    }
    await _sync(database, politics=12)  # society dropped from the config: the bot's again
    assert set((await _chat(database, chat)).topics) == {"politics"}


async def test_a_lost_config_topic_stays_general_until_the_config_names_another(
    database: Database,
) -> None:
    chat = await _forum(database)
    await _sync(database, politics=12)
    assert await _lost(database, chat, "politics", 12) == LostTopic(False, notify=True)
    await _sync(database, politics=12)  # a restart with the same config: still General
    topic = (await _chat(database, chat)).topics["politics"]
    assert topic.general and topic.usable is None
    await _sync(database, politics=15)
    assert (await _chat(database, chat)).topics["politics"].usable == 15


async def test_a_created_topic_is_recreated_once(database: Database) -> None:
    chat = await _forum(database)
    async with database.sessions.begin() as session:
        await topic_queries.record_created(session, chat, "politics", 7, "Политика", NOW)
    assert await _lost(database, chat, "politics", 7) == LostTopic(True)
    async with database.sessions.begin() as session:
        await topic_queries.record_created(
            session, chat, "politics", 9, "Политика", NOW, replacing=7
        )
    # A story that still had the old topic in flight: it takes the new one, no new topic.
    assert await _lost(database, chat, "politics", 7) == LostTopic(False, 9)
    assert await _lost(database, chat, "politics", 9) == LostTopic(False, notify=True)
    assert (await _chat(database, chat)).topics["politics"].general


async def test_an_admins_pick_starts_afresh_and_none_gives_the_section_back(
    database: Database,
) -> None:
    chat = await _forum(database, can_manage=False)
    async with database.sessions.begin() as session:
        await topic_queries.pick_topic(session, chat, "politics", 21, NOW)
    # Without the right to manage topics a lost pick is not recreated: General, and tell.
    assert await _lost(database, chat, "politics", 21) == LostTopic(False, notify=True)
    async with database.sessions.begin() as session:
        await topic_queries.pick_topic(session, chat, "politics", 23, NOW)
    topic = (await _chat(database, chat)).topics["politics"]
    assert (topic.usable, topic.source, topic.recreated) == (23, "admin", False)
    async with database.sessions.begin() as session:
        await topic_queries.pick_topic(session, chat, "politics", None, NOW)
    assert (await _chat(database, chat)).topics == {}


async def test_only_forum_chats_are_loaded(database: Database) -> None:
    forum = await _forum(database)
    async with database.sessions.begin() as session:
        group = await destinations.ensure_destination(
            session, destinations.ChatInfo(-1003000000009, "supergroup", "Group"), NOW
        )
    async with database.sessions() as session:
        found = await topic_queries.forum_chats(session, [forum, group.id])
    assert set(found) == {forum} and found[forum].can_manage_topics
