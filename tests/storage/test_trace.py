"""A story's trace read from the database (storage/trace.py), on SQLite and PostgreSQL: the
outbox rows there are, and the subscribers the outbox never wrote a row for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.trace import Outcome, StoryFacts, StoryTrace, listing_quota, trace
from storage import delivery_results, destinations, fan_out, outbox, stories, trace_rowless
from storage import trace as trace_queries
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import ChannelRule, Delivery, Story
from tests.storage.test_deliveries import Draft

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)


async def subscribed_chat(database: Database, chat_id: int, kind: str = "private") -> int:
    """A chat subscribed to parliament, reading the en edition (its destination id)."""
    async with database.sessions.begin() as session:
        destination = await destinations.ensure_destination(
            session,
            ChatInfo(chat_id=chat_id, kind=kind, title=f"chat {chat_id}", editions=("en",)),
            NOW,
        )
        await destinations.subscribe(session, destination.id, "parliament", NOW)
        return destination.id


async def _stories(database: Database, count: int) -> list[int]:
    async with database.sessions.begin() as session:
        result = await stories.store_stories(
            session,
            [
                Draft(identity=f"guid:{n}", link=f"https://kazinform.kz/{n}", title=f"Story {n}")
                for n in range(1, count + 1)
            ],
            feed_id=None,
            pushable=True,
            now=NOW,
        )
    return result.new_ids


async def _row(database: Database, story_id: int, destination_id: int) -> int:
    async with database.sessions() as session:
        found = await session.scalar(
            select(Delivery.id).where(
                Delivery.story_id == story_id, Delivery.destination_id == destination_id
            )
        )
    assert found is not None
    return found


async def _trace(session: AsyncSession, story: StoryFacts, limit: int = 100) -> StoryTrace:
    chats = trace_queries.StoryChats(session, story, NOW)
    counts = await chats.counts()
    samples = await chats.samples(listing_quota(story, counts, limit))
    return trace(story, counts, samples, limit)


@pytest.fixture(params=["few", "many"])
def rowless_read(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways chats without a row are read: classified one by one (a story fanned out),
    and counted as sets with their exceptions read (before the fan-out: 100k chats)."""
    if request.param == "many":
        monkeypatch.setattr(trace_rowless, "FEW", 0)
    return str(request.param)


async def test_every_outcome_of_a_story_is_read(database: Database, rowless_read: str) -> None:
    chats = {
        name: await subscribed_chat(database, chat_id)
        for name, chat_id in [
            ("sent", 101),
            ("bundled", 102),
            ("held", 103),
            ("failed", 104),
            ("blocked", 105),
            ("waiting", 106),
            ("gone_before", 107),
        ]
    }
    filtered = await subscribed_chat(database, -1001, "channel")
    async with database.sessions.begin() as session:
        session.add(
            ChannelRule(
                destination_id=filtered,
                include=["Almaty"],
                exclude=[],
                include_regex=[],
                exclude_regex=[],
                filtered=True,
                updated_at=NOW,
            )
        )
        await destinations.deactivate(session, 107, "forbidden: bot was blocked by the user", NOW)
    story, version, other = await _stories(database, 3)
    async with database.sessions.begin() as session:
        # `version` is another edition's version of `story`: a chat gets one of them.
        await session.execute(update(Story).where(Story.id == version).values(group_id=story))
        await fan_out.fan_out_stories(session, NOW)
    sent = await _row(database, story, chats["sent"])
    bundled = await _row(database, story, chats["bundled"])
    bundled_with = await _row(database, other, chats["bundled"])
    async with database.sessions.begin() as session:
        await delivery_results.mark_sent_many(
            session,
            [
                (sent, 101, 10, NOW, "h"),
                (bundled, 102, 20, NOW, "h"),
                (bundled_with, 102, 20, NOW, "h"),
            ],
        )
        await outbox.hold_for_roundup(
            session, [await _row(database, story, chats["held"])], NOW + timedelta(hours=1)
        )
        await delivery_results.mark_failed(
            session, await _row(database, story, chats["failed"]), "bad request: too long"
        )
        await delivery_results.mark_failed(
            session, await _row(database, story, chats["blocked"]), "forbidden: blocked"
        )
        await delivery_results.chat_gone(session, 105, "forbidden: blocked", NOW)

    async with database.sessions() as session:
        facts = await trace_queries.story_facts(session, story)
        assert facts is not None and facts.headline == "Story 1"
        found = await _trace(session, facts)
        assert await trace_queries.story_facts(session, 10**9) is None
        version_facts = await trace_queries.story_facts(session, version)
        assert version_facts is not None
        versions = await _trace(session, version_facts)
        recent = await trace_queries.recent_stories(session, 2)
        # Counted in full, listed by quota: one chat of each facts group here.
        reader = trace_queries.StoryChats(session, version_facts, NOW)
        counts = await reader.counts()
        capped = await reader.samples({facts: 1 for facts in counts})

    outcomes = {chat.chat_id: (chat.outcome, chat.reason) for chat in found.chats}
    assert outcomes == {
        101: (Outcome.SENT, None),
        102: (Outcome.BUNDLED, "one message with 1 more"),
        103: (Outcome.HELD, "the chat's pace or quiet hours"),
        104: (Outcome.FAILED, "bad request: too long"),
        105: (Outcome.BLOCKED, "forbidden: blocked"),
        106: (Outcome.WAITING, None),
        107: (Outcome.BLOCKED, "forbidden: bot was blocked by the user"),
        -1001: (Outcome.FILTERED_OUT, "the chat's desk filters leave it out"),
    }
    assert found.counts == {
        Outcome.SENT: 1,
        Outcome.BUNDLED: 1,
        Outcome.WAITING: 1,
        Outcome.HELD: 1,
        Outcome.FILTERED_OUT: 1,
        Outcome.FAILED: 1,
        Outcome.BLOCKED: 2,
    }
    # Each chat that got `story` has no row for its other version: skipped, naming it.
    skipped = {chat.chat_id for chat in versions.chats if chat.outcome is Outcome.SKIPPED}
    assert skipped == {101, 102, 103, 104, 105, 106}
    assert all(
        str(story) in (chat.reason or "") for chat in versions.chats if chat.chat_id in skipped
    )
    assert [item.id for item in recent] == [other, version]
    # The six holders of `story` (whatever their state), 107 inactive, the filtered channel.
    assert sorted(counts.values()) == [1, 1, 6]
    assert len(capped) == 3 and {chat.facts for chat in capped} == set(counts)


async def test_a_chat_holding_two_other_versions_is_counted_and_listed_once(
    database: Database, rowless_read: str
) -> None:
    """Stories grouped after two of them went out: a chat may hold rows for both versions.
    It is one chat, skipped for the first version it holds, in both ways of reading."""
    double = await subscribed_chat(database, 201)
    await subscribed_chat(database, 202)
    await subscribed_chat(database, 203)
    story, first, second = await _stories(database, 3)
    async with database.sessions.begin() as session:
        for version in (first, second):
            session.add(
                Delivery(
                    destination_id=double,
                    story_id=version,
                    group_id=version,
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )
        await session.flush()
        await session.execute(
            update(Story).where(Story.id.in_([first, second])).values(group_id=story)
        )
    async with database.sessions() as session:
        facts = await trace_queries.story_facts(session, story)
        assert facts is not None
        found = await _trace(session, facts)
    assert found.counts == {Outcome.WAITING: 2, Outcome.SKIPPED: 1}
    [skipped] = [chat for chat in found.chats if chat.outcome is Outcome.SKIPPED]
    assert skipped.chat_id == 201 and f"story {first}" in (skipped.reason or "")
    assert len(found.chats) == 3
