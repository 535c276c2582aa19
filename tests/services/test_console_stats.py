"""The console's stats (bot/services/console_stats.py) on SQLite and PostgreSQL: sent and
failed deliveries per UTC day by the edition of their story (breaking news apart), a value
for every day of the window, the backlog now, and the top stories with reach and reactions."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from bot.services.console_stats import SERIES_TTL, ConsoleStats
from storage import alerts, destinations, engagement, stories
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Delivery, ReactionCount
from storage.states import DeliveryStatus
from tests.storage.test_deliveries import Draft

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
YESTERDAY = NOW - timedelta(days=1)


async def test_series_backlog_and_top_stories(database: Database) -> None:
    async with database.sessions.begin() as session:
        chats = [
            (
                await destinations.ensure_destination(
                    session, ChatInfo(chat_id=n, kind="private", editions=("en",)), NOW
                )
            ).id
            for n in range(1, 5)
        ]
        stored = await stories.store_stories(
            session,
            [
                Draft(identity="guid:en", link="https://n.example/en", edition="en"),
                Draft(identity="guid:ru", link="https://n.example/ru", edition="ru", title="RU"),
                Draft(identity="guid:old", link="https://n.example/old", edition="en"),
            ],
            feed_id=None,
            pushable=True,
            now=NOW - timedelta(hours=1),
        )
        english, russian, old = stored.new_ids
        alert = await alerts.create_sent(
            session,
            text="Quake",
            link=None,
            sections=None,
            idempotency_key=None,
            source="api",
            now=NOW,
        )

        def row(chat: int, status: DeliveryStatus, at: datetime, **ids: int) -> Delivery:
            return Delivery(
                destination_id=chat,
                status=status,
                next_attempt_at=at,
                created_at=at,
                sent_at=at if status == DeliveryStatus.SENT else None,
                **ids,
            )

        session.add_all(
            [
                *(row(chat, DeliveryStatus.SENT, NOW, story_id=english) for chat in chats[:3]),
                row(chats[3], DeliveryStatus.FAILED, NOW, story_id=english),
                row(chats[0], DeliveryStatus.SENT, YESTERDAY, story_id=russian),
                row(chats[1], DeliveryStatus.QUEUED, NOW - timedelta(minutes=5), story_id=russian),
                row(chats[0], DeliveryStatus.SENT, NOW, alert_id=alert.id),
                # Before the window: not counted.
                row(chats[0], DeliveryStatus.SENT, NOW - timedelta(days=9), story_id=old),
            ]
        )
        await session.flush()
        session.add(
            ReactionCount(chat_id=-100, message_id=7, story_id=english, total=5, updated_at=NOW)
        )
        await engagement.record(session, english, "press", NOW)
        await engagement.record(session, russian, "read", NOW)

    found = await ConsoleStats(database, clock=lambda: NOW).stats(7)

    assert found.days == [(NOW - timedelta(days=6 - n)).date().isoformat() for n in range(7)]
    series = {line.edition: line for line in found.series}
    assert list(series) == ["en", "ru", None]
    assert series["en"].sent == [0, 0, 0, 0, 0, 0, 3] and series["en"].failed == [0] * 6 + [1]
    assert series["ru"].sent == [0, 0, 0, 0, 0, 1, 0] and series["ru"].failed == [0] * 7
    assert series[None].sent == [0] * 6 + [1]
    assert found.backlog.depth == 1
    assert found.backlog.oldest_queued_at is not None
    top = {story.id: story for story in found.top}
    assert top[english].reach == 3 and top[english].reactions == 5
    assert top[russian].reach == 1 and top[russian].reactions == 0
    assert found.top[0].id == english
    assert old not in top


async def test_one_day_and_an_empty_outbox(database: Database) -> None:
    found = await ConsoleStats(database, clock=lambda: NOW).stats(1)
    assert found.days == ["2026-11-19"]
    assert found.series == [] and found.top == []
    assert found.backlog.depth == 0 and found.backlog.oldest_queued_at is None


async def test_a_windows_counts_are_reused_for_a_minute_the_backlog_is_not(
    database: Database,
) -> None:
    moment = [0.0]
    service = ConsoleStats(database, clock=lambda: NOW, monotonic=lambda: moment[0])
    assert (await service.stats(7)).series == []
    async with database.sessions.begin() as session:
        chat = await destinations.ensure_destination(
            session, ChatInfo(chat_id=1, kind="private", editions=("en",)), NOW
        )
        stored = await stories.store_stories(
            session,
            [Draft(identity="guid:1", link="https://n.example/1", edition="en")],
            feed_id=None,
            pushable=True,
            now=NOW,
        )
        alert = await alerts.create_sent(
            session,
            text="Quake",
            link=None,
            sections=None,
            idempotency_key=None,
            source="api",
            now=NOW,
        )
        session.add_all(
            [
                Delivery(
                    destination_id=chat.id,
                    story_id=stored.new_ids[0],
                    status=DeliveryStatus.SENT,
                    next_attempt_at=NOW,
                    created_at=NOW,
                ),
                Delivery(
                    destination_id=chat.id,
                    alert_id=alert.id,
                    status=DeliveryStatus.QUEUED,
                    next_attempt_at=NOW,
                    created_at=NOW,
                ),
            ]
        )
    moment[0] = SERIES_TTL - 1
    soon = await service.stats(7)
    assert soon.series == [] and soon.backlog.depth == 1
    # A minute on, the call still answers at once with the last count, and has the window
    # counted again in the background for the calls after it.
    moment[0] = SERIES_TTL
    stale = await service.stats(7)
    assert stale.series == [] and stale.backlog.depth == 1
    for _ in range(200):
        later = await service.stats(7)
        if later.series:
            break
        await asyncio.sleep(0.01)
    assert [(line.edition, line.sent[-1]) for line in later.series] == [("en", 1)]


async def test_switching_between_windows_keeps_each_counted(database: Database) -> None:
    """Editors on the 7, 30 and 90 day tabs share each window's count: switching between
    them counts nothing again within the minute."""
    service = ConsoleStats(database, clock=lambda: NOW, monotonic=lambda: 0.0)
    counted: list[int] = []
    count = service._count

    async def counting(days: int, first: date) -> object:
        counted.append(days)
        return await count(days, first)

    service._count = counting  # type: ignore[method-assign]
    for days in (7, 30, 7, 90, 30, 7):
        assert len((await service.stats(days)).days) == days
    assert counted == [7, 30, 90]
