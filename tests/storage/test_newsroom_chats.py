"""The newsroom's own chats (storage/newsroom_chats.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from storage import newsroom_chats
from storage.db import Database
from storage.models import ChannelRule
from tests.storage.test_trace import NOW, subscribed_chat


async def test_only_the_chats_the_config_declares(database: Database) -> None:
    channel = await subscribed_chat(database, -1002, "channel")
    await subscribed_chat(database, 201)  # a reader
    joined = await subscribed_chat(database, -1003, "channel")  # joined by an admin
    async with database.sessions.begin() as session:
        for destination_id, managed in [(channel, True), (joined, False)]:
            session.add(
                ChannelRule(
                    destination_id=destination_id,
                    include=[],
                    exclude=[],
                    include_regex=[],
                    exclude_regex=[],
                    managed_by_config=managed,
                    config_ref=str(destination_id) if managed else None,
                    updated_at=NOW,
                )
            )
    async with database.sessions() as session:
        chats = await newsroom_chats.config_chats(session)
    assert [(chat.chat_id, chat.kind, chat.title) for chat in chats] == [
        (-1002, "channel", "chat -1002")
    ]
