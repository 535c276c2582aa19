"""Digest bookkeeping and engagement signals on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from storage import destinations, digests, engagement, stories
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Engagement, ReactionCount, Story, StoryEngagement
from tests.fakes.stories import NOW, draft, store


async def destination(database: Database, chat_id: int) -> int:
    async with database.sessions.begin() as session:
        row = await destinations.ensure_destination(
            session, ChatInfo(chat_id=chat_id, kind="private", title="x", language="ru"), NOW
        )
        return row.id


async def test_a_slot_is_queued_once_per_destination(database: Database) -> None:
    first, second = await destination(database, 1), await destination(database, 2)
    ids = await store(database, draft("a", "Сенат одобрил закон", 120))
    due = NOW - timedelta(minutes=5)

    async def queue(slot: str, story_ids: list[int]) -> digests.Queued:
        async with database.sessions.begin() as session:
            return await digests.queue_slot(
                session, slot, day=slot[:10], due_at=due, story_ids=story_ids, now=NOW
            )

    async with database.sessions.begin() as session:
        await digests.set_digest(session, first, True)
        assert [d.id for d in await digests.subscribers(session)] == [first]
    assert await queue("2026-11-20T08:00", [ids["a"]]) == digests.Queued(1, 0)
    assert await queue("2026-11-20T08:00", []) == digests.Queued(0, 1)  # a second instance
    async with database.sessions.begin() as session:
        await digests.set_digest(session, second, True)
    assert await queue("2026-11-20T08:00", []) == digests.Queued(1, 1)  # opted in since
    assert await queue("2026-11-20T20:00", [ids["a"]]) == digests.Queued(2, 0)
    async with database.sessions() as session:
        rows = await digests.slot_deliveries(session, "2026-11-20T08:00")
        slot = await digests.get_slot(session, "2026-11-20T08:00")
    assert [(r.destination_id, r.status) for r in rows] == [(first, "queued"), (second, "queued")]
    assert slot is not None and slot.story_ids == [ids["a"]]  # the first to queue fixes them
    async with database.sessions.begin() as session:  # an hour after the slot: skipped
        assert await digests.skip_missed(session, NOW + timedelta(minutes=56)) == 4
    async with database.sessions() as session:
        rows = await digests.slot_deliveries(session, "2026-11-20T08:00")
    assert {(r.status, r.last_error) for r in rows} == {
        ("failed", "digest slot missed by more than an hour")
    }


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


async def totals(database: Database) -> dict[int, tuple[float, int, datetime]]:
    async with database.sessions() as session:
        rows = (await session.scalars(select(StoryEngagement))).all()
    return {row.story_id: (row.points, row.signals, row.first_signal_at) for row in rows}


async def test_running_totals_follow_every_signal(database: Database) -> None:
    ids = await store(database, draft("a", "Сенат одобрил закон", 120), draft("b", "Бюджет", 60))
    a, b = ids["a"], ids["b"]
    early = NOW - timedelta(minutes=30)
    async with database.sessions.begin() as session:
        await engagement.record(session, a, "press", early)
        await engagement.record_reads(session, [b, a], NOW)
        session.add(ReactionCount(chat_id=-100, message_id=7, story_id=a, total=40, updated_at=NOW))
    assert await totals(database) == {a: (123.0, 3, early), b: (1.0, 1, NOW)}
    async with database.sessions.begin() as session:  # Telegram reports a newer total
        await session.execute(
            update(ReactionCount).where(ReactionCount.story_id == a).values(total=10)
        )
    assert (await totals(database))[a] == (33.0, 3, early)
    async with database.sessions.begin() as session:
        await session.execute(delete(Engagement).where(Engagement.story_id == b))
        await session.execute(delete(ReactionCount))
    assert await totals(database) == {a: (3.0, 2, early), b: (0.0, 0, NOW)}
    async with database.sessions.begin() as session:
        await session.execute(delete(Story).where(Story.id == a))
    assert list(await totals(database)) == [b]


async def test_popular_counts_only_the_windows_signals(database: Database) -> None:
    # "early" is published in the window but has signals from before it (a date set ahead):
    # only its signals since `since` count, as if summed from the signals themselves.
    ids = await store(
        database,
        draft("early", "Сенат одобрил закон", 60),
        draft("steady", "Мажилис принял бюджет", 60),
        draft("old", "Вчерашняя новость", 60 * 30),
    )
    since = NOW - timedelta(hours=2)
    async with database.sessions.begin() as session:
        await engagement.record(session, ids["early"], "press", since - timedelta(hours=1))
        session.add(
            ReactionCount(
                chat_id=-100,
                message_id=1,
                story_id=ids["early"],
                total=50,
                updated_at=since - timedelta(minutes=1),
            )
        )
        await engagement.record(session, ids["early"], "read", NOW)
        await engagement.record_reads(session, [ids["steady"], ids["steady"], ids["old"]], NOW)
    async with database.sessions() as session:
        top = await engagement.popular(session, since=since, now=NOW, limit=5)
    assert [s.identity for s in top] == ["steady", "early"]  # 2 points beat 1; "old" is out


async def test_popular_with_many_early_stories(database: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(engagement, "EARLY_SLACK", 1)
    ids = await store(database, *(draft(f"s{n}", f"Новость {n}", 60 - n) for n in range(4)))
    since = NOW - timedelta(hours=2)
    async with database.sessions.begin() as session:
        for n in range(4):
            await engagement.record(session, ids[f"s{n}"], "press", since - timedelta(hours=1))
            for _ in range(n + 1):
                await engagement.record(session, ids[f"s{n}"], "read", NOW)
    async with database.sessions() as session:
        top = await engagement.popular(session, since=since, now=NOW, limit=3)
    assert [s.identity for s in top] == ["s3", "s2", "s1"]


async def test_popular_decays_with_age_and_ties_go_to_the_newer_story(database: Database) -> None:
    ids = await store(
        database,
        draft("morning", "Утренняя новость", 13 * 60),
        draft("noon", "Дневная новость", 60),
        draft("twin", "Дневная новость два", 60),
    )
    async with database.sessions.begin() as session:
        for _ in range(3):
            await engagement.record(session, ids["morning"], "read", NOW)
        for _ in range(2):  # 2 points an hour old (1.89) beat 3 points 13 hours old (1.42)
            await engagement.record_reads(session, [ids["noon"], ids["twin"]], NOW)
    async with database.sessions() as session:
        top = await engagement.popular(session, since=NOW - timedelta(days=1), now=NOW, limit=5)
    assert [s.identity for s in top] == ["twin", "noon", "morning"]


async def test_popular_follows_a_version_into_its_group_and_a_story_to_its_new_time(
    database: Database,
) -> None:
    """Engagement recorded before a later version joins its group counts for the group, and
    a story whose publication time the newsroom moves out of the window leaves /popular."""
    ids = await store(
        database,
        draft("vote-ru", "Выборы прошли", 50, language="ru", edition="ru"),
        draft("vote-kk", "Сайлау өтті", 40, language="kk", edition="kk"),
        draft("budget-ru", "Бюджет принят", 30, language="ru", edition="ru"),
    )
    since = NOW - timedelta(hours=2)
    async with database.sessions.begin() as session:
        await engagement.record_reads(session, [ids["vote-ru"]], NOW)
        for _ in range(3):
            await engagement.record(session, ids["vote-kk"], "press", NOW)  # 6 points
        for _ in range(3):
            await engagement.record(session, ids["budget-ru"], "press", NOW)  # 6 points

    async def top() -> list[str]:
        async with database.sessions() as session:
            found = await engagement.popular(
                session, since=since, now=NOW, limit=5, editions=("ru",)
            )
        return [story.identity for story in found]

    assert await top() == ["budget-ru", "vote-ru"]
    async with database.sessions.begin() as session:  # the Kazakh version joins the group
        await session.execute(
            update(Story).where(Story.id == ids["vote-kk"]).values(group_id=ids["vote-ru"])
        )
    assert await top() == ["vote-ru", "budget-ru"]  # 1 + 6 points, shown in Russian
    async with database.sessions.begin() as session:  # budget was yesterday's, after all
        await session.execute(
            update(Story)
            .where(Story.id == ids["budget-ru"])
            .values(published_at=NOW - timedelta(days=1))
        )
    assert await top() == ["vote-ru"]
