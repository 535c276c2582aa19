"""The sender stays under Telegram's limits instead of running into them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import destinations
from storage.destinations import ChatInfo
from tests.delivery.conftest import add_readers
from tests.entrypoints.telegram.conftest import (
    READER,
    Newsroom,
    newsroom_settings,
    queue_breaking,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
READERS = range(10_000, 10_060)


async def test_fan_out_to_sixty_readers_meets_no_429(paced_newsroom: Newsroom) -> None:
    await add_readers(paced_newsroom, READERS)
    await paced_newsroom.poll()
    paced_newsroom.feeds.add(
        "/en.xml", rss([Item("new", "Budget adopted", NOW), Item("old", "Old story", NOW)])
    )
    await paced_newsroom.poll()
    started = time.monotonic()
    await paced_newsroom.deliver_all()
    elapsed = time.monotonic() - started
    received = {m.chat_id for m in paced_newsroom.api.sent if "Budget" in m.text}
    assert received == set(READERS)
    assert paced_newsroom.api.too_many_requests == 0
    assert elapsed >= 59 / 28 * 0.9  # paced, not bursted


async def test_messages_to_one_chat_are_spaced_a_second_apart(
    paced_newsroom: Newsroom,
) -> None:
    """Breaking news goes alone, then the stories that waited come in one bundle: two
    messages to one reader, at least a second apart (Telegram's 1 a second a chat)."""
    async with paced_newsroom.core.database.sessions.begin() as session:
        reader = await destinations.ensure_destination(
            session, ChatInfo(chat_id=42, kind="private", editions=("en",)), NOW
        )
        await destinations.subscribe(session, reader.id, "parliament", NOW)
    await paced_newsroom.poll()
    paced_newsroom.feeds.add(
        "/en.xml",
        rss([Item(f"n{i}", f"Story number {i}", NOW - timedelta(seconds=i)) for i in range(3)]),
    )
    await paced_newsroom.poll()
    await queue_breaking(paced_newsroom, "Breaking: spacing test")
    await paced_newsroom.deliver_all()
    alert, bundle = paced_newsroom.api.messages_to(42)
    assert "spacing test" in alert.text and bundle.text.count("Story number") == 3
    assert bundle.time - alert.time >= 0.95 and paced_newsroom.api.too_many_requests == 0


@pytest.fixture
async def brisk_newsroom(
    tmp_path: Path, strict_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    """newsbot paced at 29.5 a second, a hair under Telegram's 30: only the flood guard keeps
    a server that counts late from seeing 31 in a second."""
    url = feed_server.add("/en.xml", rss([Item("old", "Old story", NOW - timedelta(hours=1))]))
    settings = newsroom_settings(
        tmp_path, strict_api, [url], send_rate=29.5, private_chat_interval=1.0
    )
    async with running_newsroom(settings, strict_api, feed_server) as newsroom:
        yield newsroom


async def test_a_server_that_counts_late_meets_no_429_and_a_reader_is_answered_at_once(
    brisk_newsroom: Newsroom,
) -> None:
    """Telegram counts a message when it arrives, and arrivals bunch (network, a busy loop,
    a busy server): here each send is counted up to 80 ms after it left, at random, which
    makes sends spaced 1/29.5 s apart look like 31 in a second to a pacer that trusts its
    own clock. And a reader's /today, asked mid-fan-out, is answered within a second."""
    newsroom = brisk_newsroom
    await add_readers(newsroom, READERS)
    await newsroom.poll()
    newsroom.api.inject_failures(ratio=0, latency=(0, 0.08))
    newsroom.feeds.add(
        "/en.xml", rss([Item("new", "Budget adopted", NOW), Item("old", "Old story", NOW)])
    )
    await newsroom.poll()
    fan_out = asyncio.create_task(newsroom.deliver_all())
    await newsroom.api.wait_for(lambda m: "Budget" in m.text, count=20, timeout=10)
    asked = time.monotonic()
    newsroom.api.send_message(READER, "/today")
    await newsroom.api.wait_for(lambda m: m.chat_id == READER.id, timeout=5)
    answered_in = time.monotonic() - asked
    await fan_out
    pushed = {m.chat_id for m in newsroom.api.sent if "Budget" in m.text} - {READER.id}
    assert pushed == set(READERS)
    assert newsroom.api.too_many_requests == 0
    assert newsroom.api.stats()["busiest_second"] <= 30
    assert answered_in < 1.0


async def test_a_tick_cut_short_by_its_budget_wakes_the_next_one_as_it_ends(
    paced_newsroom: Newsroom,
) -> None:
    """A fan-out longer than a tick's budget goes on at once in the next tick, not a beat
    later (the scheduler runs one tick at a time, so the wake must come after this one)."""
    await add_readers(paced_newsroom, READERS)
    await paced_newsroom.poll()
    paced_newsroom.feeds.add(
        "/en.xml", rss([Item("new", "Budget adopted", NOW), Item("old", "Old story", NOW)])
    )
    await paced_newsroom.poll()
    dispatcher = paced_newsroom.side.dispatcher
    tick = asyncio.create_task(dispatcher.tick(budget_seconds=0.05))
    woken: list[bool] = []
    dispatcher._wake = lambda: woken.append(tick.done())
    stats = await tick
    await asyncio.sleep(0)
    assert stats.unfinished and 0 < stats.sent < len(READERS)
    assert woken == [True]
    await paced_newsroom.deliver_all()
    assert woken == [True]  # the last tick emptied the queue: nothing more to wake
