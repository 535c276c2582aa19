"""Feeds' health as the console reads it (storage/feed_status.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from storage import feed_status
from storage.db import Database
from storage.models import Feed
from tests.storage.test_trace import NOW


async def test_each_feed_with_its_last_success_error_and_next_check(database: Database) -> None:
    async with database.sessions.begin() as session:
        session.add(
            Feed(
                url="https://news.example/rss",
                section="parliament",
                poll_interval=300,
                created_at=NOW,
                last_success_at=NOW - timedelta(hours=1),
                last_error="timeout",
                last_status="timeout",
                consecutive_errors=2,
                next_poll_at=NOW + timedelta(minutes=5),
            )
        )
        session.add(
            Feed(url="https://news.example/off", poll_interval=300, enabled=False, created_at=NOW)
        )
    async with database.sessions() as session:
        feeds = await feed_status.feed_statuses(session)
    assert [(feed.url, feed.enabled) for feed in feeds] == [
        ("https://news.example/rss", True),
        ("https://news.example/off", False),
    ]
    first = feeds[0]
    assert (first.last_error, first.consecutive_errors, first.last_status) == (
        "timeout",
        2,
        "timeout",
    )
    assert first.last_success_at == NOW - timedelta(hours=1)
    assert first.next_poll_at == NOW + timedelta(minutes=5)
    assert feeds[1].last_success_at is None
