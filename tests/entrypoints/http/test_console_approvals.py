"""The console's approvals queue over real HTTP, with the fake Bot API: a channel with
`approval` gets its stories held; the queue lists them; approve (the story reaches the
channel and the desk message shows the decision) and skip (it never does) go through the
desk's own use case; deciding twice is 409 (in the console, or once at the desk's button and
once here), an unknown id 404, a bad body 422, and the queue is for editors only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.entrypoints.http.conftest import READER, RunningBot, running_bot
from tests.entrypoints.http.console_helpers import console_settings, tma
from tests.entrypoints.http.test_console_api import until
from tests.entrypoints.telegram.conftest import ADMIN, CHANNEL, EDITOR
from tests.fakes.bot_api import FakeBotAPI, FakeChat
from tests.fakes.feed_server import FeedServer

DESK = FakeChat(id=-1009000000001, type="supergroup", title="Newsroom desk")
APPROVED = {
    "title": "Senate ratifies the water treaty",
    "url": "https://news.example/senate-water",
    "section": "parliament",
}
SKIPPED = {
    "title": "Mazhilis debates the tariff bill",
    "url": "https://news.example/mazhilis-tariffs",
    "section": "parliament",
}


@pytest.fixture
async def desk(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    """The console on, a config channel with approval, a desk chat; the channel joined."""
    channel = {"chat": CHANNEL.id, "sections": ["parliament"], "approval": True}
    settings = console_settings(
        tmp_path,
        fake_api,
        feed_urls,
        channels=[channel],
        desk_chat=DESK.id,
        approval_timeout=3600,
    )
    fake_api.register_chat(DESK)
    async with running_bot(settings, fake_api) as running:
        fake_api.add_bot_to_channel(ADMIN, CHANNEL)
        await fake_api.wait_for(
            lambda m: m.chat_id == ADMIN.id and "/channels" in m.text, timeout=10
        )
        yield running


def client(bot: RunningBot, user: object = None) -> httpx.AsyncClient:
    headers = tma(bot.api.token, user)  # type: ignore[arg-type]
    return httpx.AsyncClient(base_url=bot.base_url, headers=headers, timeout=10)


async def held(bot: RunningBot, story: dict[str, str]) -> dict[str, Any]:
    """Publish `story` through the CMS API; its entry in the queue once the desk has it."""
    async with bot.client() as cms:
        created = await cms.post("/api/v1/stories", json=story)
    assert created.status_code == 201, created.text
    await bot.api.wait_for(lambda m: m.chat_id == DESK.id and story["title"] in m.text, timeout=10)
    async with client(bot) as api:
        answer = await until(
            lambda: api.get("/console/api/approvals"),
            lambda answer: any(
                item["headline"] == story["title"] and item["at_desk"]
                for item in answer.json().get("approvals", [])
            ),
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return next(a for a in answer.json()["approvals"] if a["headline"] == story["title"])


def in_channel(bot: RunningBot, title: str) -> bool:
    return any(title in (m.text or "") for m in bot.api.messages_to(CHANNEL.id))


def desk_shows(bot: RunningBot, words: str) -> bool:
    previews = [m for m in bot.api.messages_to(DESK.id) if m.method == "sendMessage"]
    for preview in previews:
        current = bot.api.current_message(DESK.id, preview.message_id)
        if current is not None and words in current.get("text", ""):
            return True
    return False


async def test_the_queue_lists_held_stories_and_approve_sends_one_to_the_channel(
    desk: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    item = await held(desk, APPROVED)
    assert item["section"] == "parliament"
    assert item["status"] == "pending"
    assert item["chat_count"] == 1
    assert [chat["id"] for chat in item["chats"]] == [CHANNEL.id]
    assert item["chats"][0]["title"]
    assert item["waited_seconds"] >= 0
    assert item["waiting_since"].endswith("Z") and item["expires_at"].endswith("Z")
    assert isinstance(item["story_id"], int) and "edition" in item
    # The story as the desk chat shows it: its headline escaped in Telegram's HTML.
    assert f"<b>{escape(APPROVED['title'])}</b>" in item["preview"]
    assert not in_channel(desk, APPROVED["title"])

    caplog.set_level(logging.INFO, logger="bot.entrypoints.http.console.approvals")
    async with client(desk) as api:
        answer = await api.post(
            f"/console/api/approvals/{item['id']}", json={"decision": "approve"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["approval"]["status"] == "approved"
        assert answer.json()["approval"]["id"] == item["id"]
        await desk.api.wait_for(
            lambda m: m.chat_id == CHANNEL.id and APPROVED["title"] in m.text, timeout=10
        )
        # The desk message in Telegram was edited to name the decision's editor.
        await desk.api.wait_until(
            lambda: desk_shows(desk, f"Approved by {EDITOR.first_name}"), timeout=10
        )
        # Decided: no longer in the queue, and a second decision is refused.
        queue = await api.get("/console/api/approvals")
        assert all(a["id"] != item["id"] for a in queue.json()["approvals"])
        again = await api.post(f"/console/api/approvals/{item['id']}", json={"decision": "skip"})
        assert again.status_code == 409, again.text
        assert "decided already" in again.json()["error"]
        assert again.json()["approval"]["status"] == "approved"
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("console.approvals")]
    assert lines == [
        f"console: approval {item['id']} (story {item['story_id']}) approved by editor "
        f"{EDITOR.id} ({EDITOR.first_name})"
    ]


async def test_skip_keeps_the_story_from_the_channel(desk: RunningBot) -> None:
    item = await held(desk, SKIPPED)
    async with client(desk) as api:
        answer = await api.post(f"/console/api/approvals/{item['id']}", json={"decision": "skip"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["approval"]["status"] == "skipped"
        await desk.api.wait_until(
            lambda: desk_shows(desk, f"Skipped by {EDITOR.first_name}"), timeout=10
        )
        twice = await api.post(f"/console/api/approvals/{item['id']}", json={"decision": "skip"})
        assert twice.status_code == 409, twice.text
    # A later story approved reaches the channel; the skipped one never did.
    item = await held(desk, APPROVED)
    async with client(desk) as api:
        answer = await api.post(
            f"/console/api/approvals/{item['id']}", json={"decision": "approve"}
        )
        assert answer.status_code == 200, answer.text
    await desk.api.wait_for(
        lambda m: m.chat_id == CHANNEL.id and APPROVED["title"] in m.text, timeout=10
    )
    assert not in_channel(desk, SKIPPED["title"])


async def test_bad_bodies_unknown_ids_and_non_editors(desk: RunningBot) -> None:
    item = await held(desk, APPROVED)
    path = f"/console/api/approvals/{item['id']}"
    async with client(desk) as api:
        for body in ({"decision": "publish"}, {}, {"decision": "approve", "x": 1}, [1]):
            answer = await api.post(path, json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert "error" in answer.json()
        answer = await api.post(path, content=b"{decision")
        assert answer.status_code == 422, answer.text
        for raw in ("999999", "abc", "99999999999999999999"):
            answer = await api.post(f"/console/api/approvals/{raw}", json={"decision": "approve"})
            assert answer.status_code == 404, answer.text
            assert answer.json() == {"error": "no such approval"}
    await desk.subscribe(READER)
    async with client(desk, READER) as api:
        assert (await api.get("/console/api/approvals")).status_code == 403
        refused = await api.post(path, json={"decision": "approve"})
        assert refused.status_code == 403, refused.text
        assert "error" in refused.json()
    async with client(desk) as api:
        queue = await api.get("/console/api/approvals")
    assert [a["status"] for a in queue.json()["approvals"] if a["id"] == item["id"]] == ["pending"]
    assert not in_channel(desk, APPROVED["title"])


async def test_the_desk_and_the_console_decide_once_between_them(desk: RunningBot) -> None:
    """Approved at the desk chat's button, the console refuses; skipped in the console, the
    desk's button is answered "already decided"."""
    item = await held(desk, APPROVED)
    preview = next(m for m in desk.api.messages_to(DESK.id) if APPROVED["title"] in (m.text or ""))
    desk.api.press_button(EDITOR, preview, f"ap:ok:{item['id']}")
    await desk.api.wait_for(
        lambda m: m.chat_id == CHANNEL.id and APPROVED["title"] in m.text, timeout=10
    )
    async with client(desk) as api:
        answer = await until(
            lambda: api.post(f"/console/api/approvals/{item['id']}", json={"decision": "skip"}),
            lambda answer: answer.status_code == 409,
        )
    assert answer.status_code == 409, answer.text
    assert answer.json()["approval"]["status"] == "approved"

    other = await held(desk, SKIPPED)
    async with client(desk) as api:
        skipped = await api.post(f"/console/api/approvals/{other['id']}", json={"decision": "skip"})
    assert skipped.status_code == 200, skipped.text
    preview = next(m for m in desk.api.messages_to(DESK.id) if SKIPPED["title"] in (m.text or ""))
    before = len(desk.api.callback_answers)
    desk.api.press_button(EDITOR, preview, f"ap:ok:{other['id']}")
    await desk.api.wait_until(lambda: len(desk.api.callback_answers) > before, timeout=10)
    assert desk.api.callback_answers[-1]["show_alert"]
    assert not in_channel(desk, SKIPPED["title"])
