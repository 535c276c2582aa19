"""Breaking news queued a chunk of chats per transaction (bot/services/breaking.py), on SQLite
and PostgreSQL: sending answers after the first chunk (the chats of the first FAN_OUT_CHUNK
chat ids) with the count of every chat it goes to; the delivery tick queues the rest,
resuming where it stopped, each chat once, in the version it gets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.services import breaking as breaking_service
from bot.services.breaking import Breaking
from storage.db import Database
from storage.models import Alert, Delivery
from tests.storage.test_breaking_reach import chat

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
EDITIONS = ["kk", "ru", "en"]


async def rows(database: Database, alert_id: int) -> list[tuple[int, str | None]]:
    async with database.sessions() as session:
        found = await session.execute(
            select(Delivery.destination_id, Delivery.version).where(Delivery.alert_id == alert_id)
        )
        return sorted(found.all())


async def test_the_first_chunk_before_the_answer_the_rest_by_the_tick(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(breaking_service, "FAN_OUT_CHUNK", 2)
    for chat_id, editions, language in [
        (1, ("ru",), "ru"),
        (2, ("kk", "en"), "en"),
        (3, ("kk",), "kk"),
        (4, ("en",), None),
        (5, ("ru", "kk"), "kk"),
    ]:
        await chat(database, chat_id, "private", editions, language=language, sections=("x",))
    service = Breaking(database, frozenset({7}), lambda: NOW, editions=EDITIONS, language="kk")

    pushed = await service.send_now({"kk": "Жаңалық", "ru": "Новость"}, None, None, "key-1")
    assert pushed.queued == 5 and not pushed.replayed
    assert len(await rows(database, pushed.id)) == 2  # the first chunk only
    assert (await service.send_now({"kk": "Жаңалық", "ru": "Новость"}, None, None, "key-1")) == (
        breaking_service.BreakingPush(pushed.id, 5, replayed=True)
    )

    assert await service.continue_fan_outs() == 2  # chunks of 2 chat ids: 2 chats, then 1
    queued = await rows(database, pushed.id)
    assert len(queued) == len({chat_id for chat_id, _ in queued}) == 5
    # Each chat in the version it gets: kk or ru, by its editions and language.
    assert [version for _, version in queued] == ["ru", "kk", "kk", "kk", "kk"]
    async with database.sessions() as session:
        alert = await session.get(Alert, pushed.id)
        assert alert is not None and alert.fanned_out_at == NOW and alert.audience == 5
    assert await service.continue_fan_outs() == 0
    assert len(await rows(database, pushed.id)) == 5


async def test_a_fan_out_stopped_midway_resumes_where_it_stopped(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between chunks: the next tick (of any instance) queues the chats left, and
    none twice."""
    monkeypatch.setattr(breaking_service, "FAN_OUT_CHUNK", 1)
    for chat_id in (11, 12, 13):
        await chat(database, chat_id, "channel", ("en",), sections=("x",))
    first = Breaking(database, frozenset(), lambda: NOW)
    pushed = await first.send_now("Quake", None, None, None)
    assert pushed.queued == 3 and len(await rows(database, pushed.id)) == 1
    # Another process: it finds the alert unfinished and goes on from its last chat.
    restarted = Breaking(database, frozenset(), lambda: NOW)
    assert await restarted.continue_fan_outs() == 2  # a chunk of one chat id each
    async with database.sessions() as session:
        count = await session.scalar(select(func.count()).where(Delivery.alert_id == pushed.id))
    assert count == 3
