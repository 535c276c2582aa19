"""The console's API and page over real HTTP, with the fake Bot API: the session, recent
stories, a story's trace (sent to a reader, blocked by another, filtered out of a channel),
feed health, and the page with its own files."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from bot.entrypoints.http.console.routes import interface_language
from bot.services import chat_admins
from storage import destinations
from tests.entrypoints.http.conftest import READER, RunningBot, running_bot
from tests.entrypoints.http.console_helpers import console_settings, tma
from tests.entrypoints.telegram.conftest import ADMIN, CHANNEL, EDITOR, ENGLISH_READER
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer, fixture_bytes

TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
STORY = {
    "title": "Senate ratifies the water treaty",
    "url": "https://news.example/senate-water",
    "section": "parliament",
    "summary": "The agreement covers the Syr Darya basin.",
}


@pytest.fixture
def feed_urls(feed_server: FeedServer) -> list[str]:
    """A working feed and one that answers 503."""
    return [
        feed_server.add("/rss/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"'),
        feed_server.fail("/rss/down.xml", "status", code=503),
    ]


@pytest.fixture
async def console(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    """The console on, and a newsroom channel whose desk filters take only Almaty news."""
    channel = {"chat": CHANNEL.id, "sections": ["parliament"], "include": ["Almaty"]}
    settings = console_settings(tmp_path, fake_api, feed_urls, channels=[channel])
    async with running_bot(settings, fake_api) as running:
        yield running


def client(bot: RunningBot) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=bot.base_url, headers=tma(bot.api.token), timeout=10)


async def until(get: Any, ready: Any, timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    """Call `get` until `ready(its answer)`; the last answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = await get()
        if ready(answer) or loop.time() > deadline:
            return answer
        await asyncio.sleep(0.1)


async def test_the_session_lists_the_newsroom_channel_only_to_its_admins(
    console: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Being an editor opens no chat: the session lists what Telegram says the user
    administers, so the editor sees the newsroom's channel once they are its admin."""
    console.api.add_bot_to_channel(ADMIN, CHANNEL)

    async def joined() -> bool:
        async with console.database.sessions() as session:
            chat = await destinations.get_by_chat(session, CHANNEL.id)
            return chat is not None and chat.active

    assert await until(joined, bool)
    async with client(console) as api:
        answer = await api.get("/console/api/session")
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        body = answer.json()
        assert body["user"] == {"id": EDITOR.id, "first_name": "Aigerim", "language": "kk"}
        assert body["editor"] is True
        assert body["chats"] == []
        assert (await api.get(f"/console/api/chats/{CHANNEL.id}/settings")).status_code == 403

        console.api.set_member(CHANNEL, EDITOR, "administrator", can_post_messages=True)
        # Telegram is asked again once its refusal above is a minute old.
        later = time.monotonic() + 61
        monkeypatch.setattr(chat_admins, "monotonic", lambda: later)
        answer = await api.get("/console/api/session")
    chats = answer.json()["chats"]
    assert [(chat["id"], chat["type"]) for chat in chats] == [(CHANNEL.id, "channel")]
    assert set(chats[0]) == {"id", "title", "type"}


async def test_recent_stories_and_the_limit(console: RunningBot) -> None:
    async with console.client() as cms:
        assert (await cms.post("/api/v1/stories", json=STORY)).status_code == 201
    async with client(console) as api:
        for bad in ["0", "101", "abc", "-1", "", "1.5", "٣"]:
            answer = await api.get("/console/api/stories", params={"limit": bad})
            assert answer.status_code == 422, (bad, answer.text)
            assert "limit" in answer.json()["error"]
        answer = await until(
            lambda: api.get("/console/api/stories", params={"limit": "100"}),
            lambda answer: len(answer.json()["stories"]) > 1,
        )
        stories = answer.json()["stories"]
        assert stories[0]["headline"] == STORY["title"]
        assert set(stories[0]) == {"id", "headline", "section", "edition", "time"}
        assert stories[0]["section"] == "parliament" and stories[0]["edition"] == "en"
        assert stories[0]["time"].endswith("Z")
        one = await api.get("/console/api/stories", params={"limit": "1"})
        assert one.json()["stories"] == stories[:1]
        default = await api.get("/console/api/stories")
        assert default.status_code == 200 and default.json()["stories"]


async def test_a_story_trace_says_where_it_went_and_why_not(console: RunningBot) -> None:
    api_fake = console.api
    api_fake.add_bot_to_channel(ADMIN, CHANNEL)
    await api_fake.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text, timeout=10)
    await console.subscribe(READER)
    await console.subscribe(ENGLISH_READER)
    api_fake.block(ENGLISH_READER.id)
    async with console.client() as cms:
        created = await cms.post("/api/v1/stories", json=STORY)
        assert created.status_code == 201, created.text
    story_id = created.json()["id"]
    await api_fake.wait_for(
        lambda m: m.chat_id == READER.id and "water treaty" in m.text, timeout=10
    )
    async with client(console) as api:
        answer = await until(
            lambda: api.get(f"/console/api/stories/{story_id}/trace"),
            # The message reaches the fake Bot API before the outbox records it sent.
            lambda answer: {"blocked", "sent"} <= set(answer.json().get("counts", {})),
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["story"]["id"] == story_id
        assert body["story"]["headline"] == STORY["title"]
        assert body["counts"] == {"sent": 1, "filtered_out": 1, "blocked": 1}
        assert body["truncated"] is False
        chats = {chat["id"]: chat for chat in body["chats"]}
        assert chats[READER.id]["outcome"] == "sent" and chats[READER.id]["at"]
        assert chats[CHANNEL.id]["outcome"] == "filtered_out"
        assert chats[CHANNEL.id]["type"] == "channel"
        assert chats[ENGLISH_READER.id]["outcome"] == "blocked"
        assert "forbidden" in chats[ENGLISH_READER.id]["reason"]
        # Grouped by outcome, in the order of the counts.
        order = [chat["outcome"] for chat in body["chats"]]
        assert order == sorted(order, key=list(body["counts"]).index)

        for missing in ["999999", "abc", str(2**63), "9" * 40]:
            unknown = await api.get(f"/console/api/stories/{missing}/trace")
            assert unknown.status_code == 404, (missing, unknown.text)
            assert unknown.json() == {"error": "no such story"}
        nowhere = await api.get("/console/api/nothing-here")
        assert nowhere.status_code == 404 and "error" in nowhere.json()


async def test_feeds_show_their_health(console: RunningBot) -> None:
    def polled(answer: httpx.Response) -> bool:
        feeds = answer.json()["feeds"]
        return len(feeds) == 2 and all(feed["last_check"] for feed in feeds)

    async with client(console) as api:
        answer = await until(lambda: api.get("/console/api/feeds"), polled)
    feeds = {urlsplit(feed["url"]).path: feed for feed in answer.json()["feeds"]}
    good, down = feeds["/rss/en.xml"], feeds["/rss/down.xml"]
    assert good["section"] == "parliament"
    assert good["last_success"] and good["last_error"] is None and good["next_check"]
    assert down["last_success"] is None
    assert down["last_error"] and down["errors_in_a_row"] >= 1
    assert down["next_check"]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.found.append((tag, value))


async def test_the_page_and_its_files(console: RunningBot) -> None:
    async with httpx.AsyncClient(base_url=console.base_url, timeout=10) as web:
        page = await web.get("/console/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        policy = page.headers["content-security-policy"]
        assert f"script-src 'self' {TELEGRAM_SCRIPT};" in policy
        assert "connect-src 'self'" in policy
        parser = _Assets()
        parser.feed(page.text)
        outside = [url for _, url in parser.found if urlsplit(url).netloc]
        assert outside == [TELEGRAM_SCRIPT]
        types = {
            ".css": "text/css; charset=utf-8",
            ".js": "text/javascript; charset=utf-8",
        }
        local = [url for _, url in parser.found if not urlsplit(url).netloc]
        assert {Path(url).suffix for url in local} == {".css", ".js"}
        for url in local:
            file = await web.get(urljoin(str(page.url), url))
            assert file.status_code == 200, url
            assert file.headers["content-type"] == types[Path(url).suffix]
            assert file.headers["x-content-type-options"] == "nosniff"
            again = await web.get(
                urljoin(str(page.url), url), headers={"If-None-Match": file.headers["etag"]}
            )
            assert again.status_code == 304
            # Nothing from outside: no URL in our own scripts and styles.
            assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", file.text), url
        script = (await web.get("/console/static/console.js")).text
        assert '"tma "' in script and "api/session" in script
        strings = await web.get("/console/static/i18n.json")
        assert strings.headers["content-type"] == "application/json"
        languages = json.loads(strings.text)
        assert set(languages) == {"en", "ru", "kk"}
        assert set(languages["en"]) == set(languages["ru"]) == set(languages["kk"])
        assert (await web.get("/console/static/nothing.js")).status_code == 404
        assert (await web.get("/console/static/..%2Fauth.py")).status_code == 404
        moved = await web.get("/console", follow_redirects=False)
        assert moved.status_code == 308
        assert urljoin(str(moved.url), moved.headers["location"]).endswith("/console/")


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("kk", "kk"),
        ("ru", "ru"),
        ("en", "en"),
        ("en-GB", "en"),
        ("RU", "ru"),
        ("de", "en"),
        (None, "en"),
    ],
)
def test_the_interface_language_follows_telegrams(code: str | None, language: str) -> None:
    assert interface_language(code) == language
