"""Breaking news from editors: a draft, an exact preview, one confirmation, one fan-out."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.feeds.text import strip_invisible
from storage import alerts as alert_queries
from storage import deliveries as delivery_queries
from storage import stats as stats_queries
from storage.db import Database
from storage.deliveries import Progress
from storage.models import Alert
from storage.stats import FailureReason

# How far back /failures looks: long enough to cover a night's fan-outs.
FAILURES_WINDOW = timedelta(hours=24)

LINK = re.compile(r"https?://\S+")
MAX_TEXT = 3000


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    link: str | None


def split_link(raw: str) -> Draft:
    """`/breaking <text, optionally with a link>`: the last http(s) URL becomes the button.

    NUL and other control or invisible characters go, as from feeds and the CMS: they hide
    or reorder text in a chat client and never carry news.
    """
    text = strip_invisible(raw).strip()
    links = LINK.findall(text)
    link = links[-1].rstrip(".,;)") if links else None
    if link and text.endswith(links[-1]):
        text = text[: -len(links[-1])].rstrip()
    return Draft(text=text[:MAX_TEXT], link=link)


class Breaking:
    def __init__(
        self,
        database: Database,
        editors: frozenset[int],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._editors = editors
        self._clock = clock

    def is_editor(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self._editors

    async def draft(self, editor_id: int, chat_id: int, draft: Draft) -> Alert:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await alert_queries.create_draft(
                session,
                editor_id=editor_id,
                chat_id=chat_id,
                text=draft.text,
                link=draft.link,
                now=self._clock(),
            )

    async def get(self, alert_id: int) -> Alert | None:
        async with self._db.sessions() as session:
            return await alert_queries.get(session, alert_id)

    async def confirm(self, alert_id: int) -> int | None:
        """Queue the alert for every destination; None if it was already handled."""
        now = self._clock()
        async with self._db.writing(), self._db.sessions.begin() as session:
            if not await alert_queries.confirm(session, alert_id, now):
                return None
            return await delivery_queries.queue_alert(session, alert_id, now)

    async def cancel(self, alert_id: int) -> bool:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await alert_queries.cancel(session, alert_id)

    async def progress(self, alert_id: int) -> Progress:
        async with self._db.sessions() as session:
            return await delivery_queries.alert_progress(session, alert_id)

    async def due_reports(self, patience_seconds: float = 60.0) -> list[tuple[Alert, Progress]]:
        """Alerts whose fan-out finished (or has run `patience_seconds`): report them now."""
        now = self._clock()
        due: list[tuple[Alert, Progress]] = []
        async with self._db.sessions() as session:
            for alert in await alert_queries.unreported(session):
                progress = await delivery_queries.alert_progress(session, alert.id)
                waited = (now - (alert.confirmed_at or now)).total_seconds()
                if progress.pending == 0 or waited >= patience_seconds:
                    due.append((alert, progress))
        return due

    async def failure_reasons(self, alert_id: int) -> list[FailureReason]:
        """Why this alert's failed deliveries failed, commonest reason first."""
        async with self._db.sessions() as session:
            return await stats_queries.failure_reasons(session, alert_id=alert_id)

    async def recent_failures(self) -> list[FailureReason]:
        """Every delivery (stories and alerts) that failed within FAILURES_WINDOW, by reason."""
        since = self._clock() - FAILURES_WINDOW
        async with self._db.sessions() as session:
            return await stats_queries.failure_reasons(session, since=since, limit=10)

    async def reported(self, alert_id: int) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await alert_queries.mark_reported(session, alert_id, self._clock())
