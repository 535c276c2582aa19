"""The console's pages for a chat's admins (issue 24) over real HTTP, with the fake Bot API:
who administers a chat is Telegram's word (a member is refused, a demoted admin within the
cache's minute), settings read and changed through the chat prompts' checks (a bad template
is a 422 with its reason and nothing stored), a template previewed on the chat's newest
story, the filter tester, and a config-managed chat read-only."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.domain.channel_rules import DeskSettings
from bot.services import chat_admins
from storage import channel_rules as desk_queries
from storage import destinations
from storage.models import Story
from tests.entrypoints.http.conftest import READER, RunningBot, running_bot
from tests.entrypoints.http.console_helpers import console_settings, tma
from tests.entrypoints.http.test_console_api import until
from tests.entrypoints.telegram.conftest import ADMIN, CHANNEL
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
ALMATY = "Almaty metro gets three new stations"
SENATE = "Senate passes the budget in the second reading"
BACKLOG = [
    Item("old-1", ALMATY, NOW - timedelta(hours=3)),
    Item("old-2", SENATE, NOW - timedelta(hours=2)),
]
MANAGED = FakeChat(id=-1001000000077, type="channel", title="Newsroom Channel")
SETTINGS = f"/console/api/chats/{CHANNEL.id}/settings"


@pytest.fixture
def feed_urls(feed_server: FeedServer) -> list[str]:
    return [feed_server.add("/rss/en.xml", rss(BACKLOG), etag='"v1"')]


@pytest.fixture
async def admins(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    """The console on; CHANNEL joined by its admin (reading parliament), READER a plain
    member of it; MANAGED a config channel the same admin administers; the backlog polled."""
    config = {"chat": MANAGED.id, "sections": ["parliament"]}
    settings = console_settings(tmp_path, fake_api, feed_urls, channels=[config])
    async with running_bot(settings, fake_api) as bot:
        bot.api.add_bot_to_channel(ADMIN, CHANNEL)
        await bot.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
        bot.api.add_bot_to_channel(ADMIN, MANAGED)
        bot.api.set_member(CHANNEL, READER, "member")

        async def joined() -> bool:
            async with bot.database.sessions() as session:
                chat = await destinations.get_by_chat(session, MANAGED.id)
                return chat is not None and chat.active

        assert await until(joined, bool)
        async with bot.database.writing(), bot.database.sessions.begin() as session:
            chat = await destinations.get_by_chat(session, CHANNEL.id)
            assert chat is not None
            await destinations.subscribe(session, chat.id, "parliament", NOW)

        async def stories() -> int:
            async with bot.database.sessions() as session:
                return int(await session.scalar(select(func.count()).select_from(Story)) or 0)

        assert await until(stories, lambda n: n >= 2) >= 2
        yield bot


def client(bot: RunningBot, user: FakeUser) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=bot.base_url, headers=tma(bot.api.token, user), timeout=30)


async def stored(bot: RunningBot, chat_id: int = CHANNEL.id) -> DeskSettings:
    async with bot.database.sessions() as session:
        chat = await destinations.get_by_chat(session, chat_id)
        assert chat is not None
        return await desk_queries.settings_of(session, chat.id)


async def test_the_session_lists_the_chats_the_user_administers(admins: RunningBot) -> None:
    async with client(admins, ADMIN) as api:
        session = (await api.get("/console/api/session")).json()
    chats = {chat["id"]: chat for chat in session["chats"]}
    assert chats[CHANNEL.id] == {"id": CHANNEL.id, "title": CHANNEL.title, "type": "channel"}
    assert MANAGED.id in chats
    async with client(admins, READER) as api:
        assert (await api.get("/console/api/session")).json()["chats"] == []


async def test_a_member_who_is_no_admin_and_an_unknown_chat_get_the_same_403(
    admins: RunningBot,
) -> None:
    async with client(admins, READER) as api:
        member = await api.get(SETTINGS)
        put = await api.put(SETTINGS, json={"summary": False})
        preview = await api.post(
            f"/console/api/chats/{CHANNEL.id}/preview", json={"template": "{{ title }}"}
        )
    async with client(admins, ADMIN) as api:
        unknown = await api.get("/console/api/chats/-1009999999999/settings")
        garbage = await api.get("/console/api/chats/abc/settings")
    for answer in (member, put, preview, unknown, garbage):
        assert answer.status_code == 403, answer.text
    assert member.json() == unknown.json() == {"error": "you do not administer this chat"}
    assert (await stored(admins)).format.summary is True


async def test_an_admin_demoted_during_a_session_is_refused_within_a_minute(
    admins: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client(admins, ADMIN) as api:
        first = await api.get(SETTINGS)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["managed_by_config"] is False and body["sections"] == ["parliament"]
        assert body["filters"]["include"] == [] and body["pace"]["quiet_mode"] == "silent"
        assert body["pace"]["roundup"] is True
        assert body["forum"] is False and body["topics"] == {}
        admins.api.set_member(CHANNEL, ADMIN, "member")
        # Telegram's answer is trusted for the minute it is cached...
        assert (await api.get(SETTINGS)).status_code == 200
        # ...and asked again after it: 61 s later the demoted admin is refused.
        later = time.monotonic() + 61
        monkeypatch.setattr(chat_admins, "monotonic", lambda: later)
        refused = await api.get(SETTINGS)
        put = await api.put(SETTINGS, json={"summary": False})
    assert refused.status_code == 403 and put.status_code == 403
    assert (await stored(admins)).format.summary is True


async def test_a_bad_template_is_422_with_its_reason_and_nothing_stored(
    admins: RunningBot,
) -> None:
    bad = "<b>{{ title }}</b>\n<i>{{ summary }}</b>"
    async with client(admins, ADMIN) as api:
        answer = await api.put(SETTINGS, json={"summary": False, "template": bad})
        preview = await api.post(f"/console/api/chats/{CHANNEL.id}/preview", json={"template": bad})
        quiet = await api.put(SETTINGS, json={"quiet_hours": "late at night"})
        regex = await api.put(SETTINGS, json={"exclude_regex": ["(unclosed"]})
        unknown = await api.put(SETTINGS, json={"colour": "red"})
    assert answer.status_code == 422 and "(line 2)" in answer.json()["error"]
    assert preview.status_code == 422 and "(line 2)" in preview.json()["error"]
    assert "message" not in preview.json()
    assert quiet.status_code == 422 and quiet.json()["error"]
    assert regex.status_code == 422 and "missing )" in regex.json()["error"]
    assert unknown.status_code == 422
    settings = await stored(admins)
    assert settings.format.template is None and settings.format.summary is True
    assert settings.pace.quiet_hours is None and not settings.filters.filtered


async def test_a_template_preview_renders_the_newest_story_storing_nothing(
    admins: RunningBot,
) -> None:
    async with client(admins, ADMIN) as api:
        answer = await api.post(
            f"/console/api/chats/{CHANNEL.id}/preview",
            json={"template": "<b>NEW: {{ title }}</b>"},
        )
        filtered = await api.post(
            f"/console/api/chats/{CHANNEL.id}/preview",
            json={"template": "<b>NEW: {{ title }}</b>", "include": ["Almaty"]},
        )
    assert answer.status_code == 200, answer.text
    assert "<b>NEW: " + SENATE + "</b>" in answer.json()["message"]["html"]
    assert ALMATY in filtered.json()["message"]["html"]
    assert (await stored(admins)).format.template is None


async def test_a_good_put_is_stored_logged_and_answered(
    admins: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    change: dict[str, Any] = {
        "template": "<b>NEW: {{ title }}</b>",
        "include": ["Almaty", "Astana"],
        "summary": False,
        "quiet_mode": "hold",
        "max_posts_per_hour": 5,
        "roundup": False,
    }
    with caplog.at_level(logging.INFO, logger="bot.entrypoints.http.console.channels"):
        async with client(admins, ADMIN) as api:
            answer = await api.put(SETTINGS, json=change)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["template"] == change["template"]
    assert body["filters"]["include"] == ["Almaty", "Astana"]
    assert body["format"]["summary"] is False and body["pace"]["quiet_mode"] == "hold"
    assert body["pace"]["max_posts_per_hour"] == 5 and body["pace"]["roundup"] is False
    settings = await stored(admins)
    assert settings.pace.roundup is False
    assert settings.format.template == change["template"]
    assert settings.filters.include == ("Almaty", "Astana")
    lines = [r.getMessage() for r in caplog.records if "changed" in r.getMessage()]
    assert lines == [
        f"console: user {ADMIN.id} changed include, max_posts_per_hour, quiet_mode, roundup,"
        f" summary, template of chat {CHANNEL.id}"
    ]
    async with client(admins, ADMIN) as api:
        same = await api.put(SETTINGS, json={})
        cleared = await api.put(SETTINGS, json={"template": None})
    assert same.status_code == 200 and same.json() == body
    assert cleared.json()["template"] is None
    assert (await stored(admins)).format.template is None


async def test_the_filter_test_sorts_the_newest_stories(admins: RunningBot) -> None:
    path = f"/console/api/chats/{CHANNEL.id}/filter-test"
    async with client(admins, ADMIN) as api:
        words = await api.post(path, json={"include": ["Almaty"]})
        patterns = await api.post(path, json={"exclude_regex": ["(?i)budget"]})
        everything = await api.post(path, json={})
        bad = await api.post(path, json={"include_regex": ["(unclosed"]})
    assert words.status_code == 200, words.text
    assert [s["headline"] for s in words.json()["passed"]] == [ALMATY]
    assert [s["headline"] for s in words.json()["stopped"]] == [SENATE]
    assert [s["headline"] for s in patterns.json()["stopped"]] == [SENATE]
    assert [s["headline"] for s in everything.json()["passed"]] == [SENATE, ALMATY]
    assert all(isinstance(s["id"], int) for s in everything.json()["passed"])
    assert bad.status_code == 422 and "missing )" in bad.json()["error"]
    assert not (await stored(admins)).filters.filtered


async def test_a_config_managed_chat_is_read_only(admins: RunningBot) -> None:
    path = f"/console/api/chats/{MANAGED.id}/settings"
    async with client(admins, ADMIN) as api:
        read = await api.get(path)
        write = await api.put(path, json={"summary": False})
    assert read.status_code == 200 and read.json()["managed_by_config"] is True
    assert write.status_code == 409 and "config" in write.json()["error"]
    assert (await stored(admins, MANAGED.id)).format.summary is True


async def test_the_next_story_arrives_in_the_saved_layout(
    admins: RunningBot, feed_server: FeedServer
) -> None:
    async with client(admins, ADMIN) as api:
        saved = await api.put(SETTINGS, json={"template": "<b>NEW: {{ title }}</b>"})
    assert saved.status_code == 200, saved.text
    fresh = Item("new-1", "Astana opens a new bridge", datetime.now(UTC))
    feed_server.add("/rss/en.xml", rss([fresh, *BACKLOG]), etag='"v2"')
    (sent,) = await admins.api.wait_for(
        lambda m: m.chat_id == CHANNEL.id and "Astana opens" in (m.text or ""), timeout=30
    )
    assert "<b>NEW: Astana opens a new bridge</b>" in sent.text
