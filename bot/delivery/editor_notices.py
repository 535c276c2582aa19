"""Telling the newsroom's editors something that concerns them all (a feed down, a feed back):
in the editors' group (`desk_chat`) when there is one, else each editor in their private chat.

Each chat reads it in the language it chose (/language, kept on its destination row), else
the newsroom's `language`, as the editors' other notices (the breaking report, the desk's
previews). Telegram's refusals are logged, never raised: a caller learns how many chats were
told and whether trying again later could help (a 429 or network trouble), so it can give
back what it claimed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Bot

from bot.config import Settings
from bot.delivery.outcomes import Verdict, outcome_of
from bot.outbound.i18n import Catalogues, Translator
from bot.outbound.message import OutgoingMessage
from bot.outbound.send import deliver
from storage import destinations as destination_queries
from storage.db import Database

log = logging.getLogger(__name__)

# The notice as escaped HTML, in the language of the translator given.
Render = Callable[[Translator], str]


@dataclass(frozen=True, slots=True)
class Told:
    """How a notice went: the chats that got it, and whether every chat missed it for a
    passing reason (rate limited, network trouble), so that a later try could reach them."""

    told: int
    retry: bool = False


class EditorNotices:
    def __init__(
        self, database: Database, bot: Bot, settings: Settings, catalogues: Catalogues
    ) -> None:
        self._db = database
        self._bot = bot
        self._settings = settings
        self._catalogues = catalogues

    @property
    def chats(self) -> list[int]:
        """Where editors' notices go: the desk chat, else every editor's private chat."""
        if self._settings.desk_chat is not None:
            return [self._settings.desk_chat]
        return list(dict.fromkeys(self._settings.editors))

    async def tell(self, render: Render, what: str) -> Told:
        """Send the notice to every chat in `chats`, each in its language; `what` names it in
        the log lines."""
        told, passing = 0, 0
        for chat_id in self.chats:
            html = render(self._catalogues.translator(await self._language(chat_id)))
            try:
                await deliver(self._bot, chat_id, OutgoingMessage(html))
            except Exception as exc:
                outcome = outcome_of(exc)
                log.warning("could not tell chat %s %s: %s", chat_id, what, outcome.reason)
                passing += outcome.verdict in (Verdict.RATE_LIMITED, Verdict.TRANSIENT)
                continue
            told += 1
        if told:
            log.info("told %d editors' chat(s) %s", told, what)
        return Told(told, retry=told == 0 and passing > 0)

    async def _language(self, chat_id: int) -> str:
        async with self._db.sessions() as session:
            destination = await destination_queries.get_by_chat(session, chat_id)
        if destination is not None and destination.language:
            return destination.language
        return self._settings.language
