"""The console's breaking news over real HTTP, with the fake Bot API: the preview (each
version as it would be sent, user text escaped, the chats it would reach; nothing sent), the
send (the CMS's use case: each chat gets its edition), the progress per edition, the body
checks shared with the CMS API, and editors only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from storage.models import Alert, Delivery
from tests.entrypoints.http.conftest import READER, RunningBot, running_bot
from tests.entrypoints.http.console_helpers import console_settings, tma
from tests.entrypoints.http.test_console_api import until
from tests.entrypoints.telegram.conftest import ADMIN, CHANNEL, EDITOR, ENGLISH_READER
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer

VERSIONS = {
    "kk": "Алматыда <b>жер</b> сілкінісі",
    "ru": "В Алматы <b>землетрясение</b>",
    "en": "Earthquake <b>in</b> Almaty",
}
LINK = "https://news.example/quake"


@pytest.fixture
async def desk(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    """Three editions, the console on, a newsroom channel reading Kazakh."""
    channel = {"chat": CHANNEL.id, "sections": ["parliament"], "editions": ["kk"]}
    settings = console_settings(
        tmp_path, fake_api, feed_urls, editions=["kk", "ru", "en"], channels=[channel]
    )
    async with running_bot(settings, fake_api) as running:
        yield running


def client(bot: RunningBot, user: object = None) -> httpx.AsyncClient:
    headers = tma(bot.api.token, user)  # type: ignore[arg-type]
    return httpx.AsyncClient(base_url=bot.base_url, headers=headers, timeout=10)


async def alerts(bot: RunningBot) -> int:
    async with bot.database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Alert)) or 0)


async def audience(bot: RunningBot) -> None:
    """The channel (the bot added by its admin), a Russian and an English reader."""
    bot.api.add_bot_to_channel(ADMIN, CHANNEL)
    await bot.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text, timeout=10)
    await bot.subscribe(READER)
    await bot.subscribe(ENGLISH_READER)


def got(bot: RunningBot, chat_id: int) -> list[str]:
    return [
        m.text or ""
        for m in bot.api.messages_to(chat_id)
        if any(version.split()[0] in (m.text or "") for version in VERSIONS.values())
    ]


async def test_preview_renders_each_version_and_counts_its_chats_sending_nothing(
    desk: RunningBot,
) -> None:
    await audience(desk)
    async with client(desk) as api:
        answer = await api.post(
            "/console/api/breaking/preview", json={"texts": VERSIONS, "link": LINK}
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    by_edition = {version["edition"]: version for version in body["editions"]}
    assert [version["edition"] for version in body["editions"]] == ["kk", "ru", "en"]
    assert {edition: v["chats"] for edition, v in by_edition.items()} == {"kk": 1, "ru": 1, "en": 1}
    assert body["chats"] == 3
    # The editor's text is escaped: "<b>" is text, not markup.
    assert "Earthquake &lt;b&gt;in&lt;/b&gt; Almaty" in by_edition["en"]["html"]
    assert "<b>" in by_edition["en"]["html"]  # the ⚡ BREAKING head is the renderer's own markup
    assert by_edition["ru"]["buttons"] and by_edition["ru"]["buttons"][0][0]["url"] == LINK
    assert await alerts(desk) == 0
    assert not got(desk, READER.id) and not got(desk, CHANNEL.id)


async def test_send_reaches_each_chat_in_its_edition_and_progress_ends_done(
    desk: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await audience(desk)
    async with client(desk) as api:
        answer = await api.post("/console/api/breaking", json={"texts": VERSIONS, "link": LINK})
        assert answer.status_code == 201, answer.text
        alert_id = answer.json()["id"]
        assert answer.json()["queued"] == 3
        await desk.api.wait_until(
            lambda: got(desk, READER.id) and got(desk, ENGLISH_READER.id) and got(desk, CHANNEL.id),
            timeout=10,
        )

        async def progress() -> httpx.Response:
            return await api.get(f"/console/api/breaking/{alert_id}")

        done = await until(progress, lambda answer: answer.json().get("done"))
    assert done.status_code == 200, done.text
    sent = {"queued": 0, "sending": 0, "sent": 1, "failed": 0}
    assert done.json()["editions"] == {"kk": sent, "ru": sent, "en": sent}
    assert ["землетрясение" in text for text in got(desk, READER.id)] == [True]
    assert ["Earthquake" in text for text in got(desk, ENGLISH_READER.id)] == [True]
    assert ["сілкінісі" in text for text in got(desk, CHANNEL.id)] == [True]
    lines = [r.getMessage() for r in caplog.records if "console: breaking news" in r.getMessage()]
    assert lines == [f"console: breaking news {alert_id} by editor {EDITOR.id} queued for 3 chats"]
    async with desk.database.sessions() as session:
        alert = await session.get(Alert, alert_id)
    assert alert is not None and (alert.source, alert.editor_id) == ("console", EDITOR.id)
    # Rows queued before versions were recorded (migration 0016) are counted by their chats'
    # editions instead: the same progress.
    async with desk.database.sessions.begin() as session:
        await session.execute(
            update(Delivery).where(Delivery.alert_id == alert_id).values(version=None)
        )
    async with client(desk) as api:
        legacy = await api.get(f"/console/api/breaking/{alert_id}")
    assert legacy.json()["editions"] == {"kk": sent, "ru": sent, "en": sent}


async def test_the_session_lists_the_editions_to_write_in(desk: RunningBot) -> None:
    async with client(desk) as api:
        answer = await api.get("/console/api/session")
    assert answer.status_code == 200, answer.text
    assert answer.json()["editions"] == ["kk", "ru", "en"]


async def test_bad_bodies_are_422_with_the_reason_and_send_nothing(desk: RunningBot) -> None:
    cases = [
        ({"texts": {"kk": "Жаңалық", "de": "Nachricht"}}, "texts"),
        ({"texts": {}}, "texts"),
        ({"texts": {"ru": "   "}}, "texts.ru"),
        ({"texts": {"en": "x" * 3001}}, "texts.en"),
        ({"texts": {"en": "News"}, "link": "ftp://news.example/x"}, "link"),
        ({"texts": {"en": "News"}, "link": "https://"}, "link"),
        ({"texts": {"en": "News"}, "sections": ["parliament"]}, "sections"),
        ({"link": LINK}, "texts"),
    ]
    async with client(desk) as api:
        for path in ("/console/api/breaking/preview", "/console/api/breaking"):
            for body, field in cases:
                answer = await api.post(path, json=body)
                assert answer.status_code == 422, (path, body, answer.text)
                fields = [item["field"] for item in answer.json()["fields"]]
                assert field in fields, (body, answer.text)
                assert "Nachricht" not in answer.text  # the input is never echoed
            unknown = await api.post(path, json={"texts": {"kk": "Жаңалық", "de": "Nachricht"}})
            assert "'de' is not an edition" in unknown.text
            answer = await api.post(path, content=b"[1, 2")
            assert answer.status_code == 422, answer.text
    assert await alerts(desk) == 0


async def test_breaking_is_for_editors_only_and_unknown_ids_are_404(desk: RunningBot) -> None:
    await desk.subscribe(READER)
    async with client(desk, READER) as api:
        for path in ("/console/api/breaking/preview", "/console/api/breaking"):
            answer = await api.post(path, json={"texts": {"en": "News"}})
            assert answer.status_code == 403, answer.text
            assert "error" in answer.json()
        assert (await api.get("/console/api/breaking/1")).status_code == 403
    async with client(desk) as api:
        for raw in ("999", "abc", "99999999999999999999"):
            answer = await api.get(f"/console/api/breaking/{raw}")
            assert answer.status_code == 404, answer.text
            assert answer.json() == {"error": "no such breaking news"}
    assert await alerts(desk) == 0
    assert not got(desk, READER.id)
