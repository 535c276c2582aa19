"""The `newsbot` console script as an operator runs it: real processes, real HTTP."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.fakes.feed_server import FeedServer, fixture_bytes
from tests.fakes.processes import NEWSBOT, environment, newsbot, write_config
from tests.fakes.rss import Item, rss


def test_poll_prints_a_line_per_feed_and_feeds_shows_health(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    good = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')
    bad = feed_server.fail("/down.xml", "status", code=503)
    config = str(write_config(tmp_path, [good, bad]))
    first = newsbot(tmp_path, "poll", "--config", config)
    assert first.returncode == 0, first.stderr
    assert "ok" in first.stdout and "http_5xx" in first.stdout
    assert "2 feeds polled, 1 failed, 6 new stories" in first.stdout
    second = newsbot(tmp_path, "poll", "--config", config)
    assert "not_modified" in second.stdout and "0 new stories" in second.stdout
    health = newsbot(tmp_path, "feeds", "--config", config)
    assert health.returncode == 0
    lines = health.stdout.splitlines()
    assert any("not_modified" in line and good in line and " 6 " in line for line in lines)
    assert any("http_5xx" in line and bad in line for line in lines)
    assert "HTTP 503" in health.stdout


def test_feeds_shows_a_most_read_feed_by_its_list_not_stories(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A most-read feed stores no stories: its health line says how long its kept list is,
    so "0 stored" does not read as a broken feed."""
    news = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"))
    listing = rss([Item(f"top{n}", f"Most read {n}", datetime.now(UTC)) for n in range(3)])
    popular = feed_server.add("/popular.xml", listing)
    extra = f'[[feeds]]\nurl = "{popular}"\nrole = "popular"\n'
    config = tmp_path / "newsbot.toml"
    config.write_text(write_config(tmp_path, [news]).read_text() + extra, encoding="utf-8")
    polled = newsbot(tmp_path, "poll", "--config", str(config))
    assert polled.returncode == 0, polled.stderr
    health = newsbot(tmp_path, "feeds", "--config", str(config)).stdout.splitlines()
    (line,) = [line for line in health if popular in line]
    assert "most-read list: 3 places" in line
    assert not any("most-read" in line for line in health if news in line)


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    result = newsbot(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "is at revision" in result.stdout


def test_bad_config_stops_start_up_with_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('timezone = "Asia/Almaty"\nlanguage = "fr"\n', encoding="utf-8")
    result = newsbot(tmp_path, "run", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "language" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_polls_on_schedule_and_exits_cleanly_on_sigterm(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')
    config = write_config(tmp_path, [url])
    process = subprocess.Popen(
        [*NEWSBOT, "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(tmp_path),
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while len(feed_server.status_log("/en.xml")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert feed_server.status_log("/en.xml")[:2] == [200, 304]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_preview_prints_stories_without_a_token(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/hostile.xml", fixture_bytes("hostile.xml"))
    result = newsbot(tmp_path, "preview", url)
    assert result.returncode == 0, result.stderr
    assert "─" * 20 in result.stdout
    assert "<script" not in result.stdout.lower()


async def test_run_with_a_token_serves_readers_and_pushes_new_stories(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The deployed shape: `newsbot run` as a process, Telegram over HTTP, a feed over HTTP."""
    from datetime import UTC, datetime, timedelta

    from tests.fakes.bot_api import FakeBotAPI, FakeUser
    from tests.fakes.rss import Item, rss

    now = datetime.now(UTC)
    old = Item("old", "Senate Speaker meets CIS observers", now - timedelta(hours=1))
    url = feed_server.add("/en.xml", rss([old]), etag='"v1"')
    config = write_config(tmp_path, [url], "private_chat_interval = 0\nlong_poll_timeout = 1")
    reader = FakeUser(id=777, first_name="Aruzhan", language_code="kk")
    with FakeBotAPI() as api:
        process = await asyncio.create_subprocess_exec(
            *NEWSBOT,
            "run",
            "--config",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
            env=environment(
                tmp_path, TELEGRAM_BOT_TOKEN=api.token, NEWSBOT_BOT_API_URL=api.base_url
            ),
        )
        try:
            await api.wait_until_polling(timeout=30)
            api.send_message(reader, "/subscribe politics")
            await api.wait_for(lambda m: m.chat_id == reader.id, timeout=15)
            await api.wait_until(lambda: len(feed_server.status_log("/en.xml")) >= 1, timeout=15)
            new = Item("new", "Mazhilis adopts the budget", now - timedelta(minutes=1))
            feed_server.add("/en.xml", rss([new, old]), etag='"v2"')
            pushed = await api.wait_for(
                lambda m: m.chat_id == reader.id and "budget" in m.text, timeout=20
            )
            process.send_signal(signal.SIGTERM)
            raw, _ = await asyncio.wait_for(process.communicate(), timeout=15)
            output = raw.decode()
        finally:
            if process.returncode is None:
                process.kill()
    assert "<b>Mazhilis adopts the budget</b>" in pushed[0].text
    assert not [m for m in api.sent if "CIS observers" in m.text and m.chat_id == reader.id]
    assert process.returncode == 0, output
    assert api.token not in output and api.token.split(":")[1] not in output


def test_feeds_shows_the_repair_a_feed_needed_until_it_reads_clean(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A feed read only after a repair polls `ok`, but the operator sees what was wrong."""
    broken = fixture_bytes("ru_invalid_byte.xml")
    russian = feed_server.add("/ru.xml", broken, etag='"1"')
    archive = feed_server.add("/archive.xml", fixture_bytes("implausible_dates.xml"))
    config = str(write_config(tmp_path, [russian, archive], extra='editions = ["ru", "en"]'))
    polled = newsbot(tmp_path, "poll", "--config", config)
    assert polled.returncode == 0, polled.stderr
    assert "2 feeds polled, 0 failed, 7 new stories" in polled.stdout
    (line,) = [line for line in polled.stdout.splitlines() if russian in line]
    assert line.startswith("ok ") and "(replaced 1 invalid UTF-8 byte sequence(s)" in line
    health = newsbot(tmp_path, "feeds", "--config", config).stdout.splitlines()
    at = next(i for i, line in enumerate(health) if russian in line)
    assert health[at].startswith("ok ")
    assert re.fullmatch(
        r" +warning \(\d+s ago\): replaced 1 invalid UTF-8 byte sequence\(s\) with U\+FFFD",
        health[at + 1],
    )
    at = next(i for i, line in enumerate(health) if archive in line)
    assert "first-seen time used for 3 item(s) with an implausible date" in health[at + 1]
    assert "'Mon, 01 Jan 0001 00:00:00 +1400' is not a readable date" in health[at + 1]

    feed_server.add("/ru.xml", broken.replace(b"\xd0 ", "о ".encode()), etag='"2"')
    assert newsbot(tmp_path, "poll", "--config", config).returncode == 0
    health = newsbot(tmp_path, "feeds", "--config", config).stdout.splitlines()
    at = next(i for i, line in enumerate(health) if russian in line)
    assert health[at].startswith("ok ") and "warning" not in health[at + 1]
