"""Queries on feeds: syncing them from the config, recording each poll, reporting health, and
claiming the editors' alerts about failing feeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.feed_alerts import AlertState
from storage.limits import fits, max_length
from storage.models import Feed, MostReadRank, Story


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed as the config describes it."""

    url: str
    section: str | None
    language: str | None
    poll_interval: int
    role: str = "news"  # "popular": a most-read list, ranked, never stored as stories


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What one poll of a feed changes on its row."""

    fetched_at: datetime
    status: str
    error: str | None
    next_poll_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    succeeded: bool = True
    # The body was read (not a 304, not a failure): its warning replaces the feed's last one,
    # None clearing it.
    body_read: bool = False
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class FeedHealth:
    id: int
    url: str
    enabled: bool
    section: str | None
    poll_interval: int
    last_fetched_at: datetime | None
    last_status: str | None
    last_error: str | None
    consecutive_errors: int
    next_poll_at: datetime | None
    stored_items: int
    role: str = "news"
    # A most-read feed stores no stories: how many places its kept list has instead.
    list_places: int = 0
    last_warning: str | None = None  # the repair the latest read of the body needed
    last_warning_at: datetime | None = None


async def sync_feeds(session: AsyncSession, specs: Sequence[FeedSpec], now: datetime) -> None:
    """Make the enabled feeds equal the config. Removed feeds are disabled; stories stay."""
    rows = {row.url: row for row in (await session.scalars(select(Feed))).all()}
    for spec in specs:
        row = rows.pop(spec.url, None)
        if row is None:
            session.add(
                Feed(
                    url=spec.url,
                    section=spec.section,
                    language=spec.language,
                    poll_interval=spec.poll_interval,
                    role=spec.role,
                    enabled=True,
                    consecutive_errors=0,
                    backlog_done=False,
                    created_at=now,
                    next_poll_at=now,
                )
            )
            continue
        row.section, row.language = spec.section, spec.language
        row.poll_interval, row.enabled, row.role = spec.poll_interval, True, spec.role
    for row in rows.values():
        row.enabled = False


async def enabled_feeds(session: AsyncSession) -> list[Feed]:
    query = select(Feed).where(Feed.enabled.is_(True)).order_by(Feed.id)
    return list((await session.scalars(query)).all())


async def get_feed(session: AsyncSession, feed_id: int) -> Feed | None:
    return await session.get(Feed, feed_id)


async def claim_feed(
    session: AsyncSession,
    feed_id: int,
    instance: str,
    now: datetime,
    lease: timedelta,
    *,
    due_slack: timedelta = timedelta(seconds=0),
) -> bool:
    """Take a feed for one poll, if it is due and no live instance holds it.

    Several `newsbot run` processes schedule every feed; the one whose UPDATE matches polls
    and the others skip, so each poll happens once. A lease that was not released (the
    process died) expires, and another instance takes the feed over.
    """
    result = await session.execute(
        update(Feed)
        .where(
            Feed.id == feed_id,
            Feed.enabled.is_(True),
            or_(Feed.lease_until.is_(None), Feed.lease_until < now),
            or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now + due_slack),
        )
        .values(lease_until=now + lease, leased_by=instance)
    )
    return result.rowcount == 1


async def record_poll(session: AsyncSession, feed_id: int, record: PollRecord) -> None:
    """Store one poll's outcome: validators and health on success, the error count and the
    start of the run of failures otherwise.

    Called in the same transaction as the stories the poll stored, so the warning shown for a
    feed always describes the stories stored from it.
    """
    values: dict[str, object] = {
        "lease_until": None,
        "leased_by": None,
        "last_fetched_at": record.fetched_at,
        "last_status": record.status,
        "last_error": record.error,
        "next_poll_at": record.next_poll_at,
    }
    if record.succeeded:
        values.update(
            consecutive_errors=0,
            failing_since=None,
            last_success_at=record.fetched_at,
            # A validator longer than its column cannot be sent back whole: none is kept
            # (the next fetch is unconditional) rather than the poll failing on PostgreSQL.
            etag=record.etag if fits(Feed.etag, record.etag) else None,
            last_modified=(
                record.last_modified if fits(Feed.last_modified, record.last_modified) else None
            ),
        )
        if record.title:
            values["title"] = record.title[: max_length(Feed.title)]
        if record.body_read:
            values["last_warning"] = record.warning
            values["last_warning_at"] = record.fetched_at if record.warning else None
    else:
        values["consecutive_errors"] = Feed.consecutive_errors + 1
        # Typed as the column, so PostgreSQL stores UTC whatever its session time zone.
        since = literal(record.fetched_at, type_=Feed.failing_since.type)
        values["failing_since"] = func.coalesce(Feed.failing_since, since)
    await session.execute(update(Feed).where(Feed.id == feed_id).values(**values))


async def mark_backlog_done(session: AsyncSession, feed_id: int) -> None:
    await session.execute(update(Feed).where(Feed.id == feed_id).values(backlog_done=True))


async def feed_health(session: AsyncSession) -> list[FeedHealth]:
    """Every feed with its health and the number of stories first stored from it (for a
    most-read feed, the places of its kept list)."""
    counts = select(Story.feed_id, func.count().label("stored")).group_by(Story.feed_id).subquery()
    places = (
        select(MostReadRank.feed_id, func.count().label("places"))
        .group_by(MostReadRank.feed_id)
        .subquery()
    )
    query = (
        select(Feed, func.coalesce(counts.c.stored, 0), func.coalesce(places.c.places, 0))
        .outerjoin(counts, counts.c.feed_id == Feed.id)
        .outerjoin(places, places.c.feed_id == Feed.id)
        .order_by(Feed.enabled.desc(), Feed.id)
    )
    return [
        FeedHealth(
            id=feed.id,
            url=feed.url,
            enabled=feed.enabled,
            section=feed.section,
            poll_interval=feed.poll_interval,
            last_fetched_at=feed.last_fetched_at,
            last_status=feed.last_status,
            last_error=feed.last_error,
            consecutive_errors=feed.consecutive_errors,
            next_poll_at=feed.next_poll_at,
            stored_items=stored,
            role=feed.role,
            list_places=listed,
            last_warning=feed.last_warning,
            last_warning_at=feed.last_warning_at,
        )
        for feed, stored, listed in (await session.execute(query)).all()
    ]


@dataclass(frozen=True, slots=True)
class AlertRow:
    """A feed the editors may have to hear about, with what an alert names."""

    id: int
    url: str
    title: str | None
    last_status: str | None
    last_error: str | None
    state: AlertState


async def alert_rows(session: AsyncSession) -> list[AlertRow]:
    """Enabled feeds failing now or whose outage the editors were told about (few: a healthy
    feed has neither)."""
    query = (
        select(Feed)
        .where(
            Feed.enabled.is_(True),
            or_(Feed.failing_since.is_not(None), Feed.alerted_since.is_not(None)),
        )
        .order_by(Feed.id)
    )
    return [
        AlertRow(
            id=feed.id,
            url=feed.url,
            title=feed.title,
            last_status=feed.last_status,
            last_error=feed.last_error,
            state=AlertState(
                failing_since=feed.failing_since,
                alerted_since=feed.alerted_since,
                last_success_at=feed.last_success_at,
            ),
        )
        for feed in (await session.scalars(query)).all()
    ]


async def claim_down_alert(session: AsyncSession, feed_id: int, failing_since: datetime) -> bool:
    """Take the alert that a feed failing since `failing_since` is down: True for the one
    caller whose UPDATE matched (no alert yet, and the same run of failures as was read), so
    of several instances exactly one sends it."""
    result = await session.execute(
        update(Feed)
        .where(
            Feed.id == feed_id,
            Feed.alerted_since.is_(None),
            Feed.failing_since == failing_since,
        )
        .values(alerted_since=failing_since)
    )
    return result.rowcount == 1


async def claim_recovery(session: AsyncSession, feed_id: int, alerted_since: datetime) -> bool:
    """Take the message that the outage told of (since `alerted_since`) is over: True for the
    one caller whose UPDATE matched (still told, and the feed's latest poll succeeded)."""
    result = await session.execute(
        update(Feed)
        .where(
            Feed.id == feed_id,
            Feed.alerted_since == alerted_since,
            Feed.failing_since.is_(None),
        )
        .values(alerted_since=None)
    )
    return result.rowcount == 1


async def release_down_alert(session: AsyncSession, feed_id: int, alerted_since: datetime) -> None:
    """Give back a claimed alert nobody could be told (the next run tries again)."""
    await session.execute(
        update(Feed)
        .where(Feed.id == feed_id, Feed.alerted_since == alerted_since)
        .values(alerted_since=None)
    )


async def release_recovery(session: AsyncSession, feed_id: int, alerted_since: datetime) -> None:
    """Give back a claimed recovery nobody could be told (the next run tries again), unless
    another alert was claimed meanwhile."""
    await session.execute(
        update(Feed)
        .where(Feed.id == feed_id, Feed.alerted_since.is_(None))
        .values(alerted_since=alerted_since)
    )
