"""Feed-failure alerts through the real bot: a feed served by the local feed server fails, the
poller records it, and the alerts service tells the editors through the fake Bot API, once
past `feed_alert_after`, once more when the feed answers again, nothing in between. On
SQLite and PostgreSQL; the alerts' clock is moved forward instead of waiting half an hour."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.setup.core import open_core
from bot.setup.jobs import schedule_polling
from bot.setup.telegram_side import FEED_ALERTS_JOB_ID
from storage.models import Feed
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    EDITOR,
    Newsroom,
    fake_api,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeChat, SentMessage
from tests.fakes.conversation import ask
from tests.fakes.feed_server import FeedServer, fixture_bytes

__all__ = ["fake_api"]

DESK = FakeChat(id=-1009000000077, type="supergroup", title="Newsroom desk")
PATH = "/rss/en.xml"
TITLE = "Kazinform International News Agency"
AFTER = 30 * 60


@pytest.fixture
def feed_url(feed_server: FeedServer) -> str:
    return feed_server.add(PATH, fixture_bytes("en_rss2.xml"), etag='"v1"')


def start(
    tmp_path: Path,
    database_url: str,
    api: FakeBotAPI,
    feeds: FeedServer,
    url: str,
    **extra: Any,
):  # type: ignore[no-untyped-def]
    settings = newsroom_settings(
        tmp_path, api, [url], database_url=database_url, feed_alert_after=AFTER, **extra
    )
    return running_newsroom(settings, api, feeds)


@pytest.fixture
async def desk_newsroom(
    tmp_path: Path, database_url: str, fake_api: FakeBotAPI, feed_server: FeedServer, feed_url: str
) -> AsyncIterator[Newsroom]:
    fake_api.register_chat(DESK)
    async with start(
        tmp_path, database_url, fake_api, feed_server, feed_url, desk_chat=DESK.id
    ) as newsroom:
        await newsroom.poll()  # read once: the feed's title is known
        yield newsroom


def later(minutes: float) -> Callable[[], datetime]:
    """The alerts' clock, `minutes` from now (the poller keeps the real one)."""
    moment = datetime.now(UTC) + timedelta(minutes=minutes)
    return lambda: moment


async def check(newsroom: Newsroom, minutes: float) -> int:
    """One run of the alerts job, `minutes` after the real clock."""
    newsroom.side.feed_alerts._clock = later(minutes)
    return await newsroom.side.feed_alerts.run()


def alerts_in(api: FakeBotAPI, chat_id: int) -> list[SentMessage]:
    return api.messages_to(chat_id)


async def test_a_feed_down_past_the_threshold_is_told_once_then_its_recovery(
    desk_newsroom: Newsroom, feed_server: FeedServer, feed_url: str
) -> None:
    newsroom, api = desk_newsroom, desk_newsroom.api
    feed_server.fail(PATH, "status", code=503)
    await newsroom.poll()
    assert await check(newsroom, 29) == 0  # failing, not for long enough yet
    assert alerts_in(api, DESK.id) == []

    assert await check(newsroom, 31) == 1
    [down] = alerts_in(api, DESK.id)
    assert down.parse_mode == "HTML"
    assert f"“{TITLE}” {feed_url}" in down.plain_text
    assert "http_5xx: HTTP 503 Service Unavailable" in down.plain_text
    assert "Down for: 31 minutes" in down.plain_text

    for minutes in (32, 60, 600):  # it keeps failing: nothing in between
        await newsroom.poll()
        assert await check(newsroom, minutes) == 0
    assert len(alerts_in(api, DESK.id)) == 1

    feed_server.add(PATH, fixture_bytes("en_rss2.xml"), etag='"v2"')
    await newsroom.poll()
    assert await check(newsroom, 0) == 1
    back = alerts_in(api, DESK.id)[-1]
    assert f"A feed works again: “{TITLE}” {feed_url}" in back.plain_text
    assert "It was down for " in back.plain_text

    await newsroom.poll()
    assert await check(newsroom, 120) == 0
    assert len(alerts_in(api, DESK.id)) == 2


async def test_the_alert_is_sent_once_across_a_restart_and_a_second_instance(
    tmp_path: Path,
    database_url: str,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_url: str,
) -> None:
    fake_api.register_chat(DESK)
    feed_server.fail(PATH, "status", code=500)
    args = (tmp_path, database_url, fake_api, feed_server, feed_url)
    async with start(*args, desk_chat=DESK.id) as first:
        await first.poll()
        async with start(*args, desk_chat=DESK.id) as second:  # another instance, same database
            counts = [await check(first, 31), await check(second, 31)]
    assert counts == [1, 0]
    async with start(*args, desk_chat=DESK.id) as restarted:
        await restarted.poll()
        assert await check(restarted, 45) == 0
    assert len(alerts_in(fake_api, DESK.id)) == 1


async def test_a_failure_shorter_than_the_threshold_sends_nothing(
    desk_newsroom: Newsroom, feed_server: FeedServer
) -> None:
    newsroom = desk_newsroom
    feed_server.fail(PATH, "reset")
    await newsroom.poll()
    assert await check(newsroom, 20) == 0
    feed_server.add(PATH, fixture_bytes("en_rss2.xml"), etag='"v2"')
    await newsroom.poll()  # it answers again before the threshold
    for minutes in (31, 90):
        assert await check(newsroom, minutes) == 0
    assert alerts_in(newsroom.api, DESK.id) == []


async def test_without_a_desk_chat_each_editor_is_told_privately_in_their_language(
    tmp_path: Path,
    database_url: str,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_url: str,
) -> None:
    args = (tmp_path, database_url, fake_api, feed_server, feed_url)
    async with start(*args, editors=[EDITOR.id, ADMIN.id]) as newsroom:
        await ask(fake_api, EDITOR, "/start")  # Kazakh Telegram: the bot speaks Kazakh to her
        before = {user.id: len(fake_api.messages_to(user.id)) for user in (EDITOR, ADMIN)}
        await newsroom.poll()
        feed_server.fail(PATH, "status", code=404)
        await newsroom.poll()
        assert await check(newsroom, 95) == 1
        await newsroom.poll()
        assert await check(newsroom, 100) == 0
        feed_server.add(PATH, fixture_bytes("en_rss2.xml"), etag='"v2"')
        await newsroom.poll()
        assert await check(newsroom, 0) == 1
    kazakh = fake_api.messages_to(EDITOR.id)[before[EDITOR.id] :]
    english = fake_api.messages_to(ADMIN.id)[before[ADMIN.id] :]
    assert len(kazakh) == len(english) == 2
    assert "Жаңалықтар таспасы істемей тұр" in kazakh[0].plain_text
    assert "1 сағат 35 минут" in kazakh[0].plain_text
    assert "http_4xx: HTTP 404 Not Found" in kazakh[0].plain_text
    assert "қайта істеп тұр" in kazakh[1].plain_text
    assert "Down for: 1 hour 35 minutes" in english[0].plain_text
    assert "works again" in english[1].plain_text


async def test_an_alert_nobody_got_for_a_passing_reason_is_tried_again(
    desk_newsroom: Newsroom, feed_server: FeedServer
) -> None:
    newsroom, api = desk_newsroom, desk_newsroom.api
    feed_server.fail(PATH, "status", code=503)
    await newsroom.poll()
    api.inject_failures(status=502, ratio=1.0, count=1)
    assert await check(newsroom, 31) == 0  # Telegram answered 502: given back
    assert alerts_in(api, DESK.id) == []
    api.clear_failures()
    assert await check(newsroom, 31.5) == 1
    assert len(alerts_in(api, DESK.id)) == 1


async def test_an_error_is_shown_escaped(desk_newsroom: Newsroom, feed_server: FeedServer) -> None:
    """A feed's error text is the outside world's: it reaches Telegram as text, not markup."""
    newsroom = desk_newsroom
    async with newsroom.core.database.sessions.begin() as session:
        feed = (await session.scalars(select(Feed))).one()
        feed.title = "<b>Kaz</b> & Co"
    feed_server.fail(PATH, "status", code=503)
    await newsroom.poll()
    assert await check(newsroom, 31) == 1
    [down] = alerts_in(newsroom.api, DESK.id)
    assert "&lt;b&gt;Kaz&lt;/b&gt; &amp; Co" in down.text
    assert "“<b>Kaz</b> & Co”" in down.plain_text


async def test_the_check_runs_only_once_telegram_answers(
    tmp_path: Path,
    database_url: str,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_url: str,
    desk_newsroom: Newsroom,
) -> None:
    """The Telegram side adds the job; the feeds-only core (no token) has none, and its
    failing feeds are never marked as told."""
    assert desk_newsroom.scheduler.get_job(FEED_ALERTS_JOB_ID) is not None
    settings = newsroom_settings(
        tmp_path, fake_api, [feed_url], database_url=database_url, telegram_bot_token=None
    )
    feed_server.fail(PATH, "status", code=503)
    async with open_core(settings) as core:
        scheduler = AsyncIOScheduler(timezone=UTC)
        await schedule_polling(core, scheduler)
        assert scheduler.get_job(FEED_ALERTS_JOB_ID) is None
        await core.poller.poll_all()
        async with core.database.sessions() as session:
            feed = (await session.scalars(select(Feed))).one()
    assert feed.failing_since is not None and feed.alerted_since is None
