"""Telling a chat's admin that its template failed for a story, once per template.

A template that fails for one story (an error, too slow, too much memory, a macro calling
itself) does not fail the delivery: the story goes out in the standard layout and the
renderer logs one line (bot/outbound/render.py). The chat's admins hear of it here, in their
private chat (bot/delivery/notices.py: the one who added the bot, else the others who have a
private chat with it), once per template (per process: a restart may tell them once more),
not once per story. With nobody to tell it is logged once instead.
"""

from __future__ import annotations

from telegram import Bot

from bot.config import Settings
from bot.delivery.notices import AdminNotices
from bot.outbound.i18n import Catalogues
from storage.db import Database


class TemplateNotices:
    """Who has been told about which template (destination id, template source)."""

    def __init__(
        self, database: Database, bot: Bot, settings: Settings, catalogues: Catalogues
    ) -> None:
        self._admins = AdminNotices(database, bot, settings.language)
        self._catalogues = catalogues
        self._told: set[tuple[int, str]] = set()

    async def failed(self, destination_id: int, chat_id: int, template: str, reason: str) -> None:
        """The template of `destination_id` failed for a story with `reason`."""
        if (destination_id, template) in self._told:
            return
        self._told.add((destination_id, template))

        def notice(language: str, title: str) -> str:
            t = self._catalogues.translator(language)
            return t("template_failed", title=title, reason=reason)

        await self._admins.tell(destination_id, chat_id, notice)
