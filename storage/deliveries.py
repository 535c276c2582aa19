"""The outbox: deliveries are queued in the database before anything is sent.

Every state change is a transaction, so a process killed at any moment loses nothing: queued
rows are sent after a restart, and rows caught `sending` are requeued (at most the messages
that were in flight at the kill are repeated).

This module queues rows (breaking news here; stories in storage/fan_out.py, digests in
storage/digests.py, both through `insert_deliveries`/`insert_rows`) and follows breaking
news to its readers. The sender claims rows in storage/outbox.py and records what became of
them in storage/delivery_results.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, null, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.breaking import VersionRule
from storage.breaking_reach import breaking_audience, reading_flags
from storage.editions import editions_of_many
from storage.models import Delivery, Destination
from storage.states import DeliveryStatus

STORY_PRIORITY = 10
BREAKING_PRIORITY = 0
# The digest is not urgent: it goes after breaking news and stories.
DIGEST_PRIORITY = 20


@dataclass(frozen=True, slots=True)
class Progress:
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0

    @property
    def pending(self) -> int:
        return self.queued + self.sending


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(Delivery.__table__)


_COLUMNS = (
    "destination_id",
    "story_id",
    "alert_id",
    "priority",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


async def insert_deliveries(
    session: AsyncSession, columns: Sequence[str], targets: Select[Any]
) -> int:
    """Queue the rows `targets` selects (in `columns` order); rows already queued for the
    same destination and story, alert or digest slot are left as they are."""
    statement = _insert(session).from_select(list(columns), targets).on_conflict_do_nothing()
    result = await session.execute(statement)
    return max(result.rowcount or 0, 0)


async def insert_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Queue these rows (column -> value each), as `insert_deliveries` leaves rows already
    queued for the same destination and story (or group) as they are; how many went in."""
    result = await session.execute(_insert(session).values(list(rows)).on_conflict_do_nothing())
    return max(result.rowcount or 0, 0)


async def queue_alert(
    session: AsyncSession,
    alert_id: int,
    now: datetime,
    sections: Sequence[str] | None = None,
    versions: Sequence[VersionRule] = (),
    newsroom: Sequence[str] = (),
    after: int | None = None,
    through: int | None = None,
) -> int:
    """Queue breaking news for every active destination that takes it, ahead of stories.

    Readers take it once they subscribe to at least one section; channels and groups take it
    unless their admins switched it off. With `sections` (the CMS API may target them), only
    destinations subscribed to one of those sections take it. With `versions` (the domain's
    table over the `newsroom` editions), each row records the version its chat gets. With
    `after` / `through`, only the destinations whose id is past / up to them (a chunk).
    """
    columns: list[Any] = [
        Destination.id,
        literal(None),
        literal(alert_id),
        literal(BREAKING_PRIORITY),
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(now, type_=Delivery.next_attempt_at.type),
        literal(now, type_=Delivery.created_at.type),
    ]
    names = list(_COLUMNS)
    targets = select(*columns).where(*breaking_audience(sections), *_between(after, through))
    if versions:
        reading = reading_flags(newsroom, after, through)
        targets = targets.add_columns(_version_of(reading, versions, newsroom)).outerjoin(
            reading, reading.c.destination_id == Destination.id
        )
        names.append("version")
    statement = _insert(session).from_select(names, targets).on_conflict_do_nothing()
    result = await session.execute(statement)
    return max(result.rowcount or 0, 0)


def _between(after: int | None, through: int | None) -> list[Any]:
    bounds = []
    if after is not None:
        bounds.append(Destination.id > after)
    if through is not None:
        bounds.append(Destination.id <= through)
    return bounds


async def alert_audience(session: AsyncSession, sections: Sequence[str] | None = None) -> int:
    """How many chats breaking news would be queued for now (`queue_alert`'s)."""
    query = select(func.count()).select_from(Destination).where(*breaking_audience(sections))
    return int(await session.scalar(query) or 0)


async def last_chat_id(session: AsyncSession) -> int:
    """The highest chat id there is (0 without chats): where a fan-out by id ranges ends."""
    return int(await session.scalar(select(func.max(Destination.id))) or 0)


def _version_of(reading: Any, versions: Sequence[VersionRule], newsroom: Sequence[str]) -> Any:
    """The domain's version table as one CASE over the chat's reading flags and language:
    the first rule that matches the chat (each set's languages come before its "any")."""
    flags = [func.coalesce(reading.c[f"reads_{index}"], 0) for index in range(len(newsroom))]
    branches = []
    for rule in versions:
        matches = [
            flag == (1 if edition in rule.editions else 0)
            for flag, edition in zip(flags, newsroom, strict=True)
        ]
        if rule.language is not None:
            matches.append(Destination.language == rule.language)
        branches.append((and_(*matches), literal(rule.version)))
    return case(*branches, else_=null())


async def alert_versions(session: AsyncSession, alert_id: int) -> list[tuple[str | None, str, int]]:
    """(version, status, rows) of an alert's outbox rows, from ix_deliveries_alert_id alone."""
    query = (
        select(Delivery.version, Delivery.status, func.count())
        .where(Delivery.alert_id == alert_id)
        .group_by(Delivery.version, Delivery.status)
    )
    return [
        (version, str(status), int(rows)) for version, status, rows in await session.execute(query)
    ]


async def alert_progress(session: AsyncSession, alert_id: int) -> Progress:
    query = (
        select(Delivery.status, func.count())
        .where(Delivery.alert_id == alert_id)
        .group_by(Delivery.status)
    )
    counts = dict((await session.execute(query)).all())
    return Progress(**{status: int(counts.get(status, 0)) for status in Progress.__slots__})


@dataclass(frozen=True, slots=True)
class AlertReader:
    """A chat an alert was delivered to, with what decides which version it got."""

    language: str | None
    editions: frozenset[str]


async def alert_readers(session: AsyncSession, alert_id: int) -> list[AlertReader]:
    """The chats an alert was delivered to (for the editor's count per edition)."""
    query = (
        select(Delivery.destination_id, Destination.language)
        .join(Destination, Destination.id == Delivery.destination_id)
        .where(Delivery.alert_id == alert_id, Delivery.status == DeliveryStatus.SENT)
    )
    rows = (await session.execute(query)).all()
    editions: dict[int, frozenset[str]] = {}
    ids = [row.destination_id for row in rows]
    # In chunks: a bound parameter per id, and SQLite allows some tens of thousands at most.
    for start in range(0, len(ids), 5000):
        editions.update(await editions_of_many(session, ids[start : start + 5000]))
    return [
        AlertReader(row.language, editions.get(row.destination_id, frozenset())) for row in rows
    ]
