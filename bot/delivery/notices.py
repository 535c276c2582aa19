"""Telling a chat's admins something about it (a forum topic that fell back to General; a
template that fails), in their private chat with the bot.

The admin who added the bot first; when the bot has no private chat with them, the chat's
human administrators (getChatAdministrators) who have one. Anyone who sent the bot a command
in private has one (bot/entrypoints/telegram/handlers/channels.py note_contact), even if
all they ever used was /channels. Nobody to tell: the notice is logged instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape

from telegram import Bot
from telegram.error import TelegramError

from bot.outbound.message import OutgoingMessage
from bot.outbound.send import deliver
from storage import destinations as destination_queries
from storage import topics as topic_queries
from storage.db import Database

log = logging.getLogger(__name__)

# The most administrators told about one chat when the one who added the bot cannot be.
MAX_TOLD = 5

# The notice in a reader's language, naming the chat by its title: (language, title) -> text.
Notice = Callable[[str, str], str]


class AdminNotices:
    def __init__(self, database: Database, bot: Bot, default_language: str) -> None:
        self._db = database
        self._bot = bot
        self._default_language = default_language

    async def tell(self, destination_id: int, chat_id: int, notice: Notice) -> int:
        """Send `notice` to the chat's reachable admins, each in their language; how many
        were told (0: it was logged)."""
        async with self._db.sessions() as session:
            adder = await topic_queries.forum_admin(session, destination_id)
        title = adder.title or str(chat_id)
        if adder.chat_id is not None:
            recipients = [(adder.chat_id, adder.language)]
        else:
            recipients = await self._other_admins(chat_id)
        if not recipients:
            text = notice(self._default_language, title)
            log.warning("chat %s: %s (no admin to tell)", chat_id, text)
            return 0
        told = 0
        for private_chat, language in recipients:
            text = notice(language or self._default_language, title)
            try:
                await deliver(self._bot, private_chat, OutgoingMessage(escape(text, quote=False)))
            except Exception as exc:
                log.warning("chat %s: could not tell its admin: %s (%s)", chat_id, text, exc)
                continue
            told += 1
        return told

    async def _other_admins(self, chat_id: int) -> list[tuple[int, str | None]]:
        """(private chat, language) of the chat's human administrators the bot may write to."""
        try:
            members = await self._bot.get_chat_administrators(chat_id)
        except TelegramError as exc:
            log.info("chat %s: its administrators are unknown (%s)", chat_id, exc)
            return []
        humans = [member.user.id for member in members if not member.user.is_bot]
        async with self._db.sessions() as session:
            return await destination_queries.private_chats_of(session, humans, MAX_TOLD)
