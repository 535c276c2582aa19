"""The outbox: each new story queued once per subscribed chat; breaking first; crash-safe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage import alerts, deliveries, destinations, stories
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
        return await deliveries.fan_out_stories(session, NOW)


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
        claimed = await deliveries.claim_due(session, NOW + timedelta(seconds=1), limit=10)
    assert [job.alert_id is not None for job in claimed] == [True, True, False]


async def test_deliveries_interrupted_mid_send_are_requeued_not_lost(database: Database) -> None:
    await _chat(database, 1, "private", ["parliament"])
    await _story(database, 1)
    await _fan_out(database)
    async with database.sessions.begin() as session:
        (job,) = await deliveries.claim_due(session, NOW, limit=10)
    async with database.sessions.begin() as session:
        assert await deliveries.claim_due(session, NOW, limit=10) == []
        assert await deliveries.requeue_interrupted(session, NOW) == 1
    async with database.sessions.begin() as session:
        (again,) = await deliveries.claim_due(session, NOW, limit=10)
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
        first, second, third = await deliveries.claim_due(session, NOW, limit=10)
    sent_at = NOW + timedelta(seconds=1)
    async with database.sessions.begin() as session:
        await deliveries.mark_sent_many(
            session,
            [(job.id, job.chat_id, 500 + job.chat_id, sent_at, "h") for job in (first, second)],
        )
        await deliveries.mark_sent_many(session, [])
    async with database.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.id, Delivery.status, Delivery.message_id, Delivery.sent_at)
            )
        ).all()
        found = await deliveries.story_for_message(session, second.chat_id, 500 + second.chat_id)
    by_id = {row.id: row for row in rows}
    for job in (first, second):
        assert (by_id[job.id].status, by_id[job.id].message_id) == ("sent", 500 + job.chat_id)
        assert by_id[job.id].sent_at.replace(tzinfo=UTC) == sent_at
    assert by_id[third.id].status == "sending"  # still in flight: untouched
    assert found == story_id
