"""The console's "send a test" and delivery history for a chat's admins (issue 24) over real
HTTP, with the fake Bot API: the latest story reaches the channel with its saved settings
and a second test within the minute is 429, Telegram's refusal is a 502 with its reason, a
member who is no admin is refused (403), and the history lists the chat's sent and failed
deliveries with their reasons, newest first, its limit checked."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from storage import destinations
from storage.models import Delivery, Destination, Story
from storage.states import DeliveryStatus
from tests.entrypoints.http.conftest import READER, RunningBot
from tests.entrypoints.http.test_console_channels import (
    ALMATY,
    SENATE,
    admins,
    client,
    feed_urls,
)
from tests.entrypoints.telegram.conftest import ADMIN, CHANNEL

__all__ = ["admins", "feed_urls"]  # the fixtures, shared with test_console_channels.py

TEST = f"/console/api/chats/{CHANNEL.id}/test"
HISTORY = f"/console/api/chats/{CHANNEL.id}/history"


async def deliveries(bot: RunningBot) -> int:
    async with bot.database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Delivery)) or 0)


async def test_a_test_sends_the_latest_story_once_a_minute(
    admins: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    before = await deliveries(admins)
    async with client(admins, ADMIN) as api:
        saved = await api.put(
            f"/console/api/chats/{CHANNEL.id}/settings",
            json={"template": "<b>TEST: {{ title }}</b>"},
        )
        assert saved.status_code == 200, saved.text
        with caplog.at_level(logging.INFO, logger="bot.entrypoints.http.console.chat_activity"):
            first = await api.post(TEST)
        again = await api.post(TEST)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["sent"] is True and isinstance(body["message_id"], int)
        (message,) = [
            m for m in admins.api.messages_to(CHANNEL.id) if m.message_id == body["message_id"]
        ]
        assert f"<b>TEST: {SENATE}</b>" in message.text
        async with admins.database.sessions() as session:
            story = await session.get(Story, body["story_id"])
        assert story is not None and story.title == SENATE
        assert again.status_code == 429 and again.json()["error"]
        assert 1 <= int(again.headers["Retry-After"]) <= 60
        # A minute later (the stored test time 61 s back), another test goes.
        async with admins.database.sessions.begin() as session:
            await session.execute(
                update(Destination)
                .where(Destination.chat_id == CHANNEL.id)
                .values(last_test_at=datetime.now(UTC) - timedelta(seconds=61))
            )
        third = await api.post(TEST)
    assert third.status_code == 200, third.text
    # A test is no delivery: the outbox is as it was.
    assert await deliveries(admins) == before
    lines = [r.getMessage() for r in caplog.records if "sent a test" in r.getMessage()]
    assert lines == [
        f"console: user {ADMIN.id} sent a test of story {body['story_id']} to chat {CHANNEL.id}"
    ]


async def test_telegram_refusing_a_test_is_a_502_with_its_reason(admins: RunningBot) -> None:
    admins.api.inject_failures(status=403, ratio=1.0, count=1)
    async with client(admins, ADMIN) as api:
        refused = await api.post(TEST)
    assert refused.status_code == 502, refused.text
    assert "injected failure" in refused.json()["error"]


async def test_no_story_for_the_chat_is_a_404(admins: RunningBot) -> None:
    async with client(admins, ADMIN) as api:
        await api.put(
            f"/console/api/chats/{CHANNEL.id}/settings", json={"include": ["nothing like it"]}
        )
        none = await api.post(TEST)
        # Finding no story spends no minute.
        await api.put(f"/console/api/chats/{CHANNEL.id}/settings", json={"include": []})
        sent = await api.post(TEST)
    assert none.status_code == 404 and none.json() == {"error": "no story for this chat yet"}
    assert sent.status_code == 200, sent.text


async def test_a_member_who_is_no_admin_gets_403(admins: RunningBot) -> None:
    async with client(admins, READER) as api:
        test = await api.post(TEST)
        history = await api.get(HISTORY)
    assert test.status_code == history.status_code == 403
    assert test.json() == history.json() == {"error": "you do not administer this chat"}
    assert admins.api.messages_to(CHANNEL.id) == []


async def test_the_history_lists_sent_and_failed_deliveries_newest_first(
    admins: RunningBot,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with admins.database.writing(), admins.database.sessions.begin() as session:
        chat = await destinations.get_by_chat(session, CHANNEL.id)
        assert chat is not None
        ids = {story.title: story.id for story in (await session.scalars(select(Story))).all()}
        session.add(
            Delivery(
                destination_id=chat.id,
                story_id=ids[ALMATY],
                status=DeliveryStatus.SENT,
                next_attempt_at=now,
                created_at=now - timedelta(minutes=5),
                sent_at=now - timedelta(minutes=4),
                chat_id=CHANNEL.id,
                message_id=9001,
            )
        )
        await session.flush()
        session.add(
            Delivery(
                destination_id=chat.id,
                story_id=ids[SENATE],
                status=DeliveryStatus.FAILED,
                attempts=1,
                next_attempt_at=now,
                created_at=now - timedelta(minutes=2),
                last_error="Bad Request: message is too long",
            )
        )
    async with client(admins, ADMIN) as api:
        answer = await api.get(HISTORY)
        one = await api.get(HISTORY, params={"limit": "1"})
        bad = [await api.get(HISTORY, params={"limit": v}) for v in ("0", "101", "x", "-1")]
    assert answer.status_code == 200, answer.text
    failed, sent = answer.json()["deliveries"]
    assert failed["story_id"] == ids[SENATE] and failed["headline"] == SENATE
    assert failed["status"] == "failed" and failed["outcome"] == "failed"
    assert failed["reason"] == "Bad Request: message is too long" and failed["sent"] is None
    assert sent["story_id"] == ids[ALMATY] and sent["headline"] == ALMATY
    assert sent["status"] == "sent" and sent["outcome"] == "sent" and sent["reason"] is None
    assert sent["queued"].endswith("Z") and sent["sent"].endswith("Z")
    assert one.json()["deliveries"] == [failed]
    for refused in bad:
        assert refused.status_code == 422 and "limit" in refused.json()["error"]
