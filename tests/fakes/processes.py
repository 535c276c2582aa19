"""newsbot as its own process, as an operator runs it: its config, its environment, and
the seeds and counts the crash and multi-instance tests share."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from storage import alerts, deliveries
from storage.db import create_database
from storage.migrate import upgrade
from storage.models import Delivery, Destination, Story
from tests.fakes.bot_api import FakeBotAPI, FakeChat

NEWSBOT = [sys.executable, "-m", "bot.cli"]


def write_config(tmp_path: Path, urls: list[str], extra: str = "", poll_interval: int = 1) -> Path:
    feeds = "\n".join(f'[[feeds]]\nurl = "{url}"\nsection = "politics"\n' for url in urls)
    path = tmp_path / "newsbot.toml"
    path.write_text(
        f'timezone = "Asia/Almaty"\npoll_interval = {poll_interval}\nfetch_timeout = 2\n{extra}\n'
        '[[sections]]\nslug = "politics"\ntitle = "Politics"\n'
        'categories = ["Politics", "Parliament"]\n\n' + feeds,
        encoding="utf-8",
    )
    return path


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    env["NEWSBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'newsbot.db'}"
    env.update(extra)
    return env


def newsbot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEWSBOT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(tmp_path, **env),
        cwd=tmp_path,
    )


CHATS = 300

CONCURRENCY = 32  # the sender's default: at most this many sends in flight


def channels(now: datetime, *, digest: bool) -> list[dict[str, object]]:
    return [
        {
            "chat_id": -100_000 - n,
            "kind": "channel",
            "active": True,
            "breaking": True,
            "created_at": now,
            "updated_at": now,
            "digest": digest,
        }
        for n in range(CHATS)
    ]


async def seed_breaking_news(database_url: str) -> None:
    """An editor's confirmed alert queued for CHATS channels, as /breaking leaves it."""
    database = create_database(database_url)
    now = datetime.now(UTC)
    try:
        await upgrade(database)
        async with database.sessions.begin() as session:
            await session.execute(Destination.__table__.insert(), channels(now, digest=False))
            alert = await alerts.create_draft(
                session, editor_id=1, chat_id=1, text="Breaking: crash test", link=None, now=now
            )
            await alerts.confirm(session, alert.id, now)
            await deliveries.queue_alert(session, alert.id, now)
    finally:
        await database.dispose()


async def start_bot(
    tmp_path: Path, api: FakeBotAPI, config: Path | None = None, **env: str
) -> asyncio.subprocess.Process:
    """`newsbot run` as its own process, talking to the fake Bot API."""
    config = config or write_config(tmp_path, [], "send_rate = 60\nlong_poll_timeout = 1")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=tmp_path,
        env=environment(
            tmp_path, TELEGRAM_BOT_TOKEN=api.token, NEWSBOT_BOT_API_URL=api.base_url, **env
        ),
    )


def channel_sends(api: FakeBotAPI) -> Counter[int]:
    return Counter(m.chat_id for m in api.sent if "crash test" in m.text and m.chat_id < 0)


@contextlib.asynccontextmanager
async def killed_if_it_fails(process: asyncio.subprocess.Process) -> AsyncIterator[None]:
    """Kill `process` when the block raises (a timed-out wait, a failed assertion), so a
    failing test leaves no bot running behind it; a block that succeeds leaves it alone."""
    try:
        yield
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise


READER_CHATS = [FakeChat(200_000 + n, "private") for n in range(CHATS)]
BUNDLED = ("Bundle story one", "Bundle story two", "Bundle story three")


async def seed_bundles(database_url: str) -> None:
    """CHATS readers with three stories each waiting in the outbox: one bundle a reader."""
    database = create_database(database_url)
    now = datetime.now(UTC)
    try:
        await upgrade(database)
        async with database.sessions.begin() as session:
            readers = [{**chat, "chat_id": 200_000 + n, "kind": "private"}
                       for n, chat in enumerate(channels(now, digest=False))]  # fmt: skip
            await session.execute(Destination.__table__.insert(), readers)
            ids = {}
            for n, title in enumerate(BUNDLED):
                story = Story(identity=f"bundle-{n}", link=f"https://example.kz/b{n}", title=title,
                              summary="", section="politics", published_at=now, first_seen_at=now,
                              updated_at=now, content_hash=f"b{n}", pushable=True,
                              fanned_out_at=now)  # fmt: skip
                session.add(story)
                await session.flush()
                ids[story.id] = title
            destinations = (await session.scalars(select(Destination.id))).all()
            await session.execute(
                Delivery.__table__.insert(),
                [{"destination_id": d, "story_id": s, "group_id": s, "priority": 10,
                  "status": "queued", "attempts": 0, "next_attempt_at": now, "created_at": now}
                 for d in destinations for s in ids],
            )  # fmt: skip
    finally:
        await database.dispose()


def bundle_sends(api: FakeBotAPI) -> Counter[int]:
    return Counter(m.chat_id for m in api.sent if BUNDLED[0] in m.text and m.chat_id > 0)
