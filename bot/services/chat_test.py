""" "Send a test" for a chat's admins in the console (issue 24): the latest story the chat
would get, with its settings as saved, sent to the chat now.

The story and its message are the preview's (bot/services/channel_settings.py
`ChannelScreens.preview_with` with nothing changed: the sender's own composer); it goes out
through the sender's one-message path (bot/outbound/send.py `deliver`), into the story's forum
topic when the chat has one for its section (else the chat itself, a forum's General). It is
not a delivery: no outbox row is written, so the story is not marked delivered and will still
reach the chat the usual way. Once a minute per chat at most, whichever instance is asked:
the last test's time is kept on the chat's row and the slot taken by one conditional UPDATE
(storage/chat_tests.py), so of two instances asked in the same minute exactly one sends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.outbound.send import deliver
from bot.services.channel_settings import ChannelScreens
from storage import chat_tests as test_queries
from storage import topics as topic_queries
from storage.db import Database
from storage.models import Destination

# At most one test per chat in this many seconds (issue 24: once a minute).
TEST_INTERVAL = timedelta(seconds=60)


class TooSoon(Exception):
    """A test was sent to the chat less than TEST_INTERVAL ago; retry after `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class NoStory(Exception):
    """None of the chat's recent stories passes its filters: nothing to send."""


class TelegramRefused(Exception):
    """Telegram refused the test message: `reason` is Telegram's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SentTest:
    story_id: int
    message_id: int


class ChatTests:
    """Sends a chat's test message, at most one per chat per TEST_INTERVAL (all instances)."""

    def __init__(
        self,
        database: Database,
        screens: ChannelScreens,
        bot: Bot,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._screens = screens
        self._bot = bot
        self._clock = clock

    async def _reserve(self, destination_id: int) -> datetime:
        """Take the chat's slot for a test now (TooSoon when its last was too recent)."""
        now = self._clock()
        async with self._db.writing(), self._db.sessions.begin() as session:
            last = await test_queries.reserve_test(session, destination_id, now, TEST_INTERVAL)
        if last is not None:
            # Another instance's clock may run ahead: never more than the interval to wait.
            wait = min(TEST_INTERVAL, TEST_INTERVAL - (now - last)).total_seconds()
            raise TooSoon(max(1, math.ceil(wait)))
        return now

    async def _release(self, destination_id: int, taken: datetime) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await test_queries.release_test(session, destination_id, taken)

    async def send(self, chat: Destination) -> SentTest:
        """Send the chat's latest story (TooSoon, NoStory, TelegramRefused). A refused send
        spends the minute too; finding no story does not."""
        taken = await self._reserve(chat.id)
        preview = await self._screens.preview_with(chat.id, lambda settings: settings)
        if preview.message is None or preview.story is None:
            await self._release(chat.id, taken)
            raise NoStory
        thread_id = None
        if chat.is_forum and preview.story.section:
            async with self._db.sessions() as session:
                topic = await topic_queries.topic_of(session, chat.id, preview.story.section)
            thread_id = topic.usable if topic is not None else None
        try:
            sent = await deliver(self._bot, chat.chat_id, preview.message, thread_id=thread_id)
        except TelegramError as exc:
            raise TelegramRefused(exc.message) from exc
        return SentTest(preview.story.id, sent.message_id)
