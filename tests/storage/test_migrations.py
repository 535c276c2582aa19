"""The schema comes only from migrations, so they must say exactly what the models say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import column, delete, insert, inspect, select, table, update
from sqlalchemy.engine import Connection

from storage import stories
from storage.db import Database, create_database
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.models import (
    Alert,
    Base,
    ChannelRule,
    Delivery,
    Destination,
    DigestSlot,
    Engagement,
    Feed,
    MostReadRank,
    ReactionCount,
    Story,
    StoryEngagement,
    Subscription,
)
from tests.storage.test_deliveries import Draft


def _not_search_index(obj: object, name: str | None, kind: str, reflected: bool, _: object) -> bool:
    """The full-text index (storage/search.py, migration 0003) is not in the models."""
    return not (name or "").startswith("stories_fts")


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": _not_search_index}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_upgrade_is_idempotent_and_reaches_head(database: Database) -> None:
    await upgrade(database)
    assert await current_revision(database) == head_revision()


async def test_indexes_serve_the_timeline_and_section_queries(database: Database) -> None:
    async with database.engine.connect() as connection:
        indexes = await connection.run_sync(
            lambda sync: {tuple(ix["column_names"]) for ix in inspect(sync).get_indexes("stories")}
        )
    assert ("published_at",) in indexes
    assert ("section", "published_at") in indexes
    assert ("feed_id", "published_at") in indexes


def _story_row(now: datetime, identity: str = "a") -> dict[str, object]:
    """A stories row with only the columns every revision since 0001 has."""
    return {
        "identity": identity,
        "link": f"https://example.kz/{identity}",
        "title": "Сенат одобрил закон",
        "summary": "",
        "section": "politics",
        "published_at": now,
        "first_seen_at": now,
        "updated_at": now,
        "content_hash": "h",
        "pushable": False,
    }


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_0004_backfills_engagement_totals_and_round_trips(database_url: str) -> None:
    """Signals recorded before 0004 become running totals; down and up again is clean."""
    db = create_database(database_url)
    try:
        await upgrade(db, "0003")
        now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
        story = _story_row(now)
        async with db.sessions.begin() as session:
            story_id = (
                await session.execute(insert(Story.__table__).values(story).returning(Story.id))
            ).scalar_one()
            await session.execute(
                insert(Engagement.__table__),
                [
                    {"story_id": story_id, "kind": "press", "weight": 2.0, "at": now},
                    {"story_id": story_id, "kind": "read", "weight": 1.0, "at": now},
                ],
            )
            await session.execute(
                insert(ReactionCount.__table__).values(
                    chat_id=-100, message_id=1, story_id=story_id, total=5, updated_at=now
                )
            )
        await upgrade(db)
        async with db.sessions() as session:
            totals = (await session.execute(select(StoryEngagement))).scalars().all()
            assert [(t.story_id, t.points, t.signals) for t in totals] == [(story_id, 18.0, 3)]
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0003")
        assert await current_revision(db) == "0003"
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        async with db.sessions.begin() as session:  # the triggers are back
            read = {"story_id": story_id, "kind": "read", "weight": 1.0, "at": now}
            await session.execute(insert(Engagement.__table__).values(read))
        async with db.sessions() as session:
            assert await session.scalar(select(StoryEngagement.points)) == 19.0
    finally:
        await db.dispose()


async def test_0005_adds_most_read_lists_and_round_trips(database_url: str) -> None:
    """A 0004 database with feeds gains `popular_ranks` (a list can be kept at once, and goes
    with its feed); down to 0004 drops it, and up again matches the models."""
    db = create_database(database_url)
    try:
        await upgrade(db, "0004")
        now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
        feed = {
            "url": "https://example.kz/popular",
            "poll_interval": 600,
            "enabled": True,
            "role": "popular",
            "consecutive_errors": 0,
            "backlog_done": False,
            "created_at": now,
        }
        async with db.sessions.begin() as session:
            feed_id = (
                await session.execute(insert(Feed.__table__).values(feed).returning(Feed.id))
            ).scalar_one()
        await upgrade(db, "0005")
        assert await current_revision(db) == "0005"
        place = {"feed_id": feed_id, "position": 1, "identity": "guid:x", "observed_at": now}
        async with db.sessions.begin() as session:
            await session.execute(insert(MostReadRank.__table__).values(place))
        async with db.sessions() as session:
            assert (await session.scalars(select(MostReadRank.feed_id))).all() == [feed_id]
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0004")
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "popular_ranks" not in tables
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        async with db.sessions.begin() as session:  # the list goes with its feed
            await session.execute(insert(MostReadRank.__table__).values(place))
            await session.execute(delete(Feed.__table__).where(Feed.id == feed_id))
        async with db.sessions() as session:
            assert (await session.scalars(select(MostReadRank.feed_id))).all() == []
    finally:
        await db.dispose()


async def test_0006_adds_feed_warnings_and_round_trips(database_url: str) -> None:
    """A 0005 database's feeds gain an empty warning that a poll can record; down to 0005
    drops the columns and keeps the feed, and up again matches the models."""
    db = create_database(database_url)
    try:
        await upgrade(db, "0005")
        now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
        feed = {
            "url": "https://example.kz/rss",
            "poll_interval": 600,
            "enabled": True,
            "consecutive_errors": 0,
            "backlog_done": True,
            "created_at": now,
        }
        async with db.sessions.begin() as session:
            await session.execute(insert(Feed.__table__).values(feed))
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        async with db.sessions.begin() as session:
            assert (await session.execute(select(Feed.last_warning))).scalars().all() == [None]
            await session.execute(
                Feed.__table__.update().values(last_warning="replaced 1", last_warning_at=now)
            )
        async with db.sessions() as session:
            assert (await session.scalar(select(Feed.last_warning_at))) == now
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0005")
            columns = await connection.run_sync(
                lambda sync: {column["name"] for column in inspect(sync).get_columns("feeds")}
            )
        assert "last_warning" not in columns and "url" in columns
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        async with db.sessions() as session:
            assert (await session.scalars(select(Feed.url))).all() == ["https://example.kz/rss"]
    finally:
        await db.dispose()


async def test_0007_moves_digest_sends_into_the_outbox_and_round_trips(database_url: str) -> None:
    """A 0006 database's digest history becomes digest deliveries (a sent slot keeps its
    message; a claim without a recorded send is failed, never resent); down to 0006 brings
    `digest_sends` back from them, and up again matches the models."""
    db = create_database(database_url)
    try:
        await upgrade(db, "0006")
        now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        chat = {"chat_id": 42, "kind": "private", "active": True, "breaking": True,
                "digest": True, "created_at": now, "updated_at": now}  # fmt: skip
        async with db.engine.begin() as connection:
            destination_id = (
                await connection.execute(
                    insert(Destination.__table__).values(chat).returning(Destination.id)
                )
            ).scalar_one()
            sends = table("digest_sends", column("destination_id"), column("slot"),
                          column("status"), column("message_id"), column("created_at"),
                          column("sent_at"))  # fmt: skip
            naive = now.replace(tzinfo=None)
            await connection.execute(
                insert(sends),
                [
                    {"destination_id": destination_id, "slot": "2026-11-30T08:00",
                     "status": "sent", "message_id": 7, "created_at": naive, "sent_at": naive},
                    {"destination_id": destination_id, "slot": "2026-11-30T20:00",
                     "status": "sending", "message_id": None, "created_at": naive,
                     "sent_at": None},
                ],
            )  # fmt: skip
        await upgrade(db)
        async with db.sessions() as session:
            rows = (
                await session.execute(
                    select(Delivery.digest_slot, Delivery.status, Delivery.chat_id,
                           Delivery.message_id).order_by(Delivery.digest_slot)
                )
            ).all()  # fmt: skip
            slots = (await session.scalars(select(DigestSlot.day))).all()
        assert [tuple(row) for row in rows] == [
            ("2026-11-30T08:00", "sent", 42, 7),
            ("2026-11-30T20:00", "failed", None, None),
        ]
        assert slots == ["2026-11-30", "2026-11-30"]
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0006")
            back = (await connection.execute(select(sends.c.slot, sends.c.status))).all()
        assert sorted(tuple(row) for row in back) == [
            ("2026-11-30T08:00", "sent"),
            ("2026-11-30T20:00", "failed"),
        ]
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.dispose()


async def test_0008_makes_each_story_its_own_group_and_round_trips(database_url: str) -> None:
    """A 0007 database's stories become groups of one; chats and stories keep every row and
    their search index on the way down to 0007 and up again (no table is rebuilt)."""
    db = create_database(database_url)
    try:
        await upgrade(db, "0007")
        now = datetime(2026, 12, 1, 9, 0)  # stored naive UTC, as UTCDateTime does
        stories = table(
            "stories",
            *(
                column(name)
                for name in (
                    "id",
                    "identity",
                    "link",
                    "title",
                    "summary",
                    "section",
                    "published_at",
                    "first_seen_at",
                    "updated_at",
                    "content_hash",
                    "pushable",
                )
            ),
        )
        async with db.sessions.begin() as session:
            await session.execute(
                insert(stories).values(
                    identity="a",
                    link="https://example.kz/a",
                    title="Сенат одобрил закон",
                    summary="",
                    section="politics",
                    published_at=now,
                    first_seen_at=now,
                    updated_at=now,
                    content_hash="h",
                    pushable=False,
                )
            )
        await upgrade(db)
        async with db.sessions() as session:
            story = (await session.scalars(select(Story))).one()
            assert (story.group_id, story.edition) == (story.id, None)
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0007")
            kept = (await connection.execute(select(stories.c.title))).scalars().all()
        assert kept == ["Сенат одобрил закон"]
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.dispose()


async def test_0012_copies_each_story_s_time_group_and_section_and_round_trips(
    database_url: str,
) -> None:
    """Totals recorded before 0012 get their story's publication time, group and section;
    down to 0011 and up again is clean, and the copying triggers are back."""
    db = create_database(database_url)
    try:
        await upgrade(db, "0011")
        now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        story = _story_row(now)
        read = {"kind": "read", "weight": 1.0, "at": now}
        engagement = Engagement.__table__
        async with db.sessions.begin() as session:
            story_id = (
                await session.execute(insert(Story.__table__).values(story).returning(Story.id))
            ).scalar_one()
            await session.execute(insert(engagement).values(story_id=story_id, **read))

        async def copied() -> list[tuple[object, ...]]:
            async with db.sessions() as session:
                rows = (await session.execute(select(StoryEngagement))).scalars().all()
                return [(r.story_id, r.published_at, r.group_id, r.section) for r in rows]

        await upgrade(db)
        assert await copied() == [(story_id, now, story_id, "politics")]
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0011")
        assert await current_revision(db) == "0011"
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        later = now + timedelta(hours=1)
        async with db.sessions.begin() as session:  # the triggers are back
            await session.execute(
                update(Story).where(Story.id == story_id).values(published_at=later, section="x")
            )
            other = _story_row(now, "b")
            other_id = (
                await session.execute(insert(Story.__table__).values(other).returning(Story.id))
            ).scalar_one()
            await session.execute(insert(engagement).values(story_id=other_id, **read))
        assert await copied() == [
            (story_id, later, story_id, "x"),
            (other_id, now, other_id, "politics"),
        ]
    finally:
        await db.dispose()


async def test_0014_adds_feed_alert_state_and_round_trips(database_url: str) -> None:
    """A 0013 database's failing feed is taken to fail since its latest poll (a healthy one
    since never); alerts can be recorded; down to 0013 drops the columns and keeps the feeds,
    and up again matches the models."""
    db = create_database(database_url)
    try:
        await upgrade(db, "0013")
        now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
        polled = now - timedelta(minutes=5)
        base = {
            "poll_interval": 600,
            "enabled": True,
            "backlog_done": True,
            "created_at": now - timedelta(days=1),
            "last_fetched_at": polled,
        }
        async with db.sessions.begin() as session:
            await session.execute(
                insert(Feed.__table__),
                [
                    {**base, "url": "https://example.kz/down", "consecutive_errors": 3},
                    {**base, "url": "https://example.kz/up", "consecutive_errors": 0},
                    {
                        **base,
                        "url": "https://example.kz/new",
                        "consecutive_errors": 0,
                        "last_fetched_at": None,
                    },
                ],
            )
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        async with db.sessions.begin() as session:
            rows = await session.execute(select(Feed.url, Feed.failing_since).order_by(Feed.id))
            assert rows.all() == [
                ("https://example.kz/down", polled),
                ("https://example.kz/up", None),
                ("https://example.kz/new", None),
            ]
            await session.execute(update(Feed).values(alerted_since=polled))
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0013")
            columns = await connection.run_sync(
                lambda sync: {column["name"] for column in inspect(sync).get_columns("feeds")}
            )
        assert not {"failing_since", "alerted_since"} & columns and "url" in columns
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        async with db.sessions() as session:
            assert len((await session.scalars(select(Feed.url))).all()) == 3
    finally:
        await db.dispose()


def _delivery_indexes(connection: Connection) -> set[str]:
    return {index["name"] for index in inspect(connection).get_indexes("deliveries")}


async def test_0015_indexes_deliveries_by_story_and_day_and_round_trips(database_url: str) -> None:
    """The console's reads by story and by day get their indexes; down to 0014 drops them."""
    db = create_database(database_url)
    wanted = {"ix_deliveries_story_id", "ix_deliveries_created_at"}
    try:
        await upgrade(db, "0014")
        async with db.engine.connect() as connection:
            assert not wanted & await connection.run_sync(_delivery_indexes)
        await upgrade(db, "0015")
        async with db.engine.connect() as connection:
            assert wanted <= await connection.run_sync(_delivery_indexes)
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0014")
            assert not wanted & await connection.run_sync(_delivery_indexes)
        assert await current_revision(db) == "0014"
    finally:
        await db.dispose()


async def test_0016_records_each_sent_row_s_bundle_size_and_round_trips(database_url: str) -> None:
    """A 0015 outbox's bundles learn their size (a message of its own stays NULL: one); the
    story trace's indexes replace 0015's; down to 0015 and up again matches the models."""
    db = create_database(database_url)
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    try:
        await upgrade(db, "0015")
        async with db.sessions.begin() as session:
            chat_id = (
                await session.execute(
                    insert(Destination.__table__)
                    .values(
                        chat_id=501, kind="private", active=True, created_at=now, updated_at=now
                    )
                    .returning(Destination.id)
                )
            ).scalar_one()
            result = await stories.store_stories(
                session,
                [
                    Draft(identity=f"guid:{n}", link=f"https://kazinform.kz/{n}", title=f"S{n}")
                    for n in range(3)
                ],
                feed_id=None,
                pushable=True,
                now=now,
            )
            # The 0015 outbox: the columns it had, typed as the models type them.
            outbox_rows = table(
                "deliveries",
                *(
                    column(name, Delivery.__table__.c[name].type)
                    for name in (
                        *("destination_id", "story_id", "group_id", "status", "attempts"),
                        *("priority", "next_attempt_at", "created_at", "chat_id", "message_id"),
                        "roundup",
                    )
                ),
            )
            await session.execute(
                insert(outbox_rows),
                [
                    {
                        "destination_id": chat_id,
                        "story_id": story_id,
                        "group_id": story_id,
                        "status": "sent",
                        "attempts": 1,
                        "priority": 10,
                        "next_attempt_at": now,
                        "created_at": now,
                        "chat_id": 501,
                        # The first two went in one bundle (message 7), the third alone.
                        "message_id": 7 if number < 2 else 8,
                        "roundup": False,
                    }
                    for number, story_id in enumerate(result.new_ids)
                ],
            )
        await upgrade(db)
        async with db.sessions() as session:
            sizes = await session.scalars(select(Delivery.message_rows).order_by(Delivery.id))
            assert sizes.all() == [2, 2, None]
        async with db.engine.connect() as connection:
            indexes = await connection.run_sync(_delivery_indexes)
        assert {
            "ix_deliveries_story",
            "ix_deliveries_bundled",
            "ix_deliveries_approval_id",
        } <= indexes
        assert "ix_deliveries_story_id" not in indexes
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0015")
            columns = await connection.run_sync(
                lambda sync: {column["name"] for column in inspect(sync).get_columns("deliveries")}
            )
            assert "message_rows" not in columns and "message_id" in columns
            assert "ix_deliveries_story_id" in await connection.run_sync(_delivery_indexes)
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.dispose()


def _destination_columns(sync: Connection) -> set[str]:
    return {column["name"] for column in inspect(sync).get_columns("destinations")}


async def test_0017_keeps_each_chat_s_last_test_and_round_trips(database_url: str) -> None:
    """Chats gain `last_test_at` (none sent yet); down to 0016 drops it and keeps the chats
    and what they subscribe to; up again matches the models."""
    db = create_database(database_url)
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    chat = {
        "chat_id": -1001,
        "kind": "channel",
        "active": True,
        "breaking": True,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await upgrade(db, "0016")
        async with db.sessions.begin() as session:
            chat_id = (
                await session.execute(
                    insert(Destination.__table__).values(chat).returning(Destination.id)
                )
            ).scalar_one()
            subscribed = {"destination_id": chat_id, "section": "parliament", "created_at": now}
            await session.execute(insert(Subscription.__table__).values(subscribed))
        await upgrade(db)
        async with db.sessions.begin() as session:
            assert await session.scalar(select(Destination.last_test_at)) is None
            await session.execute(update(Destination).values(last_test_at=now))
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0016")
            assert "last_test_at" not in await connection.run_sync(_destination_columns)
        async with db.engine.connect() as connection:
            found = await connection.execute(select(Subscription.__table__.c.section))
            assert found.scalars().all() == ["parliament"]
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.dispose()


FILTER_LISTS = ("include", "exclude", "include_regex", "exclude_regex")


async def test_0018_gives_every_chat_its_roundup_and_round_trips(database_url: str) -> None:
    """Chats with rules keep their roundup (true, as before 0018); down to 0017 drops the
    column and keeps the rules; up again matches the models."""
    db = create_database(database_url)
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    try:
        await upgrade(db, "0017")
        async with db.sessions.begin() as session:
            chat_id = (
                await session.execute(
                    insert(Destination.__table__)
                    .values(
                        chat_id=-1001, kind="channel", active=True, created_at=now, updated_at=now
                    )
                    .returning(Destination.id)
                )
            ).scalar_one()
            # The 0017 rules row: the columns it had, typed as the models type them.
            names = ("destination_id", "max_posts_per_hour", "updated_at", "version", *FILTER_LISTS)
            rules = table(
                "channel_rules", *(column(n, ChannelRule.__table__.c[n].type) for n in names)
            )
            row = {
                "destination_id": chat_id,
                "max_posts_per_hour": 6,
                "updated_at": now,
                "version": 1,
            }
            await session.execute(
                insert(rules).values(**row, **{name: [] for name in FILTER_LISTS})
            )
        await upgrade(db)
        async with db.sessions() as session:
            found = await session.execute(
                select(ChannelRule.max_posts_per_hour, ChannelRule.roundup)
            )
            assert found.all() == [(6, True)]
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0017")
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("channel_rules")}
            )
        assert "roundup" not in columns and "max_posts_per_hour" in columns
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.dispose()


async def test_0019_marks_breaking_news_already_sent_as_fanned_out(database_url: str) -> None:
    """Alerts sent before 0019 were queued at once: they count as fanned out (the tick must
    not queue them again to chats that came since); a draft does not. Round trip."""
    db = create_database(database_url)
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    try:
        await upgrade(db, "0018")
        names = ("editor_id", "editor_chat_id", "text", "status", "created_at", "confirmed_at")
        alerts = table("alerts", *(column(n, Alert.__table__.c[n].type) for n in names))
        base = {"editor_id": 1, "editor_chat_id": 1, "text": "Quake", "created_at": now}
        async with db.sessions.begin() as session:
            await session.execute(
                insert(alerts),
                [
                    {**base, "status": "sent", "confirmed_at": now},
                    {**base, "status": "draft", "confirmed_at": None},
                ],
            )
        await upgrade(db)
        async with db.sessions() as session:
            found = await session.execute(
                select(Alert.status, Alert.fanned_out_at).order_by(Alert.id)
            )
            assert found.all() == [("sent", now), ("draft", None)]
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, "0018")
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.dispose()
