"""Which chats a console user may manage, for the console's session.

Everyone, editors included, sees the chats the bot serves (joined by an admin adding the bot,
and config channels) that they administer, asked of Telegram (bot/services/chat_admins.py:
getChatMember, each answer trusted for at most a minute, never our own records). Being an
editor lists no chat: a config channel the editor does not administer would only open a 403.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.services.chat_admins import ChatAdmins


@dataclass(frozen=True, slots=True)
class NewsroomChat:
    chat_id: int
    title: str | None
    kind: str  # group, supergroup, channel
    active: bool


class ConsoleChats:
    def __init__(self, editors: Collection[int], admins: ChatAdmins | None = None) -> None:
        self._editors = frozenset(editors)
        self._admins = admins

    def is_editor(self, user_id: int) -> bool:
        return user_id in self._editors

    async def chats_of(self, user_id: int) -> list[NewsroomChat]:
        """The chats the user administers now (none without a bot to ask Telegram with)."""
        if self._admins is None:
            return []
        return [
            NewsroomChat(chat.chat_id, chat.title, chat.kind, chat.active)
            for chat in await self._admins.chats_of(user_id)
        ]
