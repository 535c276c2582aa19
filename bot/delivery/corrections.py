"""Corrections: a story updated at the source after it was pushed is edited in place.

Each sent message remembers the story's content hash it showed; when the story's hash
changes (a corrected headline or summary), the message is re-rendered and edited with
editMessageText or editMessageCaption, paced like every other send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.delivery.compose import Composer
from bot.delivery.pacing import Pacer
from bot.delivery.sender import retry_after_seconds
from bot.telegram.render import OutgoingMessage
from bot.telegram.send import keyboard, preview_options
from storage import deliveries as delivery_queries
from storage.db import Database
from storage.deliveries import StaleCopy

log = logging.getLogger(__name__)

# Corrections older than this are left alone: readers have moved on, and old messages may
# no longer be editable.
EDIT_WINDOW = timedelta(hours=48)
BATCH = 20


class Corrector:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        composer: Composer,
        pacer: Pacer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._bot = bot
        self._composer = composer
        self._pacer = pacer
        self._clock = clock

    async def edit_stale(self) -> int:
        """Edit one batch of outdated messages; returns how many were brought up to date."""
        async with self._db.sessions() as session:
            copies = await delivery_queries.stale_copies(
                session, self._clock() - EDIT_WINDOW, BATCH
            )
        edited = 0
        for copy in copies:
            message = await self._composer.story(copy.story_id, copy.language)
            if message is None:
                continue
            try:
                await self._pacer.acquire(copy.chat_id, copy.chat_kind)
                await self._edit(copy, message)
            except RetryAfter as exc:
                self._pacer.pause(retry_after_seconds(exc))
                break  # the rest waits for the next tick
            except (BadRequest, Forbidden) as exc:
                if "not modified" not in exc.message.lower():
                    log.info("cannot edit message in chat %s: %s", copy.chat_id, exc.message)
            except TelegramError as exc:  # network trouble: try again next tick
                log.info("editing in chat %s failed: %s", copy.chat_id, exc.message)
                continue
            async with self._db.writing(), self._db.sessions.begin() as session:
                await delivery_queries.mark_edited(session, copy.delivery_id, copy.content_hash)
            edited += 1
        return edited

    async def _edit(self, copy: StaleCopy, message: OutgoingMessage) -> None:
        markup = keyboard(message.buttons)
        if message.photo_url:
            try:
                await self._bot.edit_message_caption(
                    copy.chat_id,
                    copy.message_id,
                    caption=message.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
                return
            except BadRequest as exc:  # it went out as text after Telegram refused the photo
                if "no caption" not in exc.message.lower():
                    raise
        await self._bot.edit_message_text(
            message.text,
            copy.chat_id,
            copy.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=preview_options(message),
        )
