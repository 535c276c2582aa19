"""A bot process killed with SIGKILL mid-fan-out loses nothing and repeats only in-flight sends:
breaking news and the daily digest alike."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.delivery.sender import SENT_BATCH
from storage.db import create_database
from storage.migrate import upgrade
from storage.models import Delivery, Destination, Story
from tests.fakes.bot_api import FakeBotAPI, FakeChat
from tests.fakes.processes import (
    BUNDLED,
    CHATS,
    CONCURRENCY,
    READER_CHATS,
    bundle_sends,
    channel_sends,
    channels,
    killed_if_it_fails,
    seed_breaking_news,
    seed_bundles,
    start_bot,
    write_config,
)


async def sent_in_database(database_url: str) -> int:
    database = create_database(database_url)
    try:
        async with database.sessions() as session:
            query = select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
            return int(await session.scalar(query) or 0)
    finally:
        await database.dispose()


async def kill_mid_send_and_restart(
    tmp_path: Path,
    api: FakeBotAPI,
    config: Path | None,
    database_url: str,
    sends: Callable[[FakeBotAPI], Counter[int]],
    *,
    chats: list[FakeChat] | None = None,
    rows: int = CHATS,
) -> tuple[Counter[int], int]:
    """Start the bot on CHATS registered channels (or `chats`), SIGKILL it a third of the way
    through, start it again and let it finish, `rows` deliveries sent: (sends per chat, how
    many were sent at the kill)."""
    for chat in chats or [FakeChat(-100_000 - n, "channel") for n in range(CHATS)]:
        api.register_chat(chat)
    bot = await start_bot(tmp_path, api, config)
    async with killed_if_it_fails(bot):
        await api.wait_until(lambda: sum(sends(api).values()) >= CHATS // 3, timeout=60)
    os.kill(bot.pid, signal.SIGKILL)
    await bot.wait()
    at_kill = sum(sends(api).values())
    bot = await start_bot(tmp_path, api, config)
    try:
        await api.wait_until(lambda: len(sends(api)) == CHATS, timeout=90)  # every chat
        for _ in range(100):
            if await sent_in_database(database_url) == rows:
                break
            await asyncio.sleep(0.1)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=20)
    return sends(api), at_kill


async def test_sigkill_mid_fan_out_loses_nothing(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    await seed_breaking_news(database_url)
    with FakeBotAPI() as api:
        sends, at_kill = await kill_mid_send_and_restart(
            tmp_path, api, None, database_url, channel_sends
        )
    assert set(sends) == {-100_000 - n for n in range(CHATS)}  # every channel has the story
    repeated = sum(count - 1 for count in sends.values())
    assert repeated <= CONCURRENCY + SENT_BATCH, (repeated, at_kill)
    assert await sent_in_database(database_url) == CHATS


DIGEST_TITLE = "Timeline of major events"


async def seed_digest_readers(database_url: str) -> None:
    """CHATS channels opted in to the digest, and a story of today for it to list."""
    database = create_database(database_url)
    now = datetime.now(UTC)
    story = {"identity": "crash", "link": "https://example.kz/crash", "title": "Budget adopted",
             "summary": "", "section": "politics", "published_at": now - timedelta(minutes=1),
             "first_seen_at": now, "updated_at": now, "content_hash": "h", "pushable": False,
             "fanned_out_at": now}  # fmt: skip
    try:
        await upgrade(database)
        async with database.sessions.begin() as session:
            await session.execute(Destination.__table__.insert(), channels(now, digest=True))
            await session.execute(Story.__table__.insert().values(story))
    finally:
        await database.dispose()


def digest_sends(api: FakeBotAPI) -> Counter[int]:
    return Counter(m.chat_id for m in api.sent if DIGEST_TITLE in m.text and m.chat_id < 0)


async def test_sigkill_mid_digest_loses_nothing(tmp_path: Path) -> None:
    """A digest slot due now (the bot starts within its hour, so it is queued at once) is
    killed mid-send; the restarted bot queues nothing twice and sends the rest."""
    database_url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    await seed_digest_readers(database_url)
    due = datetime.now(ZoneInfo("Asia/Almaty")).strftime("%H:%M")
    config = write_config(
        tmp_path, [], f'send_rate = 60\nlong_poll_timeout = 1\ndigest_times = ["{due}"]'
    )
    with FakeBotAPI() as api:
        sends, at_kill = await kill_mid_send_and_restart(
            tmp_path, api, config, database_url, digest_sends
        )
    assert at_kill < CHATS  # killed mid-send
    assert set(sends) == {-100_000 - n for n in range(CHATS)}  # every channel has the digest
    repeated = sum(count - 1 for count in sends.values())
    assert repeated <= CONCURRENCY + SENT_BATCH, (repeated, at_kill)
    assert await sent_in_database(database_url) == CHATS


async def test_sigkill_mid_bundles_loses_nothing(tmp_path: Path) -> None:
    """Readers with three waiting stories each get them in one message; a kill while those
    bundles are in flight loses no story (every reader's message lists all three, and all
    three deliveries are recorded with it) and repeats only the messages in flight."""
    database_url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    await seed_bundles(database_url)
    with FakeBotAPI() as api:
        sends, at_kill = await kill_mid_send_and_restart(
            tmp_path, api, None, database_url, bundle_sends, chats=READER_CHATS, rows=3 * CHATS
        )
        messages = [m for m in api.sent if m.chat_id > 0]
    assert at_kill < CHATS  # killed mid-send
    assert set(sends) == {chat.id for chat in READER_CHATS}
    assert all(all(title in m.text for title in BUNDLED) for m in messages)  # one message each
    repeated = sum(count - 1 for count in sends.values())
    assert repeated <= CONCURRENCY + SENT_BATCH, (repeated, at_kill)
    assert await sent_in_database(database_url) == 3 * CHATS
    database = create_database(database_url)
    try:
        async with database.sessions() as session:
            per_message = select(Delivery.chat_id, Delivery.message_id, func.count()).group_by(
                Delivery.chat_id, Delivery.message_id
            )
            counts = [count for _, _, count in (await session.execute(per_message)).all()]
    finally:
        await database.dispose()
    assert counts == [3] * CHATS  # each bundle's three rows carry its one message
