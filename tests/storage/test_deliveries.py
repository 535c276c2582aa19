"""The outbox: each new story queued once per subscribed chat; breaking first; crash-safe."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage import (
    alerts,
    deliveries,
    destinations,
    fan_out,
    outbox,
    sent_messages,
    stories,
)
from storage import (
    delivery_results as outcomes,
)
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Delivery

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Draft:
    identity: str
    link: str | None
    section: str | None = "parliament"
    title: str = "Senate Speaker meets observers"
    summary: str = "Summary."
    image_url: str | None = None
    author: str | None = None
    language: str | None = "en"
    published_at: datetime = NOW
    content_hash: str = "h"
    edition: str | None = None


async def _chat(database: Database, chat_id: int, kind: str, sections: list[str]) -> int:
    async with database.sessions.begin() as session:
        destination = await destinations.ensure_destination(
            session, ChatInfo(chat_id=chat_id, kind=kind, editions=("en",)), NOW
        )
        for section in sections:
            await destinations.subscribe(session, destination.id, section, NOW)
        return destination.id


async def _story(database: Database, n: int, section: str = "parliament", pushable: bool = True):
    async with database.sessions.begin() as session:
        result = await stories.store_stories(
            session,
            [Draft(identity=f"guid:{n}", link=f"https://kazinform.kz/{n}", section=section)],
            feed_id=None,
            pushable=pushable,
            now=NOW,
        )
    return result.new_ids[0]


async def _fan_out(database: Database) -> dict[int, int]:
    async with database.sessions.begin() as session:
        return await fan_out.fan_out_stories(session, NOW)


async def test_new_story_is_queued_once_for_each_subscriber_of_its_section(
    database: Database,
) -> None:
    await _chat(database, 1, "private", ["parliament"])
    await _chat(database, 2, "private", ["economy"])
    await _chat(database, -100, "channel", ["parliament", "economy"])
    story_id = await _story(database, 1)
    assert await _fan_out(database) == {story_id: 2}
    assert await _fan_out(database) == {}


async def test_backlog_is_never_queued(database: Database) -> None:
    await _chat(database, 1, "private", ["parliament"])
    await _story(database, 1, pushable=False)
    assert await _fan_out(database) == {}


async def test_breaking_goes_to_subscribed_readers_and_channels_ahead_of_stories(
    database: Database,
) -> None:
    await _chat(database, 1, "private", ["parliament"])
    await _chat(database, 2, "private", [])  # never subscribed: no breaking news
    await _chat(database, -100, "channel", [])
    await _story(database, 1)
    await _fan_out(database)
    async with database.sessions.begin() as session:
        alert = await alerts.create_draft(
            session, editor_id=7, chat_id=7, text="Earthquake", link=None, now=NOW
        )
        assert await alerts.confirm(session, alert.id, NOW)
        assert not await alerts.confirm(session, alert.id, NOW)
        assert await deliveries.queue_alert(session, alert.id, NOW) == 2
    async with database.sessions.begin() as session:
        claimed = await outbox.claim_due(session, NOW + timedelta(seconds=1), limit=10)
    assert [job.alert_id is not None for job in claimed] == [True, True, False]


async def test_deliveries_interrupted_mid_send_are_requeued_not_lost(database: Database) -> None:
    await _chat(database, 1, "private", ["parliament"])
    await _story(database, 1)
    await _fan_out(database)
    async with database.sessions.begin() as session:
        (job,) = await outbox.claim_due(session, NOW, limit=10)
    async with database.sessions.begin() as session:
        assert await outbox.claim_due(session, NOW, limit=10) == []
        assert await outcomes.requeue_interrupted(session, NOW) == 1
    async with database.sessions.begin() as session:
        (again,) = await outbox.claim_due(session, NOW, limit=10)
    assert again.id == job.id and again.attempts == 2


async def test_inactive_chats_get_nothing(database: Database) -> None:
    await _chat(database, 1, "private", ["parliament"])
    async with database.sessions.begin() as session:
        await destinations.deactivate(session, 1, "blocked", NOW)
    await _story(database, 1)
    assert list((await _fan_out(database)).values()) == [0]


async def test_sent_messages_are_recorded_in_one_statement_per_batch(database: Database) -> None:
    for chat_id in (1, 2, 3):
        await _chat(database, chat_id, "private", ["parliament"])
    story_id = await _story(database, 1)
    await _fan_out(database)
    async with database.sessions.begin() as session:
        first, second, third = await outbox.claim_due(session, NOW, limit=10)
    sent_at = NOW + timedelta(seconds=1)
    async with database.sessions.begin() as session:
        await outcomes.mark_sent_many(
            session,
            [(job.id, job.chat_id, 500 + job.chat_id, sent_at, "h") for job in (first, second)],
        )
        await outcomes.mark_sent_many(session, [])
    async with database.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.id, Delivery.status, Delivery.message_id, Delivery.sent_at)
            )
        ).all()
        found = await sent_messages.story_for_message(session, second.chat_id, 500 + second.chat_id)
    by_id = {row.id: row for row in rows}
    for job in (first, second):
        assert (by_id[job.id].status, by_id[job.id].message_id) == ("sent", 500 + job.chat_id)
        assert by_id[job.id].sent_at.replace(tzinfo=UTC) == sent_at
    assert by_id[third.id].status == "sending"  # still in flight: untouched
    assert found == story_id


async def _fan_out_at(database: Database, at: datetime) -> None:
    async with database.sessions.begin() as session:
        await fan_out.fan_out_stories(session, at)


async def test_turns_go_to_the_chat_that_waited_longest_breaking_first(database: Database) -> None:
    """Chat A has six stories waiting, chat B one that came later: B's turn comes right
    after A's, not after A's backlog; a chat with breaking news goes before both."""
    a = await _chat(database, 1, "private", ["parliament"])
    for n in range(5):
        await _story(database, n)
        await _fan_out_at(database, NOW + timedelta(seconds=n))
    b = await _chat(database, 2, "private", ["parliament"])
    await _story(database, 9)
    await _fan_out_at(database, NOW + timedelta(seconds=9))
    c = await _chat(database, -100, "channel", ["economy"])
    async with database.sessions.begin() as session:
        alert = await alerts.create_draft(
            session, editor_id=7, chat_id=7, text="Earthquake", link=None, now=NOW
        )
        await alerts.confirm(session, alert.id, NOW)
        at = NOW + timedelta(seconds=10)
        assert await deliveries.queue_alert(session, alert.id, at, sections=["economy"]) == 1
    later = NOW + timedelta(seconds=20)
    async with database.sessions.begin() as session:
        rows = await outbox.due_turns(session, later, chats=10, per_chat=50)
    order = list(dict.fromkeys(row.destination_id for row in rows))
    assert order == [c, a, b]
    assert sum(row.destination_id == a for row in rows) == 6 and all(
        row.section == "parliament" for row in rows if row.story_id
    )
    async with database.sessions.begin() as session:
        rows = await outbox.due_turns(session, later, chats=2, per_chat=50)
    assert {row.destination_id for row in rows} == {c, a}


async def test_claimed_turns_are_not_taken_again_until_requeued(database: Database) -> None:
    await _chat(database, 1, "private", ["parliament"])
    for n in range(3):
        await _story(database, n)
    await _fan_out(database)
    async with database.sessions.begin() as session:
        lead, *rest = await outbox.due_turns(session, NOW, chats=10, per_chat=50)
        bundle = replace(lead, members=tuple((row.id, row.story_id) for row in rest))
        (claimed,) = await outbox.claim(session, [bundle], NOW)
    assert claimed.attempts == 1 and len(claimed.members) == 2
    async with database.sessions.begin() as session:
        assert await outbox.due_turns(session, NOW, chats=10, per_chat=50) == []
        statuses = (await session.scalars(select(Delivery.status))).all()
    assert statuses == ["sending"] * 3


async def test_two_senders_claiming_at_once_never_take_the_same_row(database: Database) -> None:
    """PostgreSQL: while one instance's claim is open, another's skips its rows (SKIP
    LOCKED) and takes the next chats; no delivery is claimed twice. (SQLite has one
    writer at a time, so the question does not arise there.)"""
    if database.is_sqlite:
        return
    for chat_id in range(1, 7):
        await _chat(database, chat_id, "private", ["parliament"])
    for n in range(3):
        await _story(database, n)
    await _fan_out(database)
    async with database.sessions.begin() as first, database.sessions.begin() as second:
        mine = await outbox.claim(
            first, await outbox.due_turns(first, NOW, chats=3, per_chat=50), NOW
        )
        theirs = await outbox.claim(
            second, await outbox.due_turns(second, NOW, chats=10, per_chat=50), NOW
        )
    assert len(mine) == len(theirs) == 9  # three chats each, three rows a chat
    assert not {job.id for job in mine} & {job.id for job in theirs}
    assert not {job.destination_id for job in mine} & {job.destination_id for job in theirs}


async def test_one_chat_s_long_backlog_never_crowds_the_next_chats_out(
    database: Database,
) -> None:
    """A chat with more due rows than a whole batch holds still leaves room for the next
    chat in line: each chat's turn reads at most `per_chat` of its rows."""
    a = await _chat(database, 1, "private", ["parliament"])
    for n in range(8):
        await _story(database, n)
    await _fan_out_at(database, NOW)
    b = await _chat(database, 2, "private", ["parliament"])
    await _story(database, 99)
    await _fan_out_at(database, NOW + timedelta(seconds=5))
    async with database.sessions.begin() as session:
        rows = await outbox.due_turns(session, NOW + timedelta(seconds=10), 2, per_chat=3)
    assert [row.destination_id for row in rows].count(a) == 3
    assert [row.destination_id for row in rows].count(b) == 1
