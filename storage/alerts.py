"""Queries on breaking-news alerts: draft, confirm once, cancel, report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Alert
from storage.states import AlertStatus


async def create_draft(
    session: AsyncSession,
    *,
    editor_id: int,
    chat_id: int,
    text: str,
    link: str | None,
    now: datetime,
    texts: dict[str, str] | None = None,
) -> Alert:
    """A draft; `texts` holds one version per edition (None: `text` for everyone), and
    `text` is the first version, for readers of the column that know one text."""
    alert = Alert(
        editor_id=editor_id,
        editor_chat_id=chat_id,
        text=text,
        texts=texts or None,
        link=link,
        status=AlertStatus.DRAFT,
        created_at=now,
    )
    session.add(alert)
    await session.flush()
    return alert


async def get(session: AsyncSession, alert_id: int) -> Alert | None:
    return await session.get(Alert, alert_id)


async def confirm(session: AsyncSession, alert_id: int, now: datetime) -> bool:
    """Draft -> sent, exactly once: a double press or a replayed button finds it taken."""
    result = await session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.status == AlertStatus.DRAFT)
        .values(status=AlertStatus.SENT, confirmed_at=now)
    )
    return result.rowcount == 1


async def cancel(session: AsyncSession, alert_id: int) -> bool:
    result = await session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.status == AlertStatus.DRAFT)
        .values(status=AlertStatus.CANCELLED)
    )
    return result.rowcount == 1


async def unreported(session: AsyncSession) -> list[Alert]:
    query = select(Alert).where(Alert.status == AlertStatus.SENT, Alert.reported_at.is_(None))
    return list((await session.scalars(query)).all())


async def mark_reported(session: AsyncSession, alert_id: int, now: datetime) -> None:
    await session.execute(update(Alert).where(Alert.id == alert_id).values(reported_at=now))


async def unfinished(session: AsyncSession) -> list[int]:
    """Sent alerts whose chats are not all queued yet (oldest first)."""
    query = (
        select(Alert.id)
        .where(Alert.status == AlertStatus.SENT, Alert.fanned_out_at.is_(None))
        .order_by(Alert.id)
    )
    return list((await session.scalars(query)).all())


async def take_unfinished(session: AsyncSession, alert_id: int) -> Alert | None:
    """The alert, if its fan-out still goes on, locked for this transaction on PostgreSQL
    (another instance taking the same chunk skips it: SKIP LOCKED); None otherwise."""
    query = select(Alert).where(Alert.id == alert_id, Alert.fanned_out_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return await session.scalar(query)


# ---- Breaking news from the newsroom's CMS (POST /api/v1/breaking) ---------------------


async def by_idempotency_key(session: AsyncSession, key: str) -> Alert | None:
    return await session.scalar(select(Alert).where(Alert.idempotency_key == key))


async def create_sent(
    session: AsyncSession,
    *,
    text: str,
    link: str | None,
    sections: list[str] | None,
    idempotency_key: str | None,
    source: str,
    now: datetime,
    texts: dict[str, str] | None = None,
    editor_id: int = 0,
) -> Alert:
    """An alert confirmed at creation: the CMS's request (or the console's confirmation) is
    the editor's.

    It has no editor chat to report to (editor_chat_id 0; editor_id 0 for the CMS), so it is
    born reported; the CMS follows its progress with GET /api/v1/deliveries/{id}, the
    console with GET /console/api/breaking/{id}. The unique idempotency key makes
    a concurrent retry fail here rather than create a second alert.
    """
    alert = Alert(
        editor_id=editor_id,
        editor_chat_id=0,
        text=text,
        texts=texts or None,
        link=link,
        sections=sections or None,
        source=source,
        idempotency_key=idempotency_key,
        status=AlertStatus.SENT,
        created_at=now,
        confirmed_at=now,
        reported_at=now,
    )
    session.add(alert)
    await session.flush()
    return alert
