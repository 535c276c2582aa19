"""One delivery tick: queue new stories, drain the outbox, report finished breaking news."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Protocol

from telegram import Bot

from bot.delivery.approval_desk import DeskPoster
from bot.delivery.corrections import Corrector
from bot.delivery.outcomes import Verdict, outcome_of
from bot.delivery.sender import Sender, SendStats
from bot.outbound.i18n import Catalogues, language_name
from bot.outbound.message import OutgoingMessage
from bot.outbound.reports import render_breaking_report
from bot.outbound.send import deliver
from storage import delivery_results as outcome_queries
from storage import destinations as destination_queries
from storage.db import Database
from storage.deliveries import Progress
from storage.leadership import Leadership
from storage.models import Alert
from storage.stats import FailureReason

log = logging.getLogger(__name__)


class TickObserver(Protocol):
    """Sees every delivery tick start and end (metrics, and a stop that lets it finish)."""

    def tick_started(self) -> None: ...

    async def tick_finished(self, stats: SendStats | None, started: datetime) -> None:
        """`stats` is None when the tick failed or was cancelled."""


class AlertReports(Protocol):
    """What the tick needs of breaking news (the breaking service, bot/services/breaking.py,
    is it): the rest of its fan-out queued, the alerts due a report and what to say."""

    async def get(self, alert_id: int) -> Alert | None: ...

    async def continue_fan_outs(self) -> int: ...

    async def due_reports(self) -> list[tuple[Alert, Progress]]: ...

    async def failure_reasons(self, alert_id: int) -> list[FailureReason]: ...

    async def delivered_by_edition(self, alert: Alert) -> list[tuple[str, int]]: ...

    async def reported(self, alert_id: int) -> None: ...


class Dispatcher:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        sender: Sender,
        corrector: Corrector,
        leadership: Leadership,
        breaking: AlertReports,
        catalogues: Catalogues,
        default_language: str,
        *,
        wake: Callable[[], None] | None = None,
        observer: TickObserver | None = None,
        desk: DeskPoster | None = None,
    ) -> None:
        self._db = database
        # The editors' desk chat: approvals posted, expired ones closed (each tick).
        self._desk = desk
        self._observer = observer
        self._bot = bot
        self._sender = sender
        self._corrector = corrector
        self._leadership = leadership
        self._breaking = breaking
        self._catalogues = catalogues
        self._default_language = default_language
        # Runs the next tick at once rather than at the next beat (see `tick`).
        self._wake = wake
        # Whether this instance held the sender's role at its last tick: on taking it over,
        # the day's paid broadcasts so far are read again (another sender may have spent them).
        self._sending = False
        # Alerts whose editor was told the paid broadcast budget ran out (once each).
        self._told_paid_spent: set[int] = set()

    async def release(self) -> None:
        """Give up the sender's role (at shutdown): its lock's connection is closed now, not
        when the process ends, so another instance (or the next run in one process) sends."""
        await self._leadership.release()

    async def tick(self, budget_seconds: float = 20.0) -> SendStats:
        """Queue, then (if this instance is the sender) recover, send, correct, report.

        A long fan-out takes many ticks (each ends after `budget_seconds` so corrections,
        reports and newly queued stories get their turn); the next one is woken at once, so
        the pace does not stop for up to a beat between them.
        """
        if self._observer is None:
            return await self._tick(budget_seconds)
        started = datetime.now(UTC)
        self._observer.tick_started()
        stats: SendStats | None = None
        try:
            stats = await self._tick(budget_seconds)
        finally:
            await self._observer.tick_finished(stats, started)
        return stats

    async def _tick(self, budget_seconds: float) -> SendStats:
        # Breaking news first: the chats an alert's sending left to queue (chunk by chunk).
        await self._breaking.continue_fan_outs()
        queued = await self._sender.fan_out()
        if not await self._leadership.acquire():
            self._sending = False
            return SendStats()
        if not self._sending:  # this instance has just become the sender (or started)
            self._sending = True
            await self._sender.start_paid_day()
        await self._sender.requeue_expired()
        stats = await self._sender.drain(budget_seconds)
        await self._tell_paid_spent(stats.paid_spent)
        await self._corrector.edit_stale()
        await self._report_alerts()
        await self._keep_desk()
        if stats.unfinished and self._wake is not None:
            self._wake_when_done()
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

    def _wake_when_done(self) -> None:
        """Wake the next tick as this one's task ends.

        Not before: the scheduler runs one tick at a time and would skip a wake that comes
        while this tick still runs. Its own done-callback (registered when it started the
        task) runs before ours, so by the time we wake it, it has counted this tick finished.
        """
        wake = self._wake
        task = asyncio.current_task()
        if wake is None or task is None:
            return

        def on_done(_: asyncio.Task[object]) -> None:
            try:
                wake()
            except Exception:  # the scheduler has stopped: nothing to wake
                log.debug("could not wake the next delivery tick", exc_info=True)

        task.add_done_callback(on_done)

    async def _keep_desk(self) -> None:
        """Post new approvals to the desk chat and expire old ones; a failure waits for the
        next tick (nothing is lost: both read what the database still says is to do)."""
        if self._desk is None:
            return
        try:
            await self._desk.tick()
        except Exception:
            log.exception("the editors' desk step failed; trying again next tick")

    async def _tell_paid_spent(self, alert_ids: set[int]) -> None:
        """Tell an alert's editor, once, that the day's paid broadcast budget ran out while it
        went out: the rest of it goes at the free pace (their report follows as usual)."""
        for alert_id in sorted(alert_ids - self._told_paid_spent):
            self._told_paid_spent.add(alert_id)
            alert = await self._breaking.get(alert_id)
            if alert is None:
                continue
            t = self._catalogues.translator(await self._editor_language(alert.editor_chat_id))
            stars = f"{self._sender.paid_stars_per_day or 0:g}"
            html = escape(t("breaking_paid_spent", stars=stars))
            log.warning("paid broadcast budget spent; alert %s goes on at the free pace", alert_id)
            await self._send_report(alert_id, alert.editor_chat_id, html)

    async def _editor_language(self, chat_id: int) -> str:
        async with self._db.sessions() as session:
            editor_chat = await destination_queries.get_by_chat(session, chat_id)
        language = editor_chat.language if editor_chat and editor_chat.language else None
        return language or self._default_language

    async def _report_alerts(self) -> None:
        """Tell each editor how their breaking news went: delivered, failed, still queued."""
        for alert, progress in await self._breaking.due_reports():
            t = self._catalogues.translator(await self._editor_language(alert.editor_chat_id))
            reasons = await self._breaking.failure_reasons(alert.id) if progress.failed else []
            by_edition = [
                (language_name(edition), count)
                for edition, count in await self._breaking.delivered_by_edition(alert)
            ]
            html = render_breaking_report(
                progress.sent,
                progress.failed,
                progress.pending,
                reasons,
                t=t,
                by_edition=by_edition,
            )
            if await self._send_report(alert.id, alert.editor_chat_id, html):
                await self._breaking.reported(alert.id)

    async def _send_report(self, alert_id: int, chat_id: int, html: str) -> bool:
        """Send one report; False when it should be tried again at the next tick.

        Telegram's refusals mean what they mean to the sender (bot/delivery/outcomes.py): a
        429 (after the request layer's retries for replies) or network trouble waits for the
        next tick; an editor's chat that is gone is marked inactive, a migrated one moves, and
        either (or another refusal) ends the report.
        """
        try:
            await deliver(self._bot, chat_id, OutgoingMessage(html))
            return True
        except Exception as exc:
            outcome = outcome_of(exc)
        log.warning("could not report alert %s to its editor: %s", alert_id, outcome.reason)
        now = datetime.now(UTC)
        if outcome.verdict is Verdict.GONE:
            async with self._db.writing(), self._db.sessions.begin() as session:
                await outcome_queries.chat_gone(session, chat_id, outcome.reason, now)
        elif outcome.verdict is Verdict.MIGRATED and outcome.new_chat_id is not None:
            async with self._db.writing(), self._db.sessions.begin() as session:
                await destination_queries.move_chat(session, chat_id, outcome.new_chat_id, now)
        return outcome.verdict not in (Verdict.RATE_LIMITED, Verdict.TRANSIENT)
