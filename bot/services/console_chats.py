"""Which chats a console user may manage, for the console's session.

Part 1 (issue 23): editors manage the newsroom's own chats, the config's `channels`; anyone
else gets none. Part 2 adds the chats a user administers, asked of Telegram (as
bot/services/admins.py asks for topics: never from our own records), which costs a Bot API
call per chat and so is not done on every session call.
"""

from __future__ import annotations

from collections.abc import Collection

from storage import newsroom_chats as chat_queries
from storage.db import Database
from storage.newsroom_chats import NewsroomChat


class ConsoleChats:
    def __init__(self, database: Database, editors: Collection[int]) -> None:
        self._db = database
        self._editors = frozenset(editors)

    def is_editor(self, user_id: int) -> bool:
        return user_id in self._editors

    async def chats_of(self, user_id: int) -> list[NewsroomChat]:
        if not self.is_editor(user_id):
            return []
        async with self._db.sessions() as session:
            return await chat_queries.config_chats(session)
