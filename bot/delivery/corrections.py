"""Corrections: a story updated at the source after it was pushed is edited in place.

Each sent message remembers the story's content hash it showed; when the story's hash
changes (a corrected headline or summary), the message is re-rendered and edited with
editMessageText or editMessageCaption, paced like every other send. Telegram's refusals
mean what they mean to the sender (bot/delivery/outcomes.py): a 429 pauses every send and
leaves the rest for the next tick, a chat that is gone is marked inactive, a group that
became a supergroup moves; the edit itself is not retried except after network trouble.
Edits opt out of the request layer's own 429 retries (NO_RETRY), as the sender's sends do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.delivery.compose import Composer
from bot.delivery.outcomes import Outcome, Verdict, outcome_of
from bot.delivery.pacer import Pacer
from bot.outbound.message import OutgoingMessage
from bot.outbound.retry import NO_RETRY
from bot.outbound.send import keyboard, preview_options
from storage import delivery_results as outcome_queries
from storage import destinations as destination_queries
from storage import sent_messages as sent_queries
from storage.db import Database
from storage.sent_messages import StaleCopy

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
            copies = await sent_queries.stale_copies(session, self._clock() - EDIT_WINDOW, BATCH)
        edited = 0
        for copy in copies:
            message = await self._composer.story(
                copy.story_id,
                copy.language,
                copy.look,
                copy.chat_ref,
                approval_id=copy.approval_id,
                chat_id=copy.chat_id,
            )
            if message is None:
                continue
            try:
                await self._pacer.acquire(copy.chat_id, copy.chat_kind)
                await self._edit(copy, message)
            except Exception as exc:
                outcome = outcome_of(exc)
                if outcome.verdict is Verdict.RATE_LIMITED:
                    self._pacer.pause(outcome.retry_after)
                    break  # the rest waits for the next tick
                if outcome.verdict is Verdict.TRANSIENT:  # try again next tick
                    log.info("editing in chat %s failed: %s", copy.chat_id, outcome.reason)
                    continue
                await self._refused(copy, outcome)
            async with self._db.writing(), self._db.sessions.begin() as session:
                await sent_queries.mark_edited(session, copy.delivery_id, copy.content_hash)
            edited += 1
        return edited

    async def _refused(self, copy: StaleCopy, outcome: Outcome) -> None:
        """An edit refused for good: the copy stays as it is (and is not tried again)."""
        if "not modified" in outcome.reason.lower():
            return
        log.info("cannot edit message in chat %s: %s", copy.chat_id, outcome.reason)
        now = self._clock()
        async with self._db.writing(), self._db.sessions.begin() as session:
            if outcome.verdict is Verdict.GONE:
                await outcome_queries.chat_gone(session, copy.chat_id, outcome.reason, now)
            elif outcome.verdict is Verdict.MIGRATED and outcome.new_chat_id is not None:
                # The message stays in the old group, which takes no edits: only the chat moves.
                await destination_queries.move_chat(session, copy.chat_id, outcome.new_chat_id, now)

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
                    rate_limit_args=NO_RETRY,
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
            rate_limit_args=NO_RETRY,
        )
