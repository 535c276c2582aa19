"""The Bot API request: python-telegram-bot's HTTPXRequest, with an observer of each call.

PTB has no request hook; its own tests subclass `HTTPXRequest`, and so does newsbot. Every
Bot API call made through it (sends, replies, edits, getMe) is timed, and its outcome is
told to the observer: metrics count 429s and send latencies, readiness follows the last
exchange without probing.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from telegram.request import HTTPXRequest


class RequestObserver(Protocol):
    def bot_api_answered(self, method: str, status: int, seconds: float) -> None:
        """Telegram answered `method` with HTTP `status` after `seconds`."""

    def bot_api_unreachable(self) -> None:
        """A call got no answer (network, DNS, timeout)."""


class ObservedRequest(HTTPXRequest):
    """An HTTPXRequest that tells `observer` about every call it makes."""

    def __init__(self, observer: RequestObserver | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._observer = observer

    async def do_request(self, url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self._observer is None:
            return await super().do_request(url, *args, **kwargs)
        method = url.rsplit("/", 1)[-1]
        started = time.perf_counter()
        try:
            status, body = await super().do_request(url, *args, **kwargs)
        except Exception:
            self._observer.bot_api_unreachable()
            raise
        self._observer.bot_api_answered(method, status, time.perf_counter() - started)
        return status, body
