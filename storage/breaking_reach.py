"""Who breaking news reaches, counted by what picks each chat's version: before it is sent
(the console's preview) and while it goes out (its progress per edition).

`breaking_audience` is the set of chats an alert is queued for: storage/deliveries.py
queue_alert selects with it, so the preview counts exactly whom the send will reach.
Nothing here reads one row per chat: the chats are counted by their interface language and
which of the newsroom's editions they read (GROUP BY), a handful of groups however many
chats; bot/domain/breaking.py turns each group into the version it gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.destinations import has_any_subscription
from storage.models import Delivery, Destination, DestinationEdition, Subscription


@dataclass(frozen=True, slots=True)
class ReaderGroup:
    """`chats` chats of one interface `language` reading exactly `editions` (of the
    newsroom's), with one outbox `status` (None before the alert is queued)."""

    language: str | None
    editions: frozenset[str]
    chats: int
    status: str | None = None


def breaking_audience(sections: Sequence[str] | None = None) -> list[ColumnElement[bool]]:
    """The chats that take breaking news: active ones that did not switch it off, readers
    once they subscribe to a section; with `sections`, only chats following one of them."""
    conditions: list[ColumnElement[bool]] = [
        Destination.active.is_(True),
        Destination.breaking.is_(True),
        or_(Destination.kind != "private", has_any_subscription()),
    ]
    if sections:
        subscribed = select(Subscription.destination_id).where(Subscription.section.in_(sections))
        conditions.append(Destination.id.in_(subscribed))
    return conditions


def reading_flags(
    editions: Sequence[str], after: int | None = None, through: int | None = None
) -> Any:
    """Per chat, which of `editions` it reads (reads_0, reads_1, ... as 1 or 0): one pass
    over destination_editions grouped by chat, not a lookup per chat and edition; with
    `after` / `through`, only the chats whose id is past / up to them (a fan-out's chunk)."""
    flags = [
        func.max(case((DestinationEdition.edition == edition, 1), else_=0)).label(f"reads_{index}")
        for index, edition in enumerate(editions)
    ]
    query = select(DestinationEdition.destination_id.label("destination_id"), *flags)
    if after is not None:
        query = query.where(DestinationEdition.destination_id > after)
    if through is not None:
        query = query.where(DestinationEdition.destination_id <= through)
    return query.group_by(DestinationEdition.destination_id).subquery("reading")


def _flags(reading: Any, editions: Sequence[str]) -> list[Any]:
    """The chat's flags; a chat with no edition row reads none of them."""
    return [
        func.coalesce(reading.c[f"reads_{index}"], 0).label(f"reads_{index}")
        for index in range(len(editions))
    ]


async def _groups(
    session: AsyncSession, inner: Any, editions: Sequence[str], with_status: bool
) -> list[ReaderGroup]:
    table = inner.subquery()
    flags = [table.c[f"reads_{index}"] for index in range(len(editions))]
    keys = [table.c.language, *flags] + ([table.c.status] if with_status else [])
    query = select(*keys, func.count().label("chats")).group_by(*keys)
    return [
        ReaderGroup(
            language=row.language,
            editions=frozenset(
                edition for index, edition in enumerate(editions) if row[f"reads_{index}"]
            ),
            chats=int(row.chats),
            status=str(row.status) if with_status else None,
        )
        for row in (await session.execute(query)).mappings().all()
    ]


async def audience_groups(
    session: AsyncSession, editions: Sequence[str], sections: Sequence[str] | None = None
) -> list[ReaderGroup]:
    """The chats breaking news would be queued for now, by language and editions read."""
    reading = reading_flags(editions)
    inner = (
        select(Destination.language.label("language"), *_flags(reading, editions))
        .outerjoin(reading, reading.c.destination_id == Destination.id)
        .where(*breaking_audience(sections))
    )
    return await _groups(session, inner, editions, with_status=False)


async def alert_groups(
    session: AsyncSession, alert_id: int, editions: Sequence[str]
) -> list[ReaderGroup]:
    """An alert's outbox rows (ix_deliveries_alert_id) by status, language and editions."""
    reading = reading_flags(editions)
    inner = (
        select(
            Destination.language.label("language"),
            Delivery.status.label("status"),
            *_flags(reading, editions),
        )
        .join(Destination, Destination.id == Delivery.destination_id)
        .outerjoin(reading, reading.c.destination_id == Destination.id)
        .where(Delivery.alert_id == alert_id)
    )
    return await _groups(session, inner, editions, with_status=True)
