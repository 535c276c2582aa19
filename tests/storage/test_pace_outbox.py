"""The pace's outbox queries on SQLite and PostgreSQL: a claim carries the chat's pace, held
rows wait queued, a roundup's rows are claimed together and count as one post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.domain import channel_rules as rules
from storage import channel_rules as desk
from storage import delivery_results as outcomes
from storage import destinations, outbox
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Delivery, Story
from storage.states import DeliveryStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _seed(database: Database, stories: int) -> tuple[int, int, list[int]]:
    """A paced channel and a plain one, each with `stories` story deliveries queued."""
    async with database.sessions.begin() as session:
        paced = await destinations.ensure_destination(session, ChatInfo(-1, "channel"), NOW)
        plain = await destinations.ensure_destination(session, ChatInfo(-2, "channel"), NOW)
        pace = rules.DeskPace(max_posts_per_hour=2, quiet_hours="23:00-07:00", quiet_mode="hold")
        settings = rules.DeskSettings(rules.DeskRules(paced.id, 0), pace=pace)
        await desk.write_rules(session, paced.id, settings, NOW)
        story_ids = []
        for n in range(stories):
            story = Story(
                identity=f"s{n}",
                link=f"https://x.kz/{n}",
                title=f"Story {n}",
                summary="",
                section="politics",
                published_at=NOW,
                first_seen_at=NOW,
                updated_at=NOW,
                content_hash="h",
                pushable=True,
                fanned_out_at=NOW,
            )
            session.add(story)
            await session.flush()
            story_ids.append(story.id)
            for destination in (paced, plain):
                session.add(
                    Delivery(
                        destination_id=destination.id,
                        story_id=story.id,
                        group_id=story.id,
                        priority=10,
                        status=DeliveryStatus.QUEUED,
                        attempts=0,
                        next_attempt_at=NOW,
                        created_at=NOW,
                    )
                )
        return paced.id, plain.id, story_ids


async def test_held_rows_are_claimed_together_and_count_as_one_post(database: Database) -> None:
    paced, plain, _ = await _seed(database, 3)
    async with database.sessions.begin() as session:
        jobs = await outbox.claim_due(session, NOW, 10)
        mine = [job for job in jobs if job.destination_id == paced]
        assert all(job.pace == rules.DeskPace(2, "23:00-07:00", "hold") for job in mine)
        assert all(job.pace is None for job in jobs if job.destination_id == plain)
        later = NOW + timedelta(hours=1)
        await outbox.hold_for_roundup(session, [job.id for job in mine], later)
    async with database.sessions.begin() as session:
        assert await outbox.claim_due(session, NOW, 10) == []  # held: not due
        [first] = await outbox.claim_due(session, later, 1)
        assert first.roundup and first.attempts == 1  # holding cost no attempt
        members = await outbox.claim_roundup(session, paced, later)
        assert [job.id for job in mine if job.id != first.id] == [m[0] for m in members]
        sent_at = later + timedelta(seconds=1)
        await outcomes.mark_sent_many(
            session, [(row, -1, 77, sent_at, None) for row in (first.id, *(m[0] for m in members))]
        )
    async with database.sessions() as session:
        posts = await outbox.recent_posts(session, [paced, plain], NOW)
        statuses = set(
            await session.scalars(select(Delivery.status).where(Delivery.destination_id == paced))
        )
    assert posts == {paced: {77: sent_at}} and statuses == {DeliveryStatus.SENT}


async def test_a_story_waiting_at_the_desk_is_never_in_a_roundup_or_a_turn(
    database: Database,
) -> None:
    """Approval decides per story before anything is bundled: a delivery still `awaiting` the
    editors is neither taken into the chat's roundup nor claimed in its turn."""
    paced, _, story_ids = await _seed(database, 3)
    async with database.sessions.begin() as session:
        await session.execute(
            Delivery.__table__.update()
            .where(Delivery.destination_id == paced, Delivery.story_id == story_ids[1])
            .values(status=DeliveryStatus.AWAITING)
        )
        turn = await outbox.due_turns(session, NOW, chats=10, per_chat=50)
        mine = [job for job in turn if job.destination_id == paced]
        assert [job.story_id for job in mine] == [story_ids[0], story_ids[2]]
        await outbox.claim(session, mine, NOW)
        await outbox.hold_for_roundup(session, [job.id for job in mine], NOW)
    async with database.sessions.begin() as session:
        members = await outbox.claim_roundup(session, paced, NOW)
    assert [story for _, story in members] == [story_ids[0], story_ids[2]]
