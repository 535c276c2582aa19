"""One delivery tick: queue new stories, drain the outbox, report finished breaking news."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.delivery.corrections import Corrector
from bot.delivery.leadership import Leadership
from bot.delivery.sender import Sender, SendStats
from bot.services.breaking import Breaking
from bot.telegram.handlers.common import plain
from bot.telegram.i18n import Catalogues
from bot.telegram.render import render_failure_reasons
from storage import destinations as destination_queries
from storage.db import Database

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        sender: Sender,
        corrector: Corrector,
        leadership: Leadership,
        breaking: Breaking,
        catalogues: Catalogues,
        default_language: str,
    ) -> None:
        self._db = database
        self._bot = bot
        self._sender = sender
        self._corrector = corrector
        self._leadership = leadership
        self._breaking = breaking
        self._catalogues = catalogues
        self._default_language = default_language

    async def tick(self, budget_seconds: float = 20.0) -> SendStats:
        """Queue, then (if this instance is the sender) recover, send, correct, report."""
        queued = await self._sender.fan_out()
        if not await self._leadership.acquire():
            return SendStats()
        await self._sender.requeue_expired()
        stats = await self._sender.drain(budget_seconds)
        await self._corrector.edit_stale()
        await self._report_alerts()
        if queued or stats.sent or stats.failed:
            log.info(
                "delivery: %d queued, %d sent, %d failed, %d retried, %d rate-limited",
                queued,
                stats.sent,
                stats.failed,
                stats.retried,
                stats.rate_limited,
            )
        return stats

    async def _report_alerts(self) -> None:
        """Tell each editor how their breaking news went: delivered, failed, still queued."""
        for alert, progress in await self._breaking.due_reports():
            async with self._db.sessions() as session:
                editor_chat = await destination_queries.get_by_chat(session, alert.editor_chat_id)
            language = editor_chat.language if editor_chat and editor_chat.language else None
            t = self._catalogues.translator(language or self._default_language)
            text = t(
                "breaking_report",
                delivered=progress.sent,
                failed=progress.failed,
                queued=progress.pending,
            )
            html = plain(text)
            if progress.failed:
                reasons = await self._breaking.failure_reasons(alert.id)
                html += "\n" + render_failure_reasons(reasons)
            try:
                await self._bot.send_message(alert.editor_chat_id, html)
            except TelegramError as exc:
                log.warning("could not report alert %s to its editor: %s", alert.id, exc.message)
            await self._breaking.reported(alert.id)
