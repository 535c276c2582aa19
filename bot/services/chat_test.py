""" "Send a test" for a chat's admins in the console (issue 24): the latest story the chat
would get, with its settings as saved, sent to the chat now.

The story and its message are the preview's (bot/services/channel_settings.py
`ChannelScreens.preview_with` with nothing changed: the sender's own composer); it goes out
through the sender's one-message path (bot/outbound/send.py `deliver`), into the story's forum
topic when the chat has one for its section (else the chat itself, a forum's General). It is
not a delivery: no outbox row is written, so the story is not marked delivered and will still
reach the chat the usual way. Once a minute per chat at most: the last test's time is kept
in this process (per instance; two instances could each send one in the same minute).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic

from telegram import Bot
from telegram.error import TelegramError

from bot.outbound.send import deliver
from bot.services.channel_settings import ChannelScreens
from storage import topics as topic_queries
from storage.db import Database
from storage.models import Destination

# At most one test per chat in this many seconds (issue 24: once a minute).
TEST_INTERVAL = 60.0
# Chats whose last test time is remembered at most (the oldest forgotten first).
MAX_CHATS = 10_000


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
    """Sends a chat's test message, at most one per chat per TEST_INTERVAL (this process)."""

    def __init__(
        self,
        database: Database,
        screens: ChannelScreens,
        bot: Bot,
        clock: Callable[[], float] = lambda: monotonic(),
    ) -> None:
        self._db = database
        self._screens = screens
        self._bot = bot
        self._clock = clock
        # destination id -> when its last test was started (clock seconds)
        self._last: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def _reserve(self, destination_id: int) -> float:
        """Take the chat's slot for a test now (TooSoon when its last was too recent)."""
        async with self._lock:
            now = self._clock()
            last = self._last.get(destination_id)
            if last is not None and now - last < TEST_INTERVAL:
                raise TooSoon(max(1, math.ceil(TEST_INTERVAL - (now - last))))
            self._last.pop(destination_id, None)
            self._last[destination_id] = now
            while len(self._last) > MAX_CHATS:
                del self._last[next(iter(self._last))]
            return now

    async def send(self, chat: Destination) -> SentTest:
        """Send the chat's latest story (TooSoon, NoStory, TelegramRefused). A refused send
        spends the minute too; finding no story does not."""
        taken = await self._reserve(chat.id)
        preview = await self._screens.preview_with(chat.id, lambda settings: settings)
        if preview.message is None or preview.story is None:
            if self._last.get(chat.id) == taken:
                del self._last[chat.id]
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
