"""Pace and quiet hours through the outbox to the fake Bot API: a chat over its hourly cap gets
one "More news" roundup when the window allows; quiet hours go silent or hold until their
end; breaking news always sounds and never waits. The sender's clock is the test's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain import channel_rules as rules
from bot.domain.trace import Outcome
from bot.services.trace import StoryTraces
from storage import channel_rules as desk
from storage import destinations
from storage.destinations import ChatInfo
from storage.models import Delivery
from storage.states import DeliveryStatus
from tests.entrypoints.telegram.conftest import (
    Newsroom,
    newsroom_settings,
    queue_breaking,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeChat, SentMessage
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

ALMATY = ZoneInfo("Asia/Almaty")
RU_CHANNEL = FakeChat(-1002000000001, "channel", title="Хабар")
KK_CHANNEL = FakeChat(-1002000000002, "channel", title="Хабар kk")
TITLES = ['Tax & "fees" law adopted', "Senate meets", "Budget <2027>", "Metro opens", "Snow"]
ROUNDUP = {"ru": "<b>Ещё новости</b>", "kk": "<b>Тағы жаңалықтар</b>"}


class Clock:
    """The sender's clock: real time moved by `offset`, so its own short waits still pass."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, moment: datetime) -> None:
        self.offset = moment - datetime.now(UTC)


@pytest.fixture
async def newsroom(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    url = feed_server.add("/en.xml", rss([]))
    settings = newsroom_settings(tmp_path, fake_api, [url])
    async with running_newsroom(settings, fake_api, feed_server) as running:
        await running.poll()
        yield running


@pytest.fixture
def clock(newsroom: Newsroom) -> Clock:
    clock = Clock()
    newsroom.side.sender._clock = clock
    return clock


async def paced_channel(
    newsroom: Newsroom, chat: FakeChat, language: str, pace: rules.DeskPace
) -> None:
    newsroom.api.register_chat(chat)
    now = datetime.now(UTC)
    async with newsroom.core.database.sessions.begin() as session:
        info = ChatInfo(chat.id, "channel", chat.title, language=language, editions=("en",))
        destination = await destinations.ensure_destination(session, info, now)
        await destinations.subscribe(session, destination.id, "parliament", now)
        settings = rules.DeskSettings(rules.DeskRules(destination.id, 0), pace=pace)
        await desk.write_rules(session, destination.id, settings, now)


async def publish(newsroom: Newsroom, titles: list[str], prefix: str = "s") -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    items = [
        Item(f"{prefix}{n}", title, now - timedelta(seconds=len(titles) - n))
        for n, title in enumerate(titles)
    ]
    newsroom.feeds.add("/en.xml", rss(items))
    await newsroom.poll()


async def deliver_due(newsroom: Newsroom, clock: Clock, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Tick until nothing is due within a few seconds of the clock (held rows wait)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await newsroom.deliver()
        async with newsroom.core.database.sessions() as session:
            due = await session.scalar(
                select(Delivery.id).where(
                    Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
                    Delivery.next_attempt_at <= clock() + timedelta(seconds=5),
                )
            )
        if due is None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("deliveries still due")


async def held(newsroom: Newsroom, chat: FakeChat) -> list[datetime]:
    """When each of the chat's held stories is due (queued roundup rows)."""
    async with newsroom.core.database.sessions() as session:
        destination = await destinations.get_by_chat(session, chat.id)
        assert destination is not None
        rows = await session.scalars(
            select(Delivery.next_attempt_at).where(
                Delivery.destination_id == destination.id,
                Delivery.status == DeliveryStatus.QUEUED,
                Delivery.roundup.is_(True),
            )
        )
        return list(rows)


def roundups(messages: list[SentMessage], language: str) -> list[SentMessage]:
    return [m for m in messages if m.text.startswith(ROUNDUP[language])]


def headlines(messages: list[SentMessage]) -> list[str]:
    """Every headline the chat saw, alone or in a roundup (as sent: escaped)."""
    found = []
    for message in messages:
        found.extend(escape(title) for title in TITLES if escape(title) in message.text)
    return found


async def test_over_the_cap_stories_go_in_one_roundup_when_the_hour_allows(
    newsroom: Newsroom, clock: Clock
) -> None:
    pace = rules.DeskPace(max_posts_per_hour=2)
    await paced_channel(newsroom, RU_CHANNEL, "ru", pace)
    await paced_channel(newsroom, KK_CHANNEL, "kk", pace)
    await publish(newsroom, TITLES)
    await deliver_due(newsroom, clock)
    for chat in (RU_CHANNEL, KK_CHANNEL):
        first = newsroom.api.messages_to(chat.id)
        assert len(first) == 2 and not roundups(first, "ru") + roundups(first, "kk")
        waits = await held(newsroom, chat)
        assert len(waits) == 3 and all(
            timedelta(minutes=59) < at - clock() <= timedelta(hours=1) for at in waits
        )
    clock.offset += timedelta(minutes=59)
    await deliver_due(newsroom, clock)
    assert len(newsroom.api.messages_to(RU_CHANNEL.id)) == 2  # the hour is not over yet
    clock.offset += timedelta(minutes=2)
    await deliver_due(newsroom, clock)
    for chat, language in ((RU_CHANNEL, "ru"), (KK_CHANNEL, "kk")):
        messages = newsroom.api.messages_to(chat.id)
        assert len(messages) == 3
        [roundup] = roundups(messages, language)
        assert roundup is messages[-1] and roundup.text.count("• ") == 3
        assert not roundup.disable_notification
        assert sorted(headlines(messages)) == sorted(escape(title) for title in TITLES)
        assert await held(newsroom, chat) == []
    async with newsroom.core.database.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.chat_id, Delivery.message_id, Delivery.status).where(
                    Delivery.chat_id == RU_CHANNEL.id
                )
            )
        ).all()
    assert {status for *_, status in rows} == {DeliveryStatus.SENT}
    assert len({message_id for _, message_id, _ in rows}) == 3  # the roundup's 3 rows: one id


async def test_without_roundups_the_stories_over_the_cap_are_left_out_saying_why(
    newsroom: Newsroom, clock: Clock
) -> None:
    """A capped chat that takes no roundups gets its cap and no more: the rest are skipped
    (never held, never sent later), and the trace says why."""
    await paced_channel(
        newsroom, RU_CHANNEL, "ru", rules.DeskPace(max_posts_per_hour=2, roundup=False)
    )
    await publish(newsroom, TITLES)
    await deliver_due(newsroom, clock)
    assert len(newsroom.api.messages_to(RU_CHANNEL.id)) == 2
    assert await held(newsroom, RU_CHANNEL) == []
    clock.offset += timedelta(hours=2)
    await deliver_due(newsroom, clock)
    messages = newsroom.api.messages_to(RU_CHANNEL.id)
    assert len(messages) == 2 and not roundups(messages, "ru")
    async with newsroom.core.database.sessions() as session:
        destination = await destinations.get_by_chat(session, RU_CHANNEL.id)
        assert destination is not None
        rows = (
            await session.execute(
                select(
                    Delivery.story_id, Delivery.status, Delivery.last_error, Delivery.attempts
                ).where(Delivery.destination_id == destination.id)
            )
        ).all()
    skipped = [row for row in rows if row.status == DeliveryStatus.SKIPPED]
    assert len(skipped) == 3 and {row.attempts for row in skipped} == {0}
    assert all("takes no roundups" in (row.last_error or "") for row in skipped)
    found = await StoryTraces(newsroom.core.database).trace(skipped[0].story_id)
    assert found is not None
    [chat] = [chat for chat in found.chats if chat.chat_id == RU_CHANNEL.id]
    assert chat.outcome is Outcome.SKIPPED and "pace" in (chat.reason or "")


async def test_a_roundup_counts_as_one_post(newsroom: Newsroom, clock: Clock) -> None:
    await paced_channel(newsroom, RU_CHANNEL, "ru", rules.DeskPace(max_posts_per_hour=2))
    await publish(newsroom, TITLES[:3])
    await deliver_due(newsroom, clock)
    clock.offset += timedelta(minutes=61)
    await deliver_due(newsroom, clock)  # the third story: alone, as itself
    await publish(newsroom, TITLES[3:], prefix="later")
    await deliver_due(newsroom, clock)  # one more fits (the first two are an hour old)
    messages = newsroom.api.messages_to(RU_CHANNEL.id)
    assert len(messages) == 4 and not roundups(messages, "ru")
    assert len(await held(newsroom, RU_CHANNEL)) == 1


def tonight(hour: int, minute: int = 0) -> datetime:
    today = datetime.now(ALMATY).date()
    return datetime(today.year, today.month, today.day, hour, minute, tzinfo=ALMATY)


async def test_quiet_hours_silent_send_without_sound_but_breaking_news_sounds(
    newsroom: Newsroom, clock: Clock
) -> None:
    pace = rules.DeskPace(quiet_hours="23:00-07:00", quiet_mode="silent")
    await paced_channel(newsroom, RU_CHANNEL, "ru", pace)
    clock.set(tonight(23, 30))
    await publish(newsroom, TITLES[:1])
    await queue_breaking(newsroom, "Breaking: quiet test")
    await deliver_due(newsroom, clock)
    messages = newsroom.api.messages_to(RU_CHANNEL.id)
    [alert] = [m for m in messages if "quiet test" in m.text]
    [story] = [m for m in messages if escape(TITLES[0]) in m.text]
    assert escape(TITLES[0]) in story.text and story.disable_notification
    assert "quiet test" in alert.text and not alert.disable_notification
    clock.set(tonight(12))
    await publish(newsroom, TITLES[1:2], prefix="noon")
    await deliver_due(newsroom, clock)
    noon = newsroom.api.messages_to(RU_CHANNEL.id)[-1]
    assert escape(TITLES[1]) in noon.text and not noon.disable_notification


async def test_quiet_hours_hold_keeps_stories_for_one_roundup_at_their_end(
    newsroom: Newsroom, clock: Clock
) -> None:
    pace = rules.DeskPace(quiet_hours="23:00-07:00", quiet_mode="hold")
    await paced_channel(newsroom, RU_CHANNEL, "ru", pace)
    await paced_channel(newsroom, KK_CHANNEL, "kk", pace)
    clock.set(tonight(23, 30))
    await publish(newsroom, TITLES[:3])
    await queue_breaking(newsroom, "Breaking: night test")
    await deliver_due(newsroom, clock)
    morning = tonight(7) + timedelta(days=1)
    for chat in (RU_CHANNEL, KK_CHANNEL):
        [alert] = newsroom.api.messages_to(chat.id)  # breaking news does not wait
        assert "night test" in alert.text and not alert.disable_notification
        assert await held(newsroom, chat) == [morning] * 3
    clock.set(morning - timedelta(minutes=1))
    await deliver_due(newsroom, clock)
    assert len(newsroom.api.messages_to(RU_CHANNEL.id)) == 1
    clock.set(morning + timedelta(seconds=1))
    await deliver_due(newsroom, clock)
    for chat, language in ((RU_CHANNEL, "ru"), (KK_CHANNEL, "kk")):
        alert, roundup = newsroom.api.messages_to(chat.id)
        assert roundup.text.startswith(ROUNDUP[language]) and not roundup.disable_notification
        assert sorted(headlines([roundup])) == sorted(escape(t) for t in TITLES[:3])


async def test_more_held_stories_than_a_roundup_lists_go_in_a_second_one(
    newsroom: Newsroom, clock: Clock
) -> None:
    from bot.outbound.bundle import BUNDLE_LIMIT as ROUNDUP_LIMIT

    pace = rules.DeskPace(quiet_hours="23:00-07:00", quiet_mode="hold")
    await paced_channel(newsroom, RU_CHANNEL, "ru", pace)
    clock.set(tonight(23, 30))
    many = [f"Night story {n:02}" for n in range(ROUNDUP_LIMIT + 3)]
    await publish(newsroom, many)
    await deliver_due(newsroom, clock)
    assert newsroom.api.messages_to(RU_CHANNEL.id) == []
    clock.set(tonight(7, 1) + timedelta(days=1))
    await deliver_due(newsroom, clock)
    first, second = newsroom.api.messages_to(RU_CHANNEL.id)
    assert first.text.count("• ") == ROUNDUP_LIMIT and second.text.count("• ") == 3
    listed = [title for title in many for m in (first, second) if title in m.text]
    assert sorted(listed) == many  # each exactly once


async def test_a_pace_declared_in_the_config_is_kept(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    url = feed_server.add("/en.xml", rss([]))
    channel = {"chat": RU_CHANNEL.id, "sections": ["parliament"], "max_posts_per_hour": 1}
    settings = newsroom_settings(tmp_path, fake_api, [url], channels=[channel])
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        clock = Clock()
        newsroom.side.sender._clock = clock
        await newsroom.poll()
        fake_api.register_chat(RU_CHANNEL)
        async with newsroom.core.database.sessions.begin() as session:  # the bot is added
            info = ChatInfo(RU_CHANNEL.id, "channel", RU_CHANNEL.title)
            await destinations.ensure_destination(session, info, datetime.now(UTC))
        await publish(newsroom, TITLES[:2])
        await deliver_due(newsroom, clock)
        assert len(fake_api.messages_to(RU_CHANNEL.id)) == 1
        assert len(await held(newsroom, RU_CHANNEL)) == 1
        clock.offset += timedelta(minutes=61)
        await deliver_due(newsroom, clock)
        messages = fake_api.messages_to(RU_CHANNEL.id)
        assert len(messages) == 2 and sorted(headlines(messages)) == sorted(
            escape(title) for title in TITLES[:2]
        )
