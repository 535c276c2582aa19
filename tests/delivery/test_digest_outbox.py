"""The digest goes through the outbox: a slot queues one delivery per opted-in chat, and the
sender sends them, paced and with Telegram's answers handled as for any story."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import select

from storage import destinations, digests
from storage.destinations import ChatInfo
from storage.models import Delivery, Destination
from tests.entrypoints.telegram.conftest import Newsroom
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
READERS = range(20_000, 20_040)
TITLE = "Timeline of major events"


def this_minute(newsroom: Newsroom) -> str:
    """The digest time that is due now on the newsroom's clock (as a cron job fires it)."""
    return datetime.now(newsroom.core.settings.zone).strftime("%H:%M")


async def opted_in_readers(newsroom: Newsroom, chat_ids: range, *, section: bool = False) -> None:
    async with newsroom.core.database.sessions.begin() as session:
        for chat_id in chat_ids:
            reader = await destinations.ensure_destination(
                session,
                ChatInfo(chat_id=chat_id, kind="private", language="en", editions=("en",)),
                NOW,
            )
            await digests.set_digest(session, reader.id, True)
            if section:
                await destinations.subscribe(session, reader.id, "parliament", NOW)


async def digest_rows(newsroom: Newsroom) -> list[tuple[int, str, str | None]]:
    async with newsroom.core.database.sessions() as session:
        query = (
            select(Destination.chat_id, Delivery.status, Delivery.last_error)
            .join(Destination, Destination.id == Delivery.destination_id)
            .where(Delivery.digest_slot.is_not(None))
            .order_by(Destination.chat_id)
        )
        return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


def digests_to(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [m.text for m in api.messages_to(chat_id) if TITLE in m.text]


async def test_a_slot_queues_one_delivery_per_chat_and_the_sender_sends_it(
    paced_newsroom: Newsroom,
) -> None:
    newsroom = paced_newsroom
    await opted_in_readers(newsroom, READERS[:3])
    due = this_minute(newsroom)
    report = await newsroom.side.digest.run_slot(due)
    assert (report.queued, report.already) == (3, 0)
    assert [status for _, status, _ in await digest_rows(newsroom)] == ["queued"] * 3
    assert not any(digests_to(newsroom.api, chat) for chat in READERS[:3])  # queued, not sent
    again = await newsroom.side.digest.run_slot(due)  # a second instance, or a re-run
    assert (again.queued, again.already) == (0, 3)
    await newsroom.deliver_all()
    for chat in READERS[:3]:
        [text] = digests_to(newsroom.api, chat)
        assert "Old story" in text
    assert [status for _, status, _ in await digest_rows(newsroom)] == ["sent"] * 3


async def test_a_chat_that_blocked_the_bot_is_deactivated_by_its_digest(
    paced_newsroom: Newsroom,
) -> None:
    newsroom = paced_newsroom
    blocked, fine = READERS[0], READERS[1]
    await opted_in_readers(newsroom, READERS[:2])
    newsroom.api.block(blocked)
    await newsroom.side.digest.run_slot(this_minute(newsroom))
    await newsroom.deliver_all()
    rows = {chat: (status, error) for chat, status, error in await digest_rows(newsroom)}
    assert rows[fine] == ("sent", None)
    status, error = rows[blocked]
    assert status == "failed" and error is not None and error.startswith("forbidden: ")
    async with newsroom.core.database.sessions() as session:
        gone = await destinations.get_by_chat(session, blocked)
    assert gone is not None and not gone.active and gone.inactive_reason == error


async def test_a_429_is_waited_out_and_the_digest_still_arrives_once(
    paced_newsroom: Newsroom,
) -> None:
    newsroom = paced_newsroom
    await opted_in_readers(newsroom, READERS[:1])
    newsroom.api.inject_failures(status=429, retry_after=1, ratio=1.0, count=1)
    await newsroom.side.digest.run_slot(this_minute(newsroom))
    await newsroom.deliver_all()
    assert newsroom.api.too_many_requests == 1
    assert len(digests_to(newsroom.api, READERS[0])) == 1
    assert [status for _, status, _ in await digest_rows(newsroom)] == ["sent"]


async def test_a_digest_alongside_a_fan_out_stays_within_telegrams_limits(
    paced_newsroom: Newsroom,
) -> None:
    """Forty readers take a new story and the digest at once: 80 messages, each reader's
    two a second apart, never more than 30 a second, no 429."""
    newsroom = paced_newsroom
    await opted_in_readers(newsroom, READERS, section=True)
    newsroom.feeds.add(
        "/en.xml", rss([Item("new", "Budget adopted", NOW), Item("old", "Old story", NOW)])
    )
    await newsroom.poll()
    await newsroom.side.dispatcher.tick(budget_seconds=0.01)  # the fan-out is under way
    await newsroom.side.digest.run_slot(this_minute(newsroom))
    await newsroom.deliver_all(timeout=30)
    for chat in READERS:
        assert len(digests_to(newsroom.api, chat)) == 1
        times = [m.time for m in newsroom.api.messages_to(chat)]
        assert len(times) == 2
        assert all(later - earlier >= 0.95 for earlier, later in itertools.pairwise(times))
    assert newsroom.api.too_many_requests == 0
    assert newsroom.api.stats()["busiest_second"] <= 30
    assert {status for _, status, _ in await digest_rows(newsroom)} == {"sent"}  # the outbox's
