"""Editions in storage: which chats read which editions, and one version per story group."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from storage import deliveries, destinations, editions, fan_out, outbox, stories
from storage import delivery_results as outcomes
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Delivery, Story
from tests.fakes.stories import Draft

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EDITIONS = ["kk", "ru", "en"]


async def _reader(database: Database, chat_id: int, reads: tuple[str, ...]) -> int:
    async with database.sessions.begin() as session:
        chat = await destinations.ensure_destination(
            session, ChatInfo(chat_id=chat_id, kind="private", editions=reads), NOW
        )
        await destinations.subscribe(session, chat.id, "parliament", NOW)
        return chat.id


async def _story(database: Database, identity: str, edition: str) -> int:
    draft = Draft(identity, f"Story {identity}", NOW, language=edition, edition=edition)
    async with database.sessions.begin() as session:
        stored = await stories.store_stories(session, [draft], feed_id=None, pushable=True, now=NOW)
    return stored.new_ids[0]


async def _delivered(database: Database) -> set[tuple[int, int]]:
    async with database.sessions.begin() as session:
        await fan_out.fan_out_stories(session, NOW)
        rows = (await session.execute(select(Delivery.destination_id, Delivery.story_id))).all()
    return {(row[0], row[1]) for row in rows}


async def test_a_story_goes_only_to_chats_reading_its_edition(database: Database) -> None:
    kazakh = await _reader(database, 1, ("kk",))
    russian = await _reader(database, 2, ("ru",))
    both = await _reader(database, 3, ("ru", "kk"))
    story = await _story(database, "kk-1", "kk")
    assert await _delivered(database) == {(kazakh, story), (both, story)}
    assert russian not in {chat for chat, _ in await _delivered(database)}


async def test_a_reader_of_two_editions_gets_one_version_of_a_group(database: Database) -> None:
    both = await _reader(database, 3, ("ru", "kk"))
    russian = await _reader(database, 2, ("ru",))
    kazakh_version = await _story(database, "kk-1", "kk")
    assert await _delivered(database) == {(both, kazakh_version)}
    russian_version = await _story(database, "ru-1", "ru")
    async with database.sessions.begin() as session:  # the Russian version joins the group
        await session.execute(
            update(Story).where(Story.id == russian_version).values(group_id=kazakh_version)
        )
    assert await _delivered(database) == {(both, kazakh_version), (russian, russian_version)}


async def test_sync_gives_every_chat_an_edition_and_every_story_one(database: Database) -> None:
    async with database.sessions.begin() as session:
        for chat_id, language in ((1, "kk"), (2, "en"), (3, None)):
            await destinations.ensure_destination(
                session, ChatInfo(chat_id=chat_id, kind="private", language=language), NOW
            )
        await stories.store_stories(
            session,
            [Draft("old", "Old story", NOW, language="de"), Draft("ru", "Сюжет", NOW)],
            feed_id=None,
            pushable=True,
            now=NOW,
        )
        await session.execute(update(Story).values(edition=None))  # stored before editions
        await editions.sync_editions(session, ["kk", "ru"], "ru")
    async with database.sessions() as session:
        read = {}
        for chat_id in (1, 2, 3):
            chat = await destinations.get_by_chat(session, chat_id)
            read[chat_id] = await editions.editions_of(session, chat.id)
        shown = dict((await session.execute(select(Story.identity, Story.edition))).all())
    assert read == {1: {"kk"}, 2: {"ru"}, 3: {"ru"}}
    assert shown == {"old": "ru", "ru": "ru"}


async def test_an_edition_dropped_from_the_config_falls_back(database: Database) -> None:
    chat = await _reader(database, 1, ("en",))
    async with database.sessions.begin() as session:
        await editions.sync_editions(session, EDITIONS[:2], "ru")
    async with database.sessions() as session:
        assert await editions.editions_of(session, chat) == {"ru"}


async def test_an_alert_job_carries_the_editions_its_chat_reads(database: Database) -> None:
    """Breaking news in versions: the claimed delivery says which editions its chat reads
    (the sender picks the version), and the report finds them for the chats it reached."""
    from storage import alerts

    two = await _reader(database, 7001, ("kk", "ru"))
    one = await _reader(database, 7002, ("en",))
    async with database.sessions.begin() as session:
        alert = await alerts.create_sent(
            session,
            text="kk text",
            texts={"kk": "kk text", "en": "en text"},
            link=None,
            sections=None,
            idempotency_key=None,
            source="api",
            now=NOW,
        )
        assert await deliveries.queue_alert(session, alert.id, NOW) == 2
        jobs = await outbox.claim_due(session, NOW, limit=10)
        assert {job.destination_id: job.editions for job in jobs} == {
            two: frozenset({"kk", "ru"}),
            one: frozenset({"en"}),
        }
        await outcomes.mark_sent_many(session, [(jobs[0].id, jobs[0].chat_id, 1, NOW, None)])
        readers = await deliveries.alert_readers(session, alert.id)
    assert [reader.editions for reader in readers] == [jobs[0].editions]
    async with database.sessions() as session:
        stored = await alerts.get(session, alert.id)
    assert stored is not None and stored.texts == {"kk": "kk text", "en": "en text"}


async def test_a_story_inserted_without_a_group_is_a_group_of_one(database: Database) -> None:
    """Whoever inserts a story (a tool, an import), the database makes it its own group."""
    async with database.sessions.begin() as session:
        session.add(
            Story(
                identity="raw",
                link="https://example.kz/raw",
                title="Raw",
                summary="",
                published_at=NOW,
                first_seen_at=NOW,
                updated_at=NOW,
                content_hash="h",
            )
        )
    async with database.sessions() as session:
        story = (await session.scalars(select(Story))).one()
    assert story.group_id == story.id
