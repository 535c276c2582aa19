"""Several instances share the feeds: each due poll is claimed by exactly one of them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage import feeds
from storage.db import Database

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def _feed(database: Database) -> int:
    async with database.sessions.begin() as session:
        await feeds.sync_feeds(session, [feeds.FeedSpec("https://kaz.kz/rss", None, None, 60)], NOW)
    async with database.sessions() as session:
        return (await feeds.enabled_feeds(session))[0].id


async def _claim(database: Database, feed_id: int, who: str, at: datetime) -> bool:
    async with database.sessions.begin() as session:
        return await feeds.claim_feed(session, feed_id, who, at, LEASE)


async def test_two_instances_claiming_at_once_poll_once(database: Database) -> None:
    feed_id = await _feed(database)
    results = await asyncio.gather(
        *(_claim(database, feed_id, f"instance-{n}", NOW) for n in range(4))
    )
    assert sorted(results) == [False, False, False, True]


async def test_a_polled_feed_is_not_claimed_again_before_it_is_due(database: Database) -> None:
    feed_id = await _feed(database)
    assert await _claim(database, feed_id, "a", NOW)
    record = feeds.PollRecord(
        fetched_at=NOW, status="ok", error=None, next_poll_at=NOW + timedelta(seconds=60)
    )
    async with database.sessions.begin() as session:
        await feeds.record_poll(session, feed_id, record)
    assert not await _claim(database, feed_id, "b", NOW + timedelta(seconds=30))
    assert await _claim(database, feed_id, "b", NOW + timedelta(seconds=61))


async def test_a_dead_instances_lease_expires_and_another_takes_over(database: Database) -> None:
    feed_id = await _feed(database)
    assert await _claim(database, feed_id, "dies", NOW)
    assert not await _claim(database, feed_id, "survivor", NOW + timedelta(seconds=30))
    assert await _claim(database, feed_id, "survivor", NOW + timedelta(seconds=61))
