"""Which chats a console user may manage, for the console's session.

Part 1 (issue 23): editors see the newsroom's own chats, the config's `channels`. Part 2
(issue 24) adds, for anyone, the chats the bot serves (joined by an admin adding the bot, and
config channels) that the user administers, asked of Telegram (bot/services/chat_admins.py:
getChatMember, each answer trusted for at most a minute, never our own records).
"""

from __future__ import annotations

from collections.abc import Collection

from bot.services.chat_admins import ChatAdmins
from storage import newsroom_chats as chat_queries
from storage.db import Database
from storage.newsroom_chats import NewsroomChat


class ConsoleChats:
    def __init__(
        self, database: Database, editors: Collection[int], admins: ChatAdmins | None = None
    ) -> None:
        self._db = database
        self._editors = frozenset(editors)
        self._admins = admins

    def is_editor(self, user_id: int) -> bool:
        return user_id in self._editors

    async def chats_of(self, user_id: int) -> list[NewsroomChat]:
        """An editor's config chats, then the chats the user administers (each once)."""
        found: list[NewsroomChat] = []
        if self.is_editor(user_id):
            async with self._db.sessions() as session:
                found = await chat_queries.config_chats(session)
        if self._admins is not None:
            seen = {chat.chat_id for chat in found}
            for chat in await self._admins.chats_of(user_id):
                if chat.chat_id not in seen:
                    found.append(NewsroomChat(chat.chat_id, chat.title, chat.kind, chat.active))
        return found
