"""The feed's failure run as polls record it, and the editors' alert about it claimed once:
of several instances checking at the same moment, exactly one sends each message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from storage import feeds
from storage.db import Database

NOW = datetime(2026, 12, 6, 9, 0, 0, 123456, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


async def _feed(database: Database) -> int:
    async with database.sessions.begin() as session:
        await feeds.sync_feeds(session, [feeds.FeedSpec("https://kaz.kz/rss", None, None, 60)], NOW)
    async with database.sessions() as session:
        return (await feeds.enabled_feeds(session))[0].id


async def _poll(database: Database, feed_id: int, at: datetime, *, ok: bool) -> None:
    record = feeds.PollRecord(
        fetched_at=at,
        status="ok" if ok else "http_5xx",
        error=None if ok else "HTTP 503",
        next_poll_at=at + MINUTE,
        succeeded=ok,
    )
    async with database.sessions.begin() as session:
        await feeds.record_poll(session, feed_id, record)


async def _row(database: Database) -> feeds.AlertRow | None:
    async with database.sessions() as session:
        rows = await feeds.alert_rows(session)
    return rows[0] if rows else None


async def _claim_down(database: Database, feed_id: int, since: datetime) -> bool:
    async with database.sessions.begin() as session:
        return await feeds.claim_down_alert(session, feed_id, since)


async def _claim_recovery(database: Database, feed_id: int, since: datetime) -> bool:
    async with database.sessions.begin() as session:
        return await feeds.claim_recovery(session, feed_id, since)


async def test_a_run_of_failures_starts_at_its_first_and_ends_at_a_success(
    database: Database,
) -> None:
    feed_id = await _feed(database)
    assert await _row(database) is None  # healthy: nothing to look at
    await _poll(database, feed_id, NOW, ok=False)
    await _poll(database, feed_id, NOW + MINUTE, ok=False)
    row = await _row(database)
    assert row is not None and row.state.failing_since == NOW
    assert (row.last_status, row.last_error) == ("http_5xx", "HTTP 503")
    await _poll(database, feed_id, NOW + 2 * MINUTE, ok=True)
    assert await _row(database) is None


async def test_instances_claiming_the_alert_at_once_send_it_once(database: Database) -> None:
    feed_id = await _feed(database)
    await _poll(database, feed_id, NOW, ok=False)
    claims = await asyncio.gather(*(_claim_down(database, feed_id, NOW) for _ in range(4)))
    assert sorted(claims) == [False, False, False, True]
    row = await _row(database)
    assert row is not None and row.state.alerted_since == NOW
    assert not await _claim_down(database, feed_id, NOW)  # a restart: still told

    await _poll(database, feed_id, NOW + 40 * MINUTE, ok=True)
    claims = await asyncio.gather(*(_claim_recovery(database, feed_id, NOW) for _ in range(4)))
    assert sorted(claims) == [False, False, False, True]
    assert await _row(database) is None


async def test_no_claim_for_a_run_that_is_not_the_one_read(database: Database) -> None:
    """Read failing, then it answered (and failed anew) before the claim: the claim misses."""
    feed_id = await _feed(database)
    await _poll(database, feed_id, NOW, ok=False)
    await _poll(database, feed_id, NOW + MINUTE, ok=True)
    assert not await _claim_down(database, feed_id, NOW)
    await _poll(database, feed_id, NOW + 2 * MINUTE, ok=False)
    assert not await _claim_down(database, feed_id, NOW)
    assert await _claim_down(database, feed_id, NOW + 2 * MINUTE)


async def test_no_recovery_while_the_feed_still_fails(database: Database) -> None:
    feed_id = await _feed(database)
    await _poll(database, feed_id, NOW, ok=False)
    assert await _claim_down(database, feed_id, NOW)
    assert not await _claim_recovery(database, feed_id, NOW)


async def test_a_claim_nobody_got_is_given_back(database: Database) -> None:
    feed_id = await _feed(database)
    await _poll(database, feed_id, NOW, ok=False)
    assert await _claim_down(database, feed_id, NOW)
    async with database.sessions.begin() as session:
        await feeds.release_down_alert(session, feed_id, NOW)
    assert await _claim_down(database, feed_id, NOW)

    await _poll(database, feed_id, NOW + MINUTE, ok=True)
    assert await _claim_recovery(database, feed_id, NOW)
    async with database.sessions.begin() as session:
        await feeds.release_recovery(session, feed_id, NOW)
    row = await _row(database)
    assert row is not None and row.state.alerted_since == NOW
    assert await _claim_recovery(database, feed_id, NOW)


async def test_a_failure_run_starts_in_utc_whatever_the_servers_time_zone(
    database: Database,
) -> None:
    """PostgreSQL converts a zone-aware value into a plain timestamp by the session's time
    zone: the start of a failure run is stored as UTC even on a server set to Almaty."""
    feed_id = await _feed(database)
    record = feeds.PollRecord(
        fetched_at=NOW,
        status="http_5xx",
        error="HTTP 503",
        next_poll_at=NOW + MINUTE,
        succeeded=False,
    )
    async with database.sessions.begin() as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("SET LOCAL TIME ZONE 'Asia/Almaty'"))
        await feeds.record_poll(session, feed_id, record)
        rows = await feeds.alert_rows(session)
    assert [row.state.failing_since for row in rows] == [NOW]
