"""Two `newsbot run` processes on one PostgreSQL: polls once, one sender, one long poller
(Telegram answers 409 to overlapping getUpdates), and a takeover of every role."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.delivery.sender import SENT_BATCH
from storage.db import create_database
from storage.models import Delivery
from tests.conftest import postgres_skip_reason, postgres_url, reset_postgres
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.fakes.feed_server import FeedServer, fixture_bytes
from tests.fakes.processes import (
    BUNDLED,
    CHATS,
    CONCURRENCY,
    READER_CHATS,
    bundle_sends,
    channel_sends,
    seed_breaking_news,
    seed_bundles,
    start_bot,
    write_config,
)

READER = FakeUser(555_000_001, "Aigerim")


@pytest.fixture
def postgres() -> str:
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    asyncio.run(reset_postgres(postgres_url()))
    return postgres_url()


async def test_two_instances_share_polls_and_survive_a_kill(
    tmp_path: Path, postgres: str, feed_server: FeedServer
) -> None:
    url = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')
    config = write_config(tmp_path, [url], "send_rate = 20\nlong_poll_timeout = 1", poll_interval=2)
    await seed_breaking_news(postgres)
    with FakeBotAPI() as api:
        for n in range(CHATS):
            api.register_chat(FakeChat(-100_000 - n, "channel"))
        first = await start_bot(tmp_path, api, config, NEWSBOT_DATABASE_URL=postgres)
        second = await start_bot(tmp_path, api, config, NEWSBOT_DATABASE_URL=postgres)
        try:
            await api.wait_until(lambda: sum(channel_sends(api).values()) >= CHATS // 4, timeout=60)
            # Only one instance long-polls: no getUpdates was ever cut short by the other.
            assert api.poll_conflicts == 0
            # Kill one (the sender or not): the survivor finishes, within the 30 s lease.
            os.kill(first.pid, signal.SIGKILL)
            await first.wait()
            # ...and answers commands, taking over long polling if the dead one held it.
            api.send_message(READER, "/help")
            await api.wait_for(lambda m: m.chat_id == READER.id, timeout=30)
            await api.wait_until(lambda: len(channel_sends(api)) == CHATS, timeout=120)
        finally:
            for process in (first, second):
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), timeout=20)
        sends = channel_sends(api)
    assert set(sends) == {-100_000 - n for n in range(CHATS)}
    assert sum(count - 1 for count in sends.values()) <= CONCURRENCY + SENT_BATCH
    hits = [request.time for request in feed_server.hits("/en.xml")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(hits)]
    assert len(hits) >= 3
    assert min(gaps) >= 1.0, gaps  # never polled twice for one due time


async def test_two_instances_never_send_a_bundled_delivery_twice(
    tmp_path: Path, postgres: str
) -> None:
    """CHATS readers with three stories waiting each, two instances on one PostgreSQL, one
    killed mid-way: each reader gets one message listing all three (only messages in flight
    at the kill may repeat), and each delivery is recorded sent once, with its message."""
    config = write_config(tmp_path, [], "send_rate = 60\nlong_poll_timeout = 1")
    await seed_bundles(postgres)
    with FakeBotAPI() as api:
        for chat in READER_CHATS:
            api.register_chat(chat)
        first = await start_bot(tmp_path, api, config, NEWSBOT_DATABASE_URL=postgres)
        second = await start_bot(tmp_path, api, config, NEWSBOT_DATABASE_URL=postgres)
        try:
            await api.wait_until(lambda: sum(bundle_sends(api).values()) >= CHATS // 3, timeout=60)
            os.kill(first.pid, signal.SIGKILL)
            await first.wait()
            await api.wait_until(lambda: len(bundle_sends(api)) == CHATS, timeout=120)
        finally:
            for process in (first, second):
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), timeout=20)
        sends = bundle_sends(api)
        messages = [m for m in api.sent if m.chat_id > 0]
    assert set(sends) == {chat.id for chat in READER_CHATS}
    assert all(all(title in m.text for title in BUNDLED) for m in messages)
    assert sum(count - 1 for count in sends.values()) <= CONCURRENCY + SENT_BATCH
    database = create_database(postgres)
    try:
        async with database.sessions() as session:
            rows = (await session.execute(select(Delivery.status, Delivery.message_id))).all()
    finally:
        await database.dispose()
    assert len(rows) == 3 * CHATS and {status for status, _ in rows} == {"sent"}
