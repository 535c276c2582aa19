"""The console's stats over real HTTP (a story sent to a reader shows in today's series and
the top stories), the window's bounds, and the bundled chart library under static/vendor/
(served by name; no path leaves static/)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from bot.services.console_stats import ConsoleStats
from tests.entrypoints.http.conftest import READER, RunningBot, running_bot
from tests.entrypoints.http.console_helpers import console_settings, tma
from tests.entrypoints.http.test_console_api import STORY, until
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer


@pytest.fixture
async def console(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    async with running_bot(console_settings(tmp_path, fake_api, feed_urls), fake_api) as running:
        yield running


def client(bot: RunningBot, user: object = None) -> httpx.AsyncClient:
    headers = tma(bot.api.token, user)  # type: ignore[arg-type]
    return httpx.AsyncClient(base_url=bot.base_url, headers=headers, timeout=10)


async def test_stats_count_todays_deliveries_and_the_top_stories(console: RunningBot) -> None:
    await console.subscribe(READER)
    async with console.client() as cms:
        created = await cms.post("/api/v1/stories", json=STORY)
    assert created.status_code == 201, created.text
    story_id = created.json()["id"]
    async with client(console) as api:
        # Sent as the outbox records it (the fake Bot API hears it a moment before): the
        # stats count a window once a minute, so the first call must already see it.
        await until(
            lambda: api.get(f"/console/api/stories/{story_id}/trace"),
            lambda answer: "sent" in answer.json().get("counts", {}),
        )
        answer = await api.get("/console/api/stats?days=7")
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        body = answer.json()
        assert set(body) == {"days", "series", "backlog", "top"}
        assert len(body["days"]) == 7 and body["days"] == sorted(body["days"])
        english = next(line for line in body["series"] if line["edition"] == "en")
        assert english["sent"][-1] >= 1
        assert len(english["sent"]) == len(english["failed"]) == 7
        assert set(body["backlog"]) == {"depth", "oldest_waiting"}
        assert isinstance(body["backlog"]["depth"], int)
        for story in body["top"]:
            assert set(story) == {
                "id", "headline", "section", "edition", "time", "reach", "reactions"
            }  # fmt: skip
        default = await api.get("/console/api/stats")
        assert default.status_code == 200 and len(default.json()["days"]) == 7
        for bad in ["0", "91", "abc", "-1", "", "1.5", "0900", "٣"]:
            refused = await api.get("/console/api/stats", params={"days": bad})
            assert refused.status_code == 422, (bad, refused.text)
            assert "days" in refused.json()["error"]
        assert (await api.get("/console/api/stats", params={"days": "90"})).status_code == 200


async def test_stats_are_for_editors_only(console: RunningBot) -> None:
    async with client(console, READER) as api:
        answer = await api.get("/console/api/stats")
    assert answer.status_code == 403 and "error" in answer.json()
    async with httpx.AsyncClient(base_url=console.base_url, timeout=10) as anonymous:
        assert (await anonymous.get("/console/api/stats")).status_code == 401


async def test_the_chart_library_is_served_from_vendor_and_nothing_else_is(
    console: RunningBot,
) -> None:
    async with httpx.AsyncClient(base_url=console.base_url, timeout=10) as web:
        script = await web.get("/console/static/vendor/uPlot.iife.min.js")
        assert script.status_code == 200
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert "uPlot" in script.text
        style = await web.get("/console/static/vendor/uPlot.min.css")
        assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
        for path in [
            "/console/static/vendor/uPlot.LICENSE",
            "/console/static/vendor/nothing.js",
            "/console/static/vendor/%2e%2e/console.js",
            "/console/static/%2e%2e/routes.py",
            "/console/static/..%2Fstatic.py",
            "/console/static/vendor//uPlot.min.css",
            "/console/static/index.html",
        ]:
            answer = await web.get(path)
            assert answer.status_code == 404, (path, answer.status_code)


async def test_an_editor_opening_the_console_has_the_stats_counted_ahead(
    console: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session call (the page's first) starts the default window's count in the
    background: the Stats tab, opened after, finds it made and waits for none."""
    windows: list[int] = []
    count = ConsoleStats._count

    async def counting(self: ConsoleStats, days: int, first: date) -> object:
        windows.append(days)
        return await count(self, days, first)

    monkeypatch.setattr(ConsoleStats, "_count", counting)
    async with httpx.AsyncClient(
        base_url=console.base_url, headers=tma(console.api.token, READER), timeout=10
    ) as reader:
        assert (await reader.get("/console/api/session")).status_code == 200
    await asyncio.sleep(0.3)
    assert windows == []  # a reader's session counts nothing
    async with httpx.AsyncClient(
        base_url=console.base_url, headers=tma(console.api.token), timeout=10
    ) as editor:
        assert (await editor.get("/console/api/session")).status_code == 200

        async def counted() -> list[int]:
            return list(windows)

        assert await until(counted, lambda found: found == [7]) == [7]
        answer = await editor.get("/console/api/stats?days=7")
    assert answer.status_code == 200 and windows == [7]
