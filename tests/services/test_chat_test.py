"""The console's test send is limited to one a minute per chat across instances: two
ChatTests (two processes' worth) on one database, asked in the same minute, send once; the
other waits for what is left of the minute (bot/services/chat_test.py over
storage/chat_tests.py). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Bot

from bot.config import Settings
from bot.outbound.i18n import Catalogues
from bot.services.channel_settings import ChannelScreens
from bot.services.chat_test import ChatTests, NoStory, TooSoon
from bot.services.related import RelatedStories
from storage import destinations
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Destination, Story

NOW = datetime(2026, 12, 6, 9, 0, 0, 250000, tzinfo=UTC)
CHAT = -1001000000001


class _Telegram:
    """Stands in for the Bot: records each message `deliver` sends and answers as Telegram."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def do_api_request(
        self, endpoint: str, api_kwargs: dict[str, Any], **_: object
    ) -> dict[str, Any]:
        self.sent.append(api_kwargs)
        return {"chat": {"id": api_kwargs["chat_id"]}, "message_id": len(self.sent)}


async def _chat(database: Database, *, story: bool = True) -> Destination:
    async with database.sessions.begin() as session:
        chat = await destinations.ensure_destination(
            session, ChatInfo(CHAT, "channel", "Partner", editions=("en",)), NOW
        )
        await destinations.subscribe(session, chat.id, "parliament", NOW)
        if story:
            session.add(
                Story(
                    identity="a",
                    link="https://example.kz/a",
                    title="Senate passes the budget",
                    summary="",
                    section="parliament",
                    edition="en",
                    published_at=NOW - timedelta(hours=1),
                    first_seen_at=NOW - timedelta(hours=1),
                    updated_at=NOW - timedelta(hours=1),
                    content_hash="h",
                    pushable=False,
                )
            )
    return chat


def _instance(database: Database, telegram: _Telegram, clock: list[datetime]) -> ChatTests:
    """One process's ChatTests: its own screens and clock, the shared database."""
    settings = Settings(sections=[{"slug": "parliament", "title": {"en": "Parliament"}}])
    screens = ChannelScreens(database, settings, Catalogues.load(), RelatedStories(database))
    bot: Bot = telegram  # type: ignore[assignment]
    return ChatTests(database, screens, bot, clock=lambda: clock[0])


async def test_two_instances_in_the_same_minute_send_once(database: Database) -> None:
    chat = await _chat(database)
    telegram = _Telegram()
    clock = [NOW]
    first, second = _instance(database, telegram, clock), _instance(database, telegram, clock)
    assert (await first.send(chat)).message_id == 1
    clock[0] = NOW + timedelta(seconds=20)
    with pytest.raises(TooSoon) as soon:
        await second.send(chat)
    assert soon.value.retry_after == 40
    clock[0] = NOW + timedelta(seconds=60)
    assert (await second.send(chat)).message_id == 2  # a minute on: the other may
    with pytest.raises(TooSoon) as soon:
        await first.send(chat)
    assert soon.value.retry_after == 60
    assert len(telegram.sent) == 2


async def test_instances_racing_get_exactly_one_winner(database: Database) -> None:
    chat = await _chat(database)
    telegram = _Telegram()
    clock = [NOW]
    instances = [_instance(database, telegram, clock) for _ in range(4)]
    outcomes = await asyncio.gather(*(i.send(chat) for i in instances), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["SentTest", *["TooSoon"] * 3]
    assert len(telegram.sent) == 1


async def test_a_clock_ahead_on_another_instance_never_means_more_than_a_minute(
    database: Database,
) -> None:
    chat = await _chat(database)
    telegram = _Telegram()
    ahead, behind = [NOW + timedelta(seconds=30)], [NOW]
    await _instance(database, telegram, ahead).send(chat)
    with pytest.raises(TooSoon) as soon:
        await _instance(database, telegram, behind).send(chat)
    assert soon.value.retry_after == 60


async def test_no_story_gives_the_minute_back(database: Database) -> None:
    chat = await _chat(database, story=False)
    telegram = _Telegram()
    clock = [NOW]
    with pytest.raises(NoStory):
        await _instance(database, telegram, clock).send(chat)
    with pytest.raises(NoStory):  # not TooSoon: the slot was released
        await _instance(database, telegram, clock).send(chat)
    assert telegram.sent == []
