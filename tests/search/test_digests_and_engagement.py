"""Digest bookkeeping and engagement signals on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from storage import destinations, digests, engagement, stories
from storage.db import Database
from storage.destinations import ChatInfo
from tests.search.test_search import NOW, draft, store


async def destination(database: Database, chat_id: int) -> int:
    async with database.sessions.begin() as session:
        row = await destinations.ensure_destination(
            session, ChatInfo(chat_id=chat_id, kind="private", title="x", language="ru"), NOW
        )
        return row.id


async def test_a_slot_is_claimed_once_per_destination(database: Database) -> None:
    first, second = await destination(database, 1), await destination(database, 2)
    async with database.sessions.begin() as session:
        await digests.set_digest(session, first, True)
        assert [d.id for d in await digests.subscribers(session)] == [first]
        assert await digests.claim(session, first, "2026-11-20T08:00", NOW)
        assert not await digests.claim(session, first, "2026-11-20T08:00", NOW)
        assert await digests.claim(session, second, "2026-11-20T08:00", NOW)
        assert await digests.claim(session, first, "2026-11-20T20:00", NOW)
        await digests.finish(
            session, first, "2026-11-20T08:00", status="sent", message_id=7, now=NOW
        )
    async with database.sessions() as session:
        rows = await digests.sends(session, "2026-11-20T08:00")
    assert [(r.destination_id, r.status, r.message_id) for r in rows] == [
        (first, "sent", 7),
        (second, "sending", None),
    ]


async def test_inline_picks_count_and_unknown_ids_are_ignored(database: Database) -> None:
    ids = await store(
        database,
        draft("a", "Сенат одобрил закон", 120),
        draft("b", "Мажилис принял бюджет", 60),
    )
    async with database.sessions.begin() as session:
        assert await engagement.record_known(session, ids["a"], "inline", NOW)
        assert not await engagement.record_known(session, 987654, "inline", NOW)
        await engagement.record_reads(session, [ids["b"]], NOW)
    async with database.sessions() as session:
        top = await engagement.popular(session, since=NOW - timedelta(days=1), now=NOW, limit=5)
    # An inline pick (2 points) outweighs a read (1 point) even on an older story.
    assert [s.identity for s in top] == ["a", "b"]
    async with database.sessions() as session:
        assert await stories.count_stories(session) == 2
