"""Who breaking news reaches (storage/breaking_reach.py), on SQLite and PostgreSQL: the chats
counted before the send are the chats the fan-out queues (storage/deliveries.queue_alert),
grouped by language and the editions they read; an alert's rows by status the same way."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.domain.breaking import version_for, version_table
from bot.domain.editions import reading_order
from storage import alerts, deliveries, delivery_results, destinations, editions
from storage.breaking_reach import ReaderGroup, alert_groups, audience_groups
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Delivery, Destination

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
EDITIONS = ["kk", "ru", "en"]


async def chat(
    database: Database,
    chat_id: int,
    kind: str,
    editions: tuple[str, ...],
    *,
    language: str | None = None,
    sections: tuple[str, ...] = (),
    breaking: bool = True,
    active: bool = True,
) -> None:
    async with database.sessions.begin() as session:
        info = ChatInfo(chat_id=chat_id, kind=kind, language=language, editions=editions)
        destination = await destinations.ensure_destination(session, info, NOW)
        for section in sections:
            await destinations.subscribe(session, destination.id, section, NOW)
        if not breaking:
            await destinations.set_breaking(session, destination.id, False)
        if not active:
            await destinations.deactivate(session, chat_id, "blocked", NOW)


async def population(database: Database) -> None:
    await chat(database, 1, "private", ("ru",), language="ru", sections=("parliament",))
    await chat(database, 2, "private", ("en", "kk"), language="en", sections=("economy",))
    await chat(database, 3, "private", ("en",), language="en", sections=("parliament",))
    await chat(database, 4, "private", ("kk",), language="kk")  # subscribed to nothing
    await chat(database, 5, "channel", ("kk",), sections=("parliament",))
    await chat(database, 6, "channel", ("kk",))  # a channel takes breaking news unsubscribed
    await chat(database, 7, "group", ("ru", "en"), sections=("parliament",), breaking=False)
    await chat(database, 8, "channel", ("ru",), sections=("parliament",), active=False)


def total(groups: list[ReaderGroup]) -> int:
    return sum(group.chats for group in groups)


async def queued(database: Database, sections: list[str] | None) -> tuple[int, int]:
    async with database.sessions.begin() as session:
        alert = await alerts.create_sent(
            session,
            text="News",
            link=None,
            sections=sections,
            idempotency_key=None,
            source="api",
            now=NOW,
        )
        return alert.id, await deliveries.queue_alert(session, alert.id, NOW, sections)


async def test_the_audience_is_the_chats_the_fan_out_queues(database: Database) -> None:
    await population(database)
    for sections in (None, ["economy"], ["parliament", "economy"]):
        async with database.sessions() as session:
            counted = total(await audience_groups(session, EDITIONS, sections))
        _, count = await queued(database, sections)
        assert counted == count, sections
    async with database.sessions() as session:
        groups = await audience_groups(session, EDITIONS)
    assert sorted((g.language or "", sorted(g.editions), g.chats) for g in groups) == [
        ("", ["kk"], 2),
        ("en", ["en"], 1),
        ("en", ["en", "kk"], 1),
        ("ru", ["ru"], 1),
    ]
    assert all(group.status is None for group in groups)


async def test_an_alerts_rows_are_counted_by_status_language_and_editions(
    database: Database,
) -> None:
    await population(database)
    alert_id, count = await queued(database, None)
    async with database.sessions.begin() as session:
        russian = await session.scalar(
            select(Delivery.id)
            .join(Destination, Destination.id == Delivery.destination_id)
            .where(Delivery.alert_id == alert_id, Destination.chat_id == 1)
        )
        assert russian is not None
        await delivery_results.mark_failed(
            session, russian, "Forbidden: bot was blocked by the user"
        )
    async with database.sessions() as session:
        groups = await alert_groups(session, alert_id, EDITIONS)
        nothing = await alert_groups(session, alert_id + 1, EDITIONS)
    assert total(groups) == count == 5
    assert sorted((g.status, g.language or "", sorted(g.editions), g.chats) for g in groups) == [
        ("failed", "ru", ["ru"], 1),
        ("queued", "", ["kk"], 2),
        ("queued", "en", ["en"], 1),
        ("queued", "en", ["en", "kk"], 1),
    ]
    assert nothing == []


async def test_each_row_records_the_version_its_chat_gets(database: Database) -> None:
    """The fan-out looks each chat's version up in the domain's table while it queues: the
    same as version_for on the chat's own editions and language, for every kind of chat
    (one edition, two, the language among them or not, none of the versions read)."""
    await population(database)
    await chat(database, 9, "private", ("en", "ru"), language="ru", sections=("economy",))
    await chat(database, 10, "private", ("en",), language="kk", sections=("economy",))
    await chat(database, 11, "private", ("kk", "ru", "en"), sections=("economy",))
    texts = {"ru": "Новость", "en": "News"}
    async with database.sessions.begin() as session:
        alert = await alerts.create_sent(
            session,
            text="Новость",
            texts=texts,
            link=None,
            sections=None,
            idempotency_key=None,
            source="api",
            now=NOW,
        )
        table = version_table(texts, EDITIONS, "kk")
        count = await deliveries.queue_alert(
            session, alert.id, NOW, versions=table, newsroom=EDITIONS
        )
    async with database.sessions() as session:
        rows = (
            await session.execute(
                select(Destination.id, Destination.chat_id, Destination.language, Delivery.version)
                .join(Destination, Destination.id == Delivery.destination_id)
                .where(Delivery.alert_id == alert.id)
            )
        ).all()
        reads = await editions.editions_of_many(session, [row.id for row in rows])
        by_version = await deliveries.alert_versions(session, alert.id)
    assert len(rows) == count == 8
    for row in rows:
        order = reading_order(reads[row.id], row.language, EDITIONS)
        assert row.version == version_for(texts, order, "kk"), (row.chat_id, reads[row.id])
    got = {row.chat_id: row.version for row in rows}
    assert got[9] == "ru" and got[10] == "en" and got[2] == "en" and got[5] == "ru"
    assert sum(chats for _, _, chats in by_version) == 8
    assert {version for version, status, _ in by_version} == {"ru", "en"}
