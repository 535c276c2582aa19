"""Two `newsbot run` processes on one PostgreSQL: polls once, one sender, one long poller
(Telegram answers 409 to overlapping getUpdates), and a takeover of every role."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from pathlib import Path

import pytest

from bot.delivery.sender import SENT_BATCH
from tests.conftest import postgres_skip_reason, postgres_url, reset_postgres
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.fakes.feed_server import FeedServer, fixture_bytes
from tests.fakes.processes import (
    CHATS,
    CONCURRENCY,
    channel_sends,
    seed_breaking_news,
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
