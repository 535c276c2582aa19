"""Breaking news: from editors a draft, an exact preview, one confirmation, one fan-out; from
the CMS (POST /api/v1/breaking) the same fan-out at once, once per Idempotency-Key.

The console (POST /console/api/breaking) sends through `send_now` too, after its `preview`:
each version rendered by the composer's own render_breaking, and how many chats it reaches
counted with the chats the fan-out queues (storage/breaking_reach.py) and the version pick
the composer makes (bot/domain/breaking.py version_for).

The text rules (versions per edition, the link, which version a chat gets) are pure and
live in bot/domain/breaking.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.breaking import (
    BreakingText,
    Draft,
    count_by_version,
    delivered_by_version,
    first_and_versions,
    version_for,
    version_table,
)
from bot.domain.editions import reading_order
from bot.outbound.i18n import Translator
from bot.outbound.message import OutgoingMessage
from bot.outbound.render import render_breaking
from bot.services.recount import Recounted
from storage import alerts as alert_queries
from storage import breaking_reach as reach_queries
from storage import deliveries as delivery_queries
from storage import stats as stats_queries
from storage.breaking_reach import ReaderGroup
from storage.db import Database
from storage.deliveries import Progress
from storage.models import Alert
from storage.stats import FailureReason

# How far back /failures looks: long enough to cover a night's fan-outs.
FAILURES_WINDOW = timedelta(hours=24)
# Breaking news is queued for the chats of this many chat ids per transaction by the
# delivery tick (`continue_fan_outs`), after a first, smaller chunk queued before its sender
# gets an answer (within the console's 100 ms with the count of its chats).
FAN_OUT_CHUNK = 2000
FIRST_CHUNK = 500
# How old the audience the console's preview shows may be before it is counted again, in
# seconds (in the background: bot/services/recount.py): an editor's pauses in typing ask
# again and again, and counting 100k chats takes a fifth of a second.
AUDIENCE_TTL = 5.0


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before for a different request body."""


@dataclass(frozen=True, slots=True)
class BreakingPush:
    id: int
    queued: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class VersionPreview:
    """One version of breaking news as its chats would get it, and how many chats would."""

    edition: str
    message: OutgoingMessage
    chats: int


# An alert in one version for everyone reports its progress under this name.
EVERY_EDITION = "all"


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
        self._audience = Recounted(self._count_audience, AUDIENCE_TTL)

    def warm_reach(self) -> None:
        """Have the audience counted in the background for a preview about to be asked."""
        self._audience.warm()

    async def _count_audience(self) -> list[ReaderGroup]:
        async with self._db.sessions() as session:
            return await reach_queries.audience_groups(session, self._editions)

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

    async def _start_fan_out(self, session: AsyncSession, alert: Alert, now: datetime) -> int:
        """Count the chats the alert goes to (what its sender is told) and queue the first
        chunk of them; the delivery tick queues the rest (`continue_fan_outs`), so sending
        to 100k chats answers at once and the first of them get it meanwhile."""
        alert.audience = await delivery_queries.alert_audience(session, alert.sections or None)
        await self._queue_chunk(session, alert, now, min(FIRST_CHUNK, FAN_OUT_CHUNK))
        return alert.audience

    async def _queue_chunk(
        self, session: AsyncSession, alert: Alert, now: datetime, size: int
    ) -> bool:
        """The alert's chats among the next `size` chat ids, each row with the version its
        chat gets when there are several; True when they were the last. Ranges of ids, not
        counts of chats: finding where a chunk of so many chats ends costs a pass over all
        of them (an id range is read from the table's own order)."""
        sections = alert.sections or None
        after = alert.queued_through or 0
        end = after + size
        newsroom = list(self._editions)
        texts = alert.texts
        versions = version_table(texts, newsroom, self._language) if texts and newsroom else []
        await delivery_queries.queue_alert(
            session,
            alert.id,
            now,
            sections,
            versions=versions,
            newsroom=newsroom,
            after=after,
            through=end,
        )
        alert.queued_through = end
        done = end >= await delivery_queries.last_chat_id(session)
        if done:
            alert.fanned_out_at = now
        await session.flush()
        return done

    async def continue_fan_outs(self) -> int:
        """Queue the rest of each alert's chats, a chunk per transaction (the sender, and
        other instances, go on between them); after a crash, from where it stopped. How many
        chunks were queued."""
        async with self._db.sessions() as session:
            pending = await alert_queries.unfinished(session)
        chunks = 0
        for alert_id in pending:
            done = False
            while not done:
                async with self._db.writing(), self._db.sessions.begin() as session:
                    alert = await alert_queries.take_unfinished(session, alert_id)
                    if alert is None:  # finished, or another instance holds its next chunk
                        break
                    done = await self._queue_chunk(session, alert, self._clock(), FAN_OUT_CHUNK)
                chunks += 1
        return chunks

    async def get(self, alert_id: int) -> Alert | None:
        async with self._db.sessions() as session:
            return await alert_queries.get(session, alert_id)

    async def confirm(self, alert_id: int) -> int | None:
        """Queue the alert for every destination; None if it was already handled."""
        now = self._clock()
        async with self._db.writing(), self._db.sessions.begin() as session:
            if not await alert_queries.confirm(session, alert_id, now):
                return None
            alert = await alert_queries.get(session, alert_id)
            assert alert is not None
            return await self._start_fan_out(session, alert, now)

    async def send_now(
        self,
        text: BreakingText,
        link: str | None,
        sections: list[str] | None,
        key: str | None,
        *,
        source: str = "api",
        editor_id: int = 0,
    ) -> BreakingPush:
        """Create the alert (confirmed: the CMS's request, or the console's confirmation, is
        the editor's) and queue its fan-out in one transaction, once per key. `source` and
        `editor_id` record who sent it ("api" and 0 for the CMS, "console" and the editor).

        A retry with the same key (the CMS timed out, or its job runner repeated) answers the
        first alert's id and the number it queued, and queues nothing.
        """
        try:
            return await self._create_and_queue(text, link, sections, key, source, editor_id)
        except IntegrityError:
            # A concurrent request with the same key won the insert (PostgreSQL).
            assert key is not None
            return await self._replay(key, text, link, sections)

    async def _create_and_queue(
        self,
        text: BreakingText,
        link: str | None,
        sections: list[str] | None,
        key: str | None,
        source: str,
        editor_id: int,
    ) -> BreakingPush:
        now = self._clock()
        async with self._db.writing(), self._db.sessions.begin() as session:
            if key is not None:
                existing = await alert_queries.by_idempotency_key(session, key)
                if existing is not None:
                    return await _replayed(session, existing, text, link, sections)
            first, versions = first_and_versions(text)
            alert = await alert_queries.create_sent(
                session,
                text=first,
                texts=versions,
                link=link,
                sections=sections,
                idempotency_key=key,
                source=source,
                editor_id=editor_id,
                now=now,
            )
            queued = await self._start_fan_out(session, alert, now)
            return BreakingPush(alert.id, queued, replayed=False)

    async def _replay(
        self, key: str, text: BreakingText, link: str | None, sections: list[str] | None
    ) -> BreakingPush:
        async with self._db.sessions() as session:
            existing = await alert_queries.by_idempotency_key(session, key)
            assert existing is not None
            return await _replayed(session, existing, text, link, sections)

    async def cancel(self, alert_id: int) -> bool:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await alert_queries.cancel(session, alert_id)

    async def progress(self, alert_id: int) -> Progress:
        async with self._db.sessions() as session:
            return await delivery_queries.alert_progress(session, alert_id)

    async def progress_of(self, alert_id: int) -> Progress | None:
        """`progress`, or None for an alert that does not exist (an API's 404)."""
        async with self._db.sessions() as session:
            if await alert_queries.get(session, alert_id) is None:
                return None
            return await delivery_queries.alert_progress(session, alert_id)

    async def preview(
        self,
        texts: Mapping[str, str],
        link: str | None,
        translator: Callable[[str], Translator],
    ) -> list[VersionPreview]:
        """Each version as the composer renders it (in the interface language of its own
        edition) and the chats that would get it were it sent now; sends nothing."""
        reach = dict(await self.reach(texts))
        return [
            VersionPreview(
                edition, render_breaking(text, link, t=translator(edition)), reach[edition]
            )
            for edition, text in texts.items()
        ]

    async def reach(self, texts: Mapping[str, str]) -> list[tuple[str, int]]:
        """How many chats each version would reach now (the chats `_queue` would queue,
        counted lately: a count older than AUDIENCE_TTL is served while the next is made
        behind it, one older than ten of them is waited for; bot/services/recount.py)."""
        groups = await self._audience.get()
        readings = (
            (reading_order(group.editions, group.language, self._editions), group.chats)
            for group in groups
        )
        return count_by_version(texts, readings, self._language)

    async def progress_by_edition(self, alert_id: int) -> dict[str, Progress] | None:
        """The alert's deliveries by state for each version (EVERY_EDITION for an alert in
        one version), each chat under the version it gets; None for an unknown alert."""
        async with self._db.sessions() as session:
            alert = await alert_queries.get(session, alert_id)
            if alert is None:
                return None
            rows = await delivery_queries.alert_versions(session, alert_id)
            # Rows queued before their version was recorded (migration 0016): read who
            # their chats are, as then.
            legacy = bool(alert.texts) and any(version is None for version, _, _ in rows)
            if legacy:
                groups = await reach_queries.alert_groups(session, alert_id, self._editions)
        names = list(alert.texts) if alert.texts else [EVERY_EDITION]
        counts = {name: dict.fromkeys(Progress.__slots__, 0) for name in names}
        if not legacy:
            for version, status, chats in rows:
                name = version if version in counts else names[0]
                if status in counts[name]:
                    counts[name][status] += chats
            return {name: Progress(**states) for name, states in counts.items()}
        for group in groups:
            if group.status not in Progress.__slots__:
                continue
            reading = reading_order(group.editions, group.language, self._editions)
            name = version_for(alert.texts, reading, self._language) or EVERY_EDITION
            counts[name][group.status] += group.chats
        return {name: Progress(**states) for name, states in counts.items()}

    async def due_reports(self, patience_seconds: float = 60.0) -> list[tuple[Alert, Progress]]:
        """Alerts whose fan-out finished (or has run `patience_seconds`): report them now."""
        now = self._clock()
        due: list[tuple[Alert, Progress]] = []
        async with self._db.sessions() as session:
            for alert in await alert_queries.unreported(session):
                progress = await delivery_queries.alert_progress(session, alert.id)
                waited = (now - (alert.confirmed_at or now)).total_seconds()
                queued = alert.fanned_out_at is not None
                if (queued and progress.pending == 0) or waited >= patience_seconds:
                    due.append((alert, progress))
        return due

    async def delivered_by_edition(self, alert: Alert) -> list[tuple[str, int]]:
        """For an alert in versions: how many chats got each version, in the order given
        (a version nobody got shows 0). Empty for one version for everyone."""
        if not alert.texts:
            return []
        async with self._db.sessions() as session:
            readers = await delivery_queries.alert_readers(session, alert.id)
        readings = (
            reading_order(reader.editions, reader.language, self._editions) for reader in readers
        )
        return delivered_by_version(alert.texts, readings, self._language)

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


async def _replayed(
    session: AsyncSession,
    alert: Alert,
    text: BreakingText,
    link: str | None,
    sections: list[str] | None,
) -> BreakingPush:
    """The first alert sent with this key, if this request is the same one again."""
    first, versions = first_and_versions(text)
    sent = (alert.text, alert.texts or None, alert.link, alert.sections or None)
    if sent != (first, versions, link, sections or None):
        raise IdempotencyConflict
    if alert.audience is not None:
        return BreakingPush(alert.id, alert.audience, replayed=True)
    progress = await delivery_queries.alert_progress(session, alert.id)
    total = progress.queued + progress.sending + progress.sent + progress.failed
    return BreakingPush(alert.id, total, replayed=True)
