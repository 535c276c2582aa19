"""SIGTERM (the stop event) with a delivery tick in progress: it finishes, or is cut short
after the grace period with its claimed deliveries requeued, never left `sending`."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot import app as app_module
from storage.models import Delivery
from tests.entrypoints.http.conftest import READER, RunningBot


async def statuses(bot: RunningBot) -> list[str]:
    async with bot.database.sessions() as session:
        return list((await session.scalars(select(Delivery.status))).all())


async def breaking_in_flight(bot: RunningBot, send_seconds: float) -> None:
    await bot.subscribe(READER)
    bot.api.inject_failures(ratio=0.0, latency=(send_seconds, send_seconds))
    async with bot.client() as client:
        answer = await client.post("/api/v1/breaking", json={"text": "Polls close"})
        assert answer.status_code == 202
    for _ in range(100):  # wait until the sender has claimed it
        if await statuses(bot) == ["sending"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(await statuses(bot))


async def test_stop_lets_the_delivery_in_flight_finish(bot: RunningBot) -> None:
    await breaking_in_flight(bot, send_seconds=1.5)
    started = time.monotonic()
    bot.stop.set()
    await asyncio.wait_for(bot.task, 15)
    assert time.monotonic() - started < 10
    assert await statuses(bot) == ["sent"]
    assert [m for m in bot.api.messages_to(READER.id) if "Polls close" in m.text]


async def test_stop_requeues_a_delivery_that_outlasts_the_grace(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "SHUTDOWN_GRACE", 0.5)
    await breaking_in_flight(bot, send_seconds=6)
    started = time.monotonic()
    bot.stop.set()
    await asyncio.wait_for(bot.task, 15)
    assert time.monotonic() - started < 5
    assert await statuses(bot) == ["queued"]
