"""`newsbot run` as a process in webhook mode with JSON logs: no secret ever reaches a log
line; `newsbot stats` prints its tables."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from storage.db import create_database
from storage.migrate import upgrade
from storage.models import Delivery, Destination, Engagement, Story
from tests.entrypoints.http.conftest import API_TOKEN, OTHER_TOKEN, READER, free_port
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer, fixture_bytes
from tests.fakes.processes import NEWSBOT, environment, newsbot, write_config

WEBHOOK = "https://newsbot.example.org/telegram/webhook"


async def test_json_logs_never_carry_the_token_the_webhook_secret_or_api_tokens(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')
    port = free_port()
    config = write_config(
        tmp_path,
        [url],
        f'log_format = "json"\nhttp_port = {port}\nhttp_host = "127.0.0.1"\n'
        f'api_tokens = ["{API_TOKEN}", "{OTHER_TOKEN}"]\nprivate_chat_interval = 0',
    )
    with FakeBotAPI() as api:
        process = await asyncio.create_subprocess_exec(
            *NEWSBOT,
            "run",
            "--config",
            str(config),
            "--webhook",
            WEBHOOK,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
            env=environment(
                tmp_path, TELEGRAM_BOT_TOKEN=api.token, NEWSBOT_BOT_API_URL=api.base_url
            ),
        )
        try:
            await api.wait_until(lambda: api.webhook_url == WEBHOOK, timeout=30)
            secret = next(p for m, p in api.requests if m == "setWebhook")["secret_token"]
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                api.send_message(READER, "/subscribe politics")
                update = api.pending_updates()[-1]
                hook = "/telegram/webhook"
                assert (await client.post(hook, json=update)).status_code == 401
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
                assert (await client.post(hook, json=update, headers=headers)).status_code == 200
                await api.wait_for(lambda m: m.chat_id == READER.id, timeout=15)
                bearer = {"Authorization": f"Bearer {API_TOKEN}"}
                pushed = await client.post(
                    "/api/v1/breaking", json={"text": "Flood warning"}, headers=bearer
                )
                assert pushed.status_code == 202
                refused = await client.post(
                    "/api/v1/breaking",
                    json={"text": "x"},
                    headers={"Authorization": f"Bearer {OTHER_TOKEN}-not"},
                )
                assert refused.status_code == 401
                await api.wait_for(lambda m: "Flood warning" in m.text, timeout=15)
                for _ in range(100):  # the scheduled poll finished (its line is logged)
                    scraped = (await client.get("/metrics")).text
                    if 'newsbot_feeds_polled_total{status="ok"}' in scraped:
                        break
                    await asyncio.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            raw, _ = await asyncio.wait_for(process.communicate(), timeout=20)
            output = raw.decode()
        finally:
            if process.returncode is None:
                process.kill()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    for secret_value in (api.token, api.token.split(":")[1], secret, API_TOKEN, OTHER_TOKEN):
        assert secret_value not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    messages = [line["message"] for line in lines]
    assert any(message.startswith("polled ") for message in messages)
    assert any(message.startswith("delivery: ") for message in messages)
    assert any("webhook request refused" in message for message in messages)
    assert any(line.get("alert_id") == pushed.json()["id"] for line in lines)


async def seed(database_url: str) -> None:
    """Readers, two stories, deliveries over two days, reactions on one story."""
    database = create_database(database_url)
    await upgrade(database)
    now = datetime.now(UTC)
    async with database.sessions.begin() as session:
        readers = [
            Destination(chat_id=chat, kind="private", created_at=now, updated_at=now)
            for chat in (1, 2, 3)
        ]
        session.add_all(readers)
        stories = [
            Story(
                identity=f"link:https://news.example/{n}",
                link=f"https://news.example/{n}",
                title=title,
                section="politics",
                published_at=now - timedelta(hours=n),
                first_seen_at=now,
                updated_at=now,
                content_hash=str(n),
                fanned_out_at=now,
            )
            for n, title in [(1, "Parliament passes the budget"), (2, "Senate recess")]
        ]
        session.add_all(stories)
        await session.flush()
        for story in stories:  # each its own group, as storage.stories.store_stories makes it
            story.group_id = story.id
        for reader, (day, status) in zip(
            readers, [(0, "sent"), (0, "failed"), (1, "sent")], strict=True
        ):
            session.add(
                Delivery(
                    destination_id=reader.id,
                    story_id=stories[day].id,
                    status=status,
                    last_error=BLOCKED if status == "failed" else None,
                    next_attempt_at=now,
                    created_at=now - timedelta(days=day),
                )
            )
        session.add(Engagement(story_id=stories[1].id, kind="press", weight=2.0, at=now))
        session.add(Engagement(story_id=stories[0].id, kind="read", weight=1.0, at=now))
    await database.dispose()


BLOCKED = "Forbidden: bot was blocked by the user"


def test_stats_prints_feeds_deliveries_per_day_and_top_stories(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    good = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')
    bad = feed_server.fail("/down.xml", "status", code=503)
    config = str(write_config(tmp_path, [good, bad]))
    assert newsbot(tmp_path, "poll", "--config", config).returncode == 0
    asyncio.run(seed(f"sqlite:///{tmp_path / 'newsbot.db'}"))
    result = newsbot(tmp_path, "stats", "--config", config)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Feeds (2)" in out and "Failing feeds" in out and bad in out
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:2] == "20"}
    assert rows[str(today)] == ["0", "0", "1", "1", "0", "0"]
    assert rows[str(yesterday)] == ["0", "0", "1", "0", "0", "0"]
    top = out[out.index("Top stories") :].splitlines()
    assert "Senate recess" in top[3] and "Parliament passes the budget" in top[4]
    header = next(line for line in out.splitlines() if line.startswith("DAY"))
    assert header.split() == ["DAY", "QUEUED", "SENDING", "SENT", "FAILED", "AWAITING", "SKIPPED"]
    reasons = out[out.index("Failed deliveries by reason") :].splitlines()
    assert BLOCKED in reasons[3] and reasons[3].endswith("1")


async def seed_backlog(database_url: str) -> None:
    """A reader's bundle of two stories sent 30 s after they were queued, and a story still
    waiting two minutes for another reader."""
    database = create_database(database_url)
    await upgrade(database)
    now = datetime.now(UTC)
    async with database.sessions.begin() as session:
        readers = [
            Destination(chat_id=chat, kind="private", created_at=now, updated_at=now)
            for chat in (1, 2)
        ]
        stories = [
            Story(identity=f"b{n}", link=f"https://news.example/b{n}", title=f"Story {n}",
                  section="politics", published_at=now, first_seen_at=now, updated_at=now,
                  content_hash=str(n), fanned_out_at=now)
            for n in range(2)
        ]  # fmt: skip
        session.add_all([*readers, *stories])
        await session.flush()
        queued = now - timedelta(minutes=5)
        sent = now - timedelta(seconds=270)
        for story in stories:
            session.add(
                Delivery(
                    destination_id=readers[0].id,
                    story_id=story.id,
                    status="sent",
                    chat_id=1,
                    message_id=77,
                    next_attempt_at=queued,
                    created_at=queued,
                    sent_at=sent,
                )
            )
        waiting = now - timedelta(minutes=2)
        session.add(
            Delivery(
                destination_id=readers[1].id,
                story_id=stories[0].id,
                status="queued",
                next_attempt_at=waiting,
                created_at=waiting,
            )
        )
    await database.dispose()


def test_stats_shows_the_outbox_backlog_lag_and_bundles(tmp_path: Path) -> None:
    config = str(write_config(tmp_path, []))
    asyncio.run(seed_backlog(f"sqlite:///{tmp_path / 'newsbot.db'}"))
    result = newsbot(tmp_path, "stats", "--config", config)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("PENDING")))
    assert lines[header].split() == [
        "PENDING", "OLDEST", "DUE", "MESSAGES", "LAG", "P50", "LAG", "P95", "BUNDLES", "PER",
        "BUNDLE",
    ]  # fmt: skip
    pending, oldest, _, messages, p50, _, p95, _, bundles, per_bundle = lines[header + 2].split()
    assert (pending, messages, p50, p95, bundles, per_bundle) == ("1", "1", "30", "30", "1", "2.0")
    assert 119 <= int(oldest) <= 125
