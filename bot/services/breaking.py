"""Breaking news from editors: a draft, an exact preview, one confirmation, one fan-out."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.editions import reading_order
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


# `kk: …` at the start of a line: the code (checked against the editions) and the rest.
VERSION_LINE = re.compile(r"^[ \t]*([A-Za-z]{2,3})[ \t]*:[ \t]*(.*)$")


@dataclass(frozen=True, slots=True)
class Draft:
    """Breaking news as typed: `text` is the first version (the whole text when there is one
    version for everyone); `texts` holds each edition's version, in the order given, or is
    None for one version."""

    text: str
    link: str | None
    texts: dict[str, str] | None = None

    def versions(self) -> list[tuple[str | None, str]]:
        """(edition, text) for each version; the edition is None for one version for all."""
        if not self.texts:
            return [(None, self.text)]
        return list(self.texts.items())


def _clean(raw: str) -> str:
    return strip_invisible(raw).strip()


def _split_versions(text: str, editions: Collection[str]) -> dict[str, str] | None:
    """Each edition's version when the text's lines start with edition codes, else None.

    Only a code at the start of a line counts, and only an edition's: "UPDATE: …" or a
    text whose first line names no edition is one version. A line that does not start a
    new version continues the one above it; a code given twice keeps its first version.
    """
    lines = text.splitlines()
    first = VERSION_LINE.match(lines[0]) if lines else None
    if first is None or first.group(1).lower() not in editions:
        return None
    versions: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines:
        match = VERSION_LINE.match(line)
        code = match.group(1).lower() if match else None
        if match and code in editions and code not in versions:
            current = versions.setdefault(code, [match.group(2)])
        else:
            current.append(line)
    texts = {code: "\n".join(parts).strip()[:MAX_TEXT] for code, parts in versions.items()}
    return {code: version for code, version in texts.items() if version} or None


def _take_link(text: str, link: str | None) -> str:
    """The text without the button's link when the text ends with it."""
    return text[: -len(link)].rstrip() if link and text.endswith(link) else text


def split_link(raw: str, editions: Collection[str] = ()) -> Draft:
    """`/breaking <text, optionally with a link>`: the last http(s) URL becomes the button
    (under every version), and lines starting with an edition code (`kk: …`) are versions.

    NUL and other control or invisible characters go, as from feeds and the CMS: they hide
    or reorder text in a chat client and never carry news.
    """
    text = _clean(raw)
    links = LINK.findall(text)
    found = links[-1] if links else None
    link = found.rstrip(".,;)") if found else None
    texts = _split_versions(text, editions)
    if texts is None:
        return Draft(text=_take_link(text, found)[:MAX_TEXT], link=link)
    texts = {code: _take_link(version, found) for code, version in texts.items()}
    texts = {code: version for code, version in texts.items() if version}
    if not texts:
        return Draft(text="", link=link)
    return Draft(text=next(iter(texts.values())), link=link, texts=texts)


def version_for(
    texts: Mapping[str, str] | None, reading: Sequence[str], newsroom_language: str
) -> str | None:
    """Which version a chat gets: its first edition (in `reading` order) that has one, else
    the newsroom's `language` version, else the first given; None for one version for all."""
    if not texts:
        return None
    for edition in (*reading, newsroom_language):
        if edition in texts:
            return edition
    return next(iter(texts))


class Breaking:
    def __init__(
        self,
        database: Database,
        editors: frozenset[int],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        editions: Sequence[str] = (),
        language: str = "en",
    ) -> None:
        self._db = database
        self._editors = editors
        self._clock = clock
        # The newsroom's editions in its order, and its `language`: how versions are picked.
        self._editions = tuple(editions)
        self._language = language

    def is_editor(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self._editors

    async def draft(self, editor_id: int, chat_id: int, draft: Draft) -> Alert:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await alert_queries.create_draft(
                session,
                editor_id=editor_id,
                chat_id=chat_id,
                text=draft.text,
                texts=draft.texts,
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

    async def delivered_by_edition(self, alert: Alert) -> list[tuple[str, int]]:
        """For an alert in versions: how many chats got each version, in the order given
        (a version nobody got shows 0). Empty for one version for everyone."""
        if not alert.texts:
            return []
        async with self._db.sessions() as session:
            readers = await delivery_queries.alert_readers(session, alert.id)
        counts = dict.fromkeys(alert.texts, 0)
        for reader in readers:
            reading = reading_order(reader.editions, reader.language, self._editions)
            edition = version_for(alert.texts, reading, self._language)
            if edition is not None:
                counts[edition] += 1
        return list(counts.items())

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
