"""/healthz, /readyz and /metrics as a load balancer and Prometheus see them."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.entrypoints.http.health import BotApiState, Readiness
from bot.entrypoints.http.metrics import Metrics
from bot.entrypoints.http.server import HttpServer, build_app, ops_routes
from storage.db import create_database
from storage.migrate import upgrade
from storage.models import Delivery, Destination, Story
from tests.entrypoints.http.conftest import READER, RunningBot


def sample(text: str, name: str, labels: str = "") -> float:
    """The value of one Prometheus sample in the exposition text (0 if absent)."""
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" (\S+)"
    match = re.search(rf"^{pattern}$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_health_ready_and_metrics_of_a_running_bot(bot: RunningBot) -> None:
    async with bot.client(token=None) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "ready": True,
            "checks": {"database": "ok", "scheduler": "ok", "telegram": "ok"},
        }
        # The scheduler polls the feed within seconds: its counters move.
        for _ in range(100):
            metrics = (await client.get("/metrics")).text
            if sample(metrics, "newsbot_feeds_polled_total", 'status="ok"') >= 1:
                break
            await asyncio.sleep(0.1)
        assert sample(metrics, "newsbot_feeds_polled_total", 'status="ok"') >= 1
        assert sample(metrics, "newsbot_stories_stored_total") == 6  # the feed's backlog
        assert "# TYPE newsbot_fetch_errors_total counter" in metrics
        assert "newsbot_deliveries_queued 0.0" in metrics
        assert "# TYPE newsbot_send_seconds histogram" in metrics
        assert "# TYPE newsbot_publish_to_delivery_seconds histogram" in metrics
        assert sample(metrics, "newsbot_telegram_429_total") == 0

    # A reader, a story from the CMS, a send: delivery counters and both histograms move.
    await bot.subscribe(READER)
    bot.api.inject_failures(status=429, ratio=1.0, retry_after=1, count=1)
    async with bot.client() as client:
        stored = await client.post(
            "/api/v1/stories",
            json={
                "title": "Mazhilis adopts the budget",
                "url": "https://news.example/budget",
                "section": "parliament",
            },
        )
        assert stored.status_code == 201
        await bot.api.wait_for(lambda m: m.chat_id == READER.id and "budget" in m.text, timeout=15)
        for _ in range(50):
            metrics = (await client.get("/metrics")).text
            if sample(metrics, "newsbot_deliveries_total", 'result="sent"') >= 1:
                break
            await asyncio.sleep(0.1)
    assert sample(metrics, "newsbot_deliveries_total", 'result="sent"') == 1
    assert sample(metrics, "newsbot_deliveries_total", 'result="failed"') == 0
    assert sample(metrics, "newsbot_telegram_429_total") == 1
    assert sample(metrics, "newsbot_stories_stored_total") == 7
    assert sample(metrics, "newsbot_send_seconds_count") >= 1
    assert sample(metrics, "newsbot_publish_to_delivery_seconds_count") == 1
    assert sample(metrics, "newsbot_publish_to_delivery_seconds_bucket", 'le="60.0"') == 1


async def test_readyz_names_each_check_that_failed(tmp_path: Path) -> None:
    """503 with a body naming the database, the scheduler and the Bot API."""
    database = create_database("postgresql://nobody@127.0.0.1:9/none")
    scheduler = AsyncIOScheduler()  # never started
    bot_api = BotApiState(configured=True)
    bot_api.record(False)
    metrics = Metrics()
    readiness = Readiness(database, scheduler, bot_api)
    server = HttpServer(build_app(ops_routes(readiness, metrics, database)), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            ready = await client.get("/readyz")
            assert (await client.get("/healthz")).status_code == 200
            scraped = await client.get("/metrics")  # still served without the database
    finally:
        await server.stop()
        await database.dispose()
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert ready.json()["ready"] is False
    assert checks["database"].startswith("unreachable")
    assert checks["scheduler"] == "not running"
    assert checks["telegram"] == "last Bot API call failed"
    assert scraped.status_code == 200 and "newsbot_feeds_polled_total" in scraped.text


async def test_a_reader_s_bundle_moves_the_bundle_and_lag_metrics(bot: RunningBot) -> None:
    """Two stories that wait together for a reader go as one message: one bundle of two
    stories, one lag observation."""
    await bot.subscribe(READER)
    now = datetime.now(UTC)
    async with bot.database.sessions.begin() as session:
        for n in range(2):
            session.add(
                Story(
                    identity=f"bundle-{n}",
                    link=f"https://news.example/bundle-{n}",
                    title=f"Bundled story {n}",
                    section="parliament",
                    published_at=now,
                    first_seen_at=now,
                    updated_at=now,
                    content_hash=str(n),
                    pushable=True,
                )
            )
    await bot.api.wait_for(lambda m: m.chat_id == READER.id and "Bundled" in m.text, timeout=15)
    async with bot.client(token=None) as client:
        for _ in range(50):
            metrics = (await client.get("/metrics")).text
            if sample(metrics, "newsbot_bundles_total") >= 1:
                break
            await asyncio.sleep(0.1)
    assert sample(metrics, "newsbot_bundles_total") == 1
    assert sample(metrics, "newsbot_stories_per_bundle_sum") == 2
    assert sample(metrics, "newsbot_chat_lag_seconds_count") == 1
    assert sample(metrics, "newsbot_chat_lag_seconds_bucket", 'le="10.0"') == 1


async def test_the_outbox_s_depth_and_oldest_due_delivery_are_read_at_each_scrape(
    tmp_path: Path,
) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'newsbot.db'}")
    await upgrade(database)
    queued = datetime.now(UTC) - timedelta(seconds=90)
    async with database.sessions.begin() as session:
        reader = Destination(chat_id=1, kind="private", created_at=queued, updated_at=queued)
        session.add(reader)
        await session.flush()
        for minutes, status in ((0, "queued"), (10, "sent")):
            at = queued - timedelta(minutes=minutes)
            story = Story(identity=f"s{minutes}", link=f"https://news.example/{minutes}",
                          title="Story", section="parliament", published_at=at, first_seen_at=at,
                          updated_at=at, content_hash="h", fanned_out_at=at)  # fmt: skip
            session.add(story)
            await session.flush()
            session.add(
                Delivery(
                    destination_id=reader.id,
                    story_id=story.id,
                    status=status,
                    next_attempt_at=at,
                    created_at=at,
                )
            )
    metrics = Metrics()
    readiness = Readiness(database, AsyncIOScheduler(), BotApiState(configured=True))
    server = HttpServer(build_app(ops_routes(readiness, metrics, database)), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            scraped = (await client.get("/metrics")).text
    finally:
        await server.stop()
        await database.dispose()
    assert sample(scraped, "newsbot_deliveries_queued") == 1
    assert 90 <= sample(scraped, "newsbot_outbox_oldest_pending_seconds") < 120
