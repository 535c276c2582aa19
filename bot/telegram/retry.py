"""Waiting out Telegram's 429 for replies, while the sender handles 429 itself.

A reader's /today that meets "retry after 1" (during a big fan-out, say) should arrive a
second late rather than not at all. The sender must see every 429 itself (to pause the whole
pace and requeue), so its requests opt out with `rate_limit_args=NO_RETRY`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

NO_RETRY = -1
RETRIES = 3


class RetryReplies(BaseRateLimiter[int]):
    """No throttling (the sender paces itself); replies retried after a 429."""

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
        attempts = 1 if rate_limit_args == NO_RETRY else RETRIES + 1
        for attempt in range(attempts):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == attempts - 1:
                    raise
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.info("%s met a 429; retrying in %.0fs", endpoint, seconds)
                await asyncio.sleep(seconds)
        raise AssertionError("unreachable")
