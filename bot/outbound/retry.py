"""The Bot API requests' rate limiter: Telegram's counters kept, 429s waited out for replies.

Every message the bot sends passes the `FloodGuard` (bot/outbound/flood_guard.py), so none runs
into Telegram's flood limits: not the fan-out's, and not a reader's /today asked while ten
thousand deliveries are queued (a reply goes before the fan-out's next message).

A reply that meets "retry after 1" all the same should arrive a second late rather than not
at all. Whoever meets a 429 (a reply or the fan-out), its chat is held for the retry_after
(`FloodGuard.hold`): no request of any kind goes to that chat before it is over. The sender
must see every 429 itself (to pause the whole pace and requeue), so its requests opt out of
retries with `rate_limit_args=NO_RETRY`, which also marks them as the fan-out (not urgent).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.outbound.flood_guard import FloodGuard

log = logging.getLogger(__name__)

NO_RETRY = -1
RETRIES = 3

# Methods that create a message: what Telegram's flood limits count (method names are
# case-insensitive in the Bot API, so they are compared in lower case).
COUNTED = frozenset(
    name.lower()
    for name in (
        "sendMessage",
        "sendPhoto",
        "sendAudio",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendPaidMedia",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendChecklist",
        "sendDice",
        "sendSticker",
        "sendInvoice",
        "sendGame",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    )
)


def retry_after_seconds(error: RetryAfter) -> float:
    """Telegram's "retry after" in seconds: an int in PTB 22 by default, a timedelta with
    PTB_TIMEDELTA set (see `bot.entrypoints.telegram.application`) and in PTB's next major
    version."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def chat_key(chat_id: object) -> int | str | None:
    """A chat id as Telegram counts it: numeric ids as int, @usernames as they are."""
    if isinstance(chat_id, int) or chat_id is None:
        return chat_id
    text = str(chat_id)
    return int(text) if text.lstrip("-").isdigit() else text


class RetryReplies(BaseRateLimiter[int]):
    """Messages wait for room in Telegram's counters; replies are retried after a 429."""

    def __init__(self, guard: FloodGuard | None = None) -> None:
        self.guard = guard or FloodGuard()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        fan_out = rate_limit_args == NO_RETRY
        attempts = 1 if fan_out else RETRIES + 1
        chat_id = chat_key(data.get("chat_id"))
        paid = bool(data.get("allow_paid_broadcast"))
        for attempt in range(attempts):
            try:
                return await self._send(callback, args, kwargs, endpoint, chat_id, paid, fan_out)
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                if chat_id is not None:
                    self.guard.hold(chat_id, seconds)
                if attempt == attempts - 1:
                    raise
                log.info("%s met a 429; retrying in %.0fs", endpoint, seconds)
                if chat_id is None:
                    await asyncio.sleep(seconds)
                # else: the next attempt waits for the chat's hold in the guard
        raise AssertionError("unreachable")

    async def _send(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        chat_id: int | str | None,
        paid: bool,
        fan_out: bool,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """One attempt: a message waits for room in its counters, any other request to a
        chat for that chat's hold."""
        if chat_id is None:
            return await callback(*args, **kwargs)
        if endpoint.lower() not in COUNTED:
            await self.guard.until_free(chat_id)
            return await callback(*args, **kwargs)
        await self.guard.acquire(chat_id, paid=paid, urgent=not fan_out)
        try:
            return await callback(*args, **kwargs)
        finally:
            self.guard.answered(chat_id, paid=paid)
