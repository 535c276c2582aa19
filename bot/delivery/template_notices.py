"""Telling a chat's admin that its template failed for a story, once per template.

A template that fails for one story (an error, too slow, too much memory, a macro calling
itself) does not fail the delivery: the story goes out in the standard layout and the
renderer logs one line (bot/telegram/render.py). The admin who added the bot to the chat
hears of it here, in their private chat, once per template (per process: a restart may tell
them once more), not once per story. Without such an admin it is logged once instead.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import Bot

from bot.config import Settings
from bot.telegram.i18n import Catalogues
from bot.telegram.render import OutgoingMessage
from bot.telegram.send import deliver
from storage import topics as topic_queries
from storage.db import Database

log = logging.getLogger(__name__)


class TemplateNotices:
    """Who has been told about which template (destination id, template source)."""

    def __init__(
        self, database: Database, bot: Bot, settings: Settings, catalogues: Catalogues
    ) -> None:
        self._db = database
        self._bot = bot
        self._settings = settings
        self._catalogues = catalogues
        self._told: set[tuple[int, str]] = set()

    async def failed(self, destination_id: int, chat_id: int, template: str, reason: str) -> None:
        """The template of `destination_id` failed for a story with `reason`."""
        if (destination_id, template) in self._told:
            return
        self._told.add((destination_id, template))
        async with self._db.sessions() as session:
            admin = await topic_queries.forum_admin(session, destination_id)
        t = self._catalogues.translator(admin.language or self._settings.language)
        text = t("template_failed", title=admin.title or str(chat_id), reason=reason)
        if admin.chat_id is None:
            log.warning("chat %s: %s (no admin to tell)", chat_id, text)
            return
        try:
            await deliver(self._bot, admin.chat_id, OutgoingMessage(escape(text, quote=False)))
        except Exception as exc:
            log.warning("chat %s: could not tell its admin: %s (%s)", chat_id, text, exc)
