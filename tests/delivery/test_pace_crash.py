"""Held and bundled stories live in the outbox: a bot process killed with SIGKILL while
stories are held, and again while their roundups go out, loses none and repeats only the
roundups in flight. The pace is the config's ([[channels]] max_posts_per_hour)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.delivery.sender import SENT_BATCH
from storage.db import create_database
from storage.migrate import upgrade
from storage.models import Delivery, Destination, Story
from storage.states import DeliveryStatus
from tests.fakes.bot_api import FakeBotAPI, FakeChat
from tests.fakes.processes import (
    CHATS,
    CONCURRENCY,
    channels,
    killed_if_it_fails,
    start_bot,
    write_config,
)

EARLIER = ["Earlier one", "Earlier two"]
HELD = ["Held one", "Held two", "Held three"]
ROUNDUP = "<b>More news</b>"
# The earlier posts leave the rolling hour this long after the seed: time to start the bot
# and see every story held before the window opens.
OPENS_IN = timedelta(seconds=20)


def _story(n: int, title: str, now: datetime) -> dict[str, object]:
    return {"id": n, "identity": f"pace{n}", "link": f"https://example.kz/pace{n}",
            "title": title, "summary": "", "section": "politics",
            "published_at": now - timedelta(minutes=70 - n), "first_seen_at": now,
            "updated_at": now, "content_hash": "h", "pushable": True,
            "fanned_out_at": now}  # fmt: skip


def _delivery(
    destination_id: int, chat_id: int, story_id: int, now: datetime, sent: bool
) -> dict[str, object]:
    return {
        "destination_id": destination_id,
        "story_id": story_id,
        "group_id": story_id,
        "priority": 10,
        "status": DeliveryStatus.SENT if sent else DeliveryStatus.QUEUED,
        "attempts": 1 if sent else 0,
        "next_attempt_at": now,
        "created_at": now,
        "sent_at": now - timedelta(hours=1) + OPENS_IN if sent else None,
        "chat_id": chat_id if sent else None,
        "message_id": 1_000 + story_id if sent else None,
    }


async def seed(database_url: str) -> None:
    """CHATS channels that had two posts almost an hour ago and three stories queued."""
    database = create_database(database_url)
    now = datetime.now(UTC)
    try:
        await upgrade(database)
        async with database.sessions.begin() as session:
            await session.execute(Destination.__table__.insert(), channels(now, digest=False))
            titles = [*EARLIER, *HELD]
            stories = [_story(n, title, now) for n, title in enumerate(titles, start=1)]
            await session.execute(Story.__table__.insert(), stories)
            chats = (await session.execute(select(Destination.id, Destination.chat_id))).all()
            rows = [
                _delivery(destination_id, chat_id, story_id, now, sent=story_id <= len(EARLIER))
                for destination_id, chat_id in chats
                for story_id in range(1, len(titles) + 1)
            ]
            await session.execute(Delivery.__table__.insert(), rows)
    finally:
        await database.dispose()


def paced_config(tmp_path: Path) -> Path:
    declared = "".join(
        f'[[channels]]\nchat = {-100_000 - n}\nsections = ["politics"]\nmax_posts_per_hour = 2\n'
        for n in range(CHATS)
    )
    return write_config(tmp_path, [], "send_rate = 60\nlong_poll_timeout = 1\n\n" + declared)


async def count(database_url: str, *conditions: object) -> int:
    database = create_database(database_url)
    try:
        async with database.sessions() as session:
            query = select(func.count()).select_from(Delivery).where(*conditions)  # type: ignore[arg-type]
            return int(await session.scalar(query) or 0)
    finally:
        await database.dispose()


def roundups(api: FakeBotAPI) -> Counter[int]:
    return Counter(m.chat_id for m in api.sent if m.text.startswith(ROUNDUP))


async def test_sigkill_with_held_and_bundled_stories_loses_and_doubles_none(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    await seed(database_url)
    config = paced_config(tmp_path)
    held = (Delivery.status == DeliveryStatus.QUEUED, Delivery.roundup.is_(True))
    with FakeBotAPI() as api:
        for n in range(CHATS):
            api.register_chat(FakeChat(-100_000 - n, "channel"))
        bot = await start_bot(tmp_path, api, config)
        async with killed_if_it_fails(bot):  # killed while every story is held
            for _ in range(150):
                if await count(database_url, *held) == CHATS * len(HELD):
                    break
                await asyncio.sleep(0.1)
            assert await count(database_url, *held) == CHATS * len(HELD)
            assert api.sent == []  # over the cap: nothing goes before the hour allows
        os.kill(bot.pid, signal.SIGKILL)
        await bot.wait()
        bot = await start_bot(tmp_path, api, config)
        async with killed_if_it_fails(bot):  # killed again, a third into the roundups
            await api.wait_until(lambda: sum(roundups(api).values()) >= CHATS // 3, timeout=60)
        os.kill(bot.pid, signal.SIGKILL)
        await bot.wait()
        at_kill = sum(roundups(api).values())
        bot = await start_bot(tmp_path, api, config)
        sent = (Delivery.status == DeliveryStatus.SENT, Delivery.roundup.is_(True))
        try:
            await api.wait_until(lambda: len(roundups(api)) == CHATS, timeout=90)
            for _ in range(100):
                if await count(database_url, *sent) == CHATS * len(HELD):
                    break
                await asyncio.sleep(0.1)
        finally:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), timeout=20)
        messages = list(api.sent)
    assert at_kill < CHATS  # killed mid-send
    for message in messages:  # every roundup lists all three; none went alone
        assert message.text.startswith(ROUNDUP)
        assert all(f">{title}</a>" in message.text for title in HELD), message.text
    repeated = sum(times - 1 for times in roundups_of(messages).values())
    assert repeated <= CONCURRENCY + SENT_BATCH, (repeated, at_kill)
    assert await count(database_url, *sent) == CHATS * len(HELD)
    database = create_database(database_url)
    try:
        async with database.sessions() as session:
            ids = select(Delivery.destination_id, func.count(func.distinct(Delivery.message_id)))
            per_chat = (
                await session.execute(ids.where(*sent).group_by(Delivery.destination_id))
            ).all()
    finally:
        await database.dispose()
    assert len(per_chat) == CHATS and {n for _, n in per_chat} == {1}  # one message each


def roundups_of(messages: list) -> Counter[int]:  # type: ignore[type-arg]
    return Counter(m.chat_id for m in messages)
