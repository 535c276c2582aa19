"""Hostile or broken input to the CMS API and the webhook: a 4xx naming the problem, never a
500, and the server keeps answering afterwards."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from bot.entrypoints.http.api import MAX_BODY
from bot.entrypoints.http.webhook import MAX_UPDATE
from storage.models import Alert, Story
from tests.entrypoints.http.conftest import (
    API_TOKEN,
    READER,
    RunningBot,
    http_settings,
    running_bot,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer

DEEP = b"[" * 100_000 + b"]" * 100_000
STORY = {"title": "Senate ratifies the water treaty", "url": "https://news.example/senate"}
WEBHOOK_URL = "https://newsbot.example.org/tg/updates"
SECRET = "hook-secret-5d81c0e2"


async def still_serving(bot: RunningBot) -> None:
    """The process survived: health answers and a good request still works."""
    async with bot.client() as client:
        assert (await client.get("/healthz")).status_code == 200
        good = await client.post("/api/v1/breaking", json={"text": "Still here"})
        assert good.status_code == 202, good.text


def body_error(answer: httpx.Response, field: str = "body") -> str:
    """The message the 422 gives for `field` (the format every API error uses)."""
    assert answer.headers["content-type"] == "application/json", answer.text
    document = answer.json()
    assert document["error"] == "invalid request body"
    messages = [item["message"] for item in document["fields"] if item["field"] == field]
    assert messages, answer.text
    return messages[0]


async def alert_count(bot: RunningBot) -> int:
    async with bot.database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Alert)) or 0)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (DEEP, "nested"),
        (b'{"text": ' + b"[" * 100 + b"]" * 100 + b"}", "nested"),
        (b'{"text": ' + b"7" * 5000 + b"}", "digits"),
        (b'{"text": "ok", "link": NaN}', "NaN"),
    ],
    ids=["array-100000-deep", "field-100-deep", "int-5000-digits", "nan"],
)
async def test_a_body_json_cannot_hold_is_422(bot: RunningBot, raw: bytes, names: str) -> None:
    async with bot.client() as client:
        answer = await client.post(
            "/api/v1/breaking", content=raw, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 422
    assert names in body_error(answer)
    assert await alert_count(bot) == 0
    await still_serving(bot)


@pytest.mark.parametrize("raw", ["9223372036854775808", "9" * 5000, "0", "abc", "1.5"])
async def test_an_id_no_alert_can_have_is_a_json_404(bot: RunningBot, raw: str) -> None:
    async with bot.client() as client:
        answer = await client.get(f"/api/v1/deliveries/{raw}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert "no breaking news with id" in answer.json()["error"]
    await still_serving(bot)


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"], ids=["year-0", "10000"]
)
async def test_a_date_outside_the_calendar_in_utc_is_422(bot: RunningBot, moment: str) -> None:
    async with bot.client() as client:
        answer = await client.post(
            "/api/v1/stories", json={**STORY, "section": "parliament", "published_at": moment}
        )
    assert answer.status_code == 422
    assert "UTC" in body_error(answer, "published_at")
    await still_serving(bot)


async def test_a_story_dated_in_the_future_is_dated_now(bot: RunningBot) -> None:
    before = datetime.now(UTC)
    async with bot.client() as client:
        answer = await client.post(
            "/api/v1/stories",
            json={**STORY, "section": "parliament", "published_at": "9999-01-01T00:00:00Z"},
        )
    assert answer.status_code == 201, answer.text
    async with bot.database.sessions() as session:
        story = await session.get(Story, answer.json()["id"])
    assert story is not None
    published = story.published_at.replace(tzinfo=story.published_at.tzinfo or UTC)
    assert before - timedelta(seconds=1) <= published <= datetime.now(UTC)


@pytest.mark.parametrize("title", ["<br><p></p>", "<p> &nbsp; </p>", "\u200b"])
async def test_a_title_with_no_text_once_markup_is_removed_is_422(
    bot: RunningBot, title: str
) -> None:
    async with bot.client() as client:
        answer = await client.post(
            "/api/v1/stories", json={**STORY, "title": title, "section": "parliament"}
        )
    assert answer.status_code == 422
    assert "text" in body_error(answer, "title")


async def test_control_characters_are_stripped_from_breaking_text(bot: RunningBot) -> None:
    await bot.subscribe(READER)
    async with bot.client() as client:
        answer = await client.post(
            "/api/v1/breaking", json={"text": "Quake\x00 near\x07 Almaty\u202e\nAftershocks"}
        )
        assert answer.status_code == 202, answer.text
        only_controls = await client.post("/api/v1/breaking", json={"text": "\x00\x01 \x1b"})
    assert only_controls.status_code == 422
    assert body_error(only_controls, "text")
    sent = await bot.api.wait_for(
        lambda m: m.chat_id == READER.id and "Quake" in m.text, timeout=10
    )
    assert "Quake near Almaty\nAftershocks" in sent[0].text
    async with bot.database.sessions() as session:
        alert = await session.get(Alert, answer.json()["id"])
    assert alert is not None and alert.text == "Quake near Almaty\nAftershocks"


@pytest.mark.parametrize(
    "url", ["http://[::1/x", "https:///path", "http://news.example:99999/a", "http://:80/"]
)
async def test_a_url_without_a_usable_host_is_422(bot: RunningBot, url: str) -> None:
    async with bot.client() as client:
        breaking = await client.post("/api/v1/breaking", json={"text": "ok", "link": url})
        story = await client.post(
            "/api/v1/stories", json={**STORY, "url": url, "section": "parliament"}
        )
    assert breaking.status_code == 422 and story.status_code == 422
    assert body_error(breaking, "link") and body_error(story, "url")
    await still_serving(bot)


async def raw_request(base_url: str, head: str, chunks: list[bytes]) -> tuple[int, Any]:
    """One request written by hand (to lie about or leave out Content-Length); the answer's
    status and JSON body."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(head.encode())
        for chunk in chunks:
            writer.write(chunk)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers["content-length"]))
        return int(status_line.split()[1]), json.loads(body)
    finally:
        writer.close()


def chunked(size: int) -> list[bytes]:
    """`size` bytes of a JSON string in chunked encoding, never terminated: a client that
    would go on sending."""
    piece = b'{"text": "' + b"x" * (size - 10)
    return [f"{len(piece):x}\r\n".encode() + piece + b"\r\n"]


async def test_a_body_over_the_cap_is_413_however_it_is_sent(bot: RunningBot) -> None:
    auth = f"Authorization: Bearer {API_TOKEN}\r\nContent-Type: application/json\r\n"
    head = f"POST /api/v1/breaking HTTP/1.1\r\nHost: newsbot\r\n{auth}"
    # Declares a gigabyte and sends a few bytes: refused at once, not awaited.
    status, body = await raw_request(
        bot.base_url, head + "Content-Length: 1000000000\r\n\r\n", [b'{"text": "x"']
    )
    assert status == 413 and str(MAX_BODY) in body["error"]
    # No Content-Length at all: read only up to the cap.
    status, body = await raw_request(
        bot.base_url, head + "Transfer-Encoding: chunked\r\n\r\n", chunked(MAX_BODY + 1)
    )
    assert status == 413 and str(MAX_BODY) in body["error"]
    assert await alert_count(bot) == 0
    await still_serving(bot)


@pytest.fixture
async def webhook_bot(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    settings = http_settings(
        tmp_path, fake_api, feed_urls, webhook_url=WEBHOOK_URL, webhook_secret=SECRET
    )
    async with running_bot(settings, fake_api) as running:
        await fake_api.wait_until(lambda: fake_api.webhook_url == WEBHOOK_URL, timeout=10)
        yield running


async def webhook_post(bot: RunningBot, content: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=bot.base_url, timeout=10) as client:
        return await client.post(
            "/tg/updates", content=content, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )


@pytest.mark.parametrize(
    ("update", "names"),
    [
        (b"{}", "update_id"),
        (b'{"update_id": "one"}', "update_id"),
        (json.dumps({"update_id": 1, "message": "hi"}).encode(), "message"),
        (
            json.dumps({"update_id": 1, "message": {"message_id": 5, "text": "/start"}}).encode(),
            "missing 'date'",
        ),
        (DEEP, "nested"),
        (b'{"update_id": ' + b"1" * 5000 + b"}", "digits"),
    ],
    ids=["empty", "id-not-int", "message-a-string", "no-chat-no-date", "deep", "long-int"],
)
async def test_a_malformed_update_is_400_and_not_handled(
    webhook_bot: RunningBot, fake_api: FakeBotAPI, update: bytes, names: str
) -> None:
    answer = await webhook_post(webhook_bot, update)
    assert answer.status_code == 400
    assert names in answer.json()["error"]
    # The server still takes the next, well-formed update and the bot answers it.
    fake_api.send_message(READER, "/subscribe parliament")
    good = await webhook_post(webhook_bot, json.dumps(fake_api.pending_updates()[-1]).encode())
    assert good.status_code == 200
    await fake_api.wait_for(lambda m: m.chat_id == READER.id, timeout=10)
    await asyncio.sleep(0.3)
    assert len(fake_api.messages_to(READER.id)) == 1


async def test_an_update_over_the_cap_is_413(webhook_bot: RunningBot) -> None:
    head = (
        "POST /tg/updates HTTP/1.1\r\nHost: newsbot\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status, body = await raw_request(webhook_bot.base_url, head, chunked(MAX_UPDATE + 1))
    assert status == 413 and str(MAX_UPDATE) in body["error"]
    async with httpx.AsyncClient(base_url=webhook_bot.base_url) as client:
        assert (await client.get("/healthz")).status_code == 200


@pytest.fixture
async def bot_on_each_database(
    tmp_path: Path,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_urls: list[str],
    database_url: str,
) -> AsyncIterator[RunningBot]:
    """The CMS API over SQLite and over PostgreSQL (which refuses what a column cannot hold)."""
    settings = http_settings(tmp_path, fake_api, feed_urls, database_url=database_url)
    async with running_bot(settings, fake_api) as running:
        yield running


# 2,048 characters as sent; its canonical form (path "/" added) is one more than a link holds.
LINK_AT_THE_EDGE = "https://news.example?id=" + "7" * (2048 - len("https://news.example?id="))


@pytest.mark.parametrize("url", [LINK_AT_THE_EDGE, "https://news.example/" + "a" * 3000])
async def test_a_story_whose_link_storage_cannot_hold_is_422(
    bot_on_each_database: RunningBot, url: str
) -> None:
    bot = bot_on_each_database
    async with bot.client() as client:
        answer = await client.post(
            "/api/v1/stories", json={**STORY, "url": url, "section": "parliament"}
        )
    assert answer.status_code == 422, answer.text
    assert "2048" in body_error(answer, "url").replace(",", "")
    async with bot.database.sessions() as session:
        stored = select(func.count()).where(Story.link.like("https://news.example%"))
        assert await session.scalar(stored) == 0
    await still_serving(bot)


async def test_a_story_whose_image_storage_cannot_hold_is_stored_without_it(
    bot_on_each_database: RunningBot,
) -> None:
    bot = bot_on_each_database
    image = "https://static.news.example?i=" + "p" * (2048 - len("https://static.news.example?i="))
    async with bot.client() as client:
        answer = await client.post(
            "/api/v1/stories", json={**STORY, "image": image, "section": "parliament"}
        )
    assert answer.status_code == 201, answer.text
    async with bot.database.sessions() as session:
        story = await session.get(Story, answer.json()["id"])
    assert story is not None and story.link == STORY["url"] and story.image_url is None
