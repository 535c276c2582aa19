"""Approval in the outbox, on SQLite and PostgreSQL: a chat with approval gets its story
`awaiting` one approvals row (after its filters), the other chats' fast path is unchanged,
and a decision moves every awaiting delivery at once, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.domain.channel_rules import DeskRules, DeskSettings
from bot.domain.filters import DeskFilters
from storage import approvals, destinations, fan_out
from storage import channel_rules as desk
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Approval, Delivery
from storage.states import ApprovalStatus, DeliveryStatus
from tests.storage.test_deliveries import _story

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
TIMEOUT = timedelta(hours=2)


async def _chat(
    database: Database, chat_id: int, *, approval: bool = False, **lists: list[str]
) -> int:
    async with database.sessions.begin() as session:
        destination = await destinations.ensure_destination(
            session, ChatInfo(chat_id=chat_id, kind="channel", editions=("en",)), NOW
        )
        await destinations.subscribe(session, destination.id, "parliament", NOW)
        rules = DeskRules(destination.id, 1, **{k: tuple(v) for k, v in lists.items()})
        await desk.write_rules(session, destination.id, DeskSettings(rules, approval=approval), NOW)
        return destination.id


async def _fan_out(database: Database) -> dict[int, int]:
    async with database.sessions.begin() as session:
        return await fan_out.fan_out_stories(session, NOW, DeskFilters(), TIMEOUT)


async def _rows(database: Database) -> dict[int, tuple[DeliveryStatus, int | None]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(Delivery.destination_id, Delivery.status, Delivery.approval_id)
        )
        return {row[0]: (row[1], row[2]) for row in rows.all()}


async def test_approval_chats_wait_and_others_are_queued(database: Database) -> None:
    plain = await _chat(database, -1)
    waits = await _chat(database, -2, approval=True)
    filtered = await _chat(database, -3, approval=True, include=["budget"])
    story_id = await _story(database, 1)  # "Senate Speaker meets observers"
    assert await _fan_out(database) == {story_id: 2}
    rows = await _rows(database)
    assert set(rows) == {plain, waits}  # the filtered approval chat's filter said no
    assert rows[plain] == (DeliveryStatus.QUEUED, None)
    status, approval_id = rows[waits]
    assert status is DeliveryStatus.AWAITING and approval_id is not None
    async with database.sessions() as session:
        approval = await session.get(Approval, approval_id)
        assert approval is not None and approval.status is ApprovalStatus.PENDING
        assert approval.expires_at == NOW + TIMEOUT
        names, total = await approvals.chats_of(session, approval_id, 5)
        assert total == 1 and [name.chat_id for name in names] == [-2]
    assert filtered not in rows


async def test_a_decision_moves_the_deliveries_once(database: Database) -> None:
    first = await _chat(database, -2, approval=True)
    second = await _chat(database, -4, approval=True)
    await _story(database, 1)
    await _fan_out(database)
    (approval_id,) = {approval for _, approval in (await _rows(database)).values()}
    assert approval_id is not None
    later = NOW + timedelta(minutes=5)
    async with database.sessions.begin() as session:
        assert await approvals.decide(
            session, approval_id, ApprovalStatus.APPROVED, user_id=7, user_name="Ed", now=later
        )
        assert not await approvals.decide(
            session, approval_id, ApprovalStatus.SKIPPED, user_id=8, user_name="Other", now=later
        )
    rows = await _rows(database)
    assert rows[first] == rows[second] == (DeliveryStatus.QUEUED, approval_id)
    async with database.sessions() as session:
        (decision,) = await approvals.recent_decisions(session)
        assert decision.status is ApprovalStatus.APPROVED and decision.decided_by_name == "Ed"
        assert await approvals.counts(session) == {"approved": 1}


async def test_no_approval_row_without_a_chat_that_takes_the_story(database: Database) -> None:
    await _chat(database, -3, approval=True, include=["budget"])
    await _story(database, 1)
    await _fan_out(database)
    async with database.sessions() as session:
        assert (await session.scalars(select(Approval))).all() == []
