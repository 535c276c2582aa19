"""Telegram's limits and bad days: flood windows (per private chat, per group, the global
30/s and the separate paid-broadcast rate) answered with 429 and ``retry_after``, and
injected failures and latency (chaos) for the send methods.

The window arithmetic is pure (``_flood_wait``, ``_rate_window``) so it reads apart from
the counting."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from tests.fakes.bot_api.values import ApiError
from tests.fakes.bot_api.vocabulary import SEND_METHODS
from tests.fakes.bot_api.world import _ChatState


@dataclass
class _Chaos:
    status: int
    ratio: float
    latency: tuple[float, float]
    retry_after: int | None
    remaining: int | None
    methods: frozenset[str]
    rng: random.Random


def _flood_wait(events: deque[float], now: float, limit: int, seconds: float) -> float:
    """Seconds until one more event fits "at most ``limit`` per ``seconds``" (0 = now).

    ``events`` are ascending timestamps; the window is full exactly when the
    ``limit``-th most recent event is still inside it."""
    if len(events) < limit:
        return 0.0
    wait = events[-limit] + seconds - now
    return wait if wait > 0 else 0.0


def _rate_window(rate: float, burst: int = 1) -> tuple[int, float]:
    """(events, seconds) admitting ``rate`` events/s on average in bursts of ``burst``."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    if burst > 1:
        return burst, burst / rate
    seconds = max(1.0, 1.0 / rate)
    return max(1, round(rate * seconds)), seconds


class LimitsMixin:
    """Flood limits on sends, and chaos on request.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def inject_failures(
        self,
        *,
        status: int = 502,
        ratio: float = 0.1,
        latency: tuple[float, float] = (0, 0),
        retry_after: int | None = None,
        count: int | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Chaos for send methods: a ``ratio`` of requests (at most ``count``) fail with
        ``status`` before anything is sent; every matching request is delayed by a random
        ``latency`` (seconds, min/max).  ``status=429`` answers with ``retry_after``
        (default 1) and counts in :attr:`too_many_requests`.  ``methods`` defaults to the
        send methods; add edit methods etc. explicitly."""
        with self._lock:
            if retry_after is not None and status == 502:
                status = 429
            self._chaos = _Chaos(
                status=status,
                ratio=ratio,
                latency=latency,
                retry_after=retry_after,
                remaining=count,
                methods=frozenset(methods) if methods is not None else SEND_METHODS,
                rng=random.Random(self._rng.random()),
            )

    def clear_failures(self) -> None:
        """Stop injecting failures and latency."""
        with self._lock:
            self._chaos = None

    async def _chaos_for(self, method: str) -> None:
        with self._lock:
            chaos = self._chaos
            if chaos is None or method not in chaos.methods:
                return
            delay = chaos.rng.uniform(*chaos.latency) if chaos.latency[1] > 0 else 0.0
            fail = (chaos.remaining is None or chaos.remaining > 0) and (
                chaos.rng.random() < chaos.ratio
            )
            if fail:
                if chaos.remaining is not None:
                    chaos.remaining -= 1
                self.failures_injected += 1
        if delay:
            await asyncio.sleep(delay)
        if not fail:
            return
        if chaos.status == 429:
            retry_after = chaos.retry_after or 1
            with self._lock:
                self.too_many_requests += 1
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        try:
            phrase = HTTPStatus(chaos.status).phrase
        except ValueError:
            phrase = "Injected Failure"
        prefix = {400: "Bad Request: ", 403: "Forbidden: "}.get(chaos.status, "")
        description = f"{prefix}injected failure" if prefix else phrase
        raise ApiError(chaos.status, description)

    def _check_rate(self, state: _ChatState, params: dict[str, Any]) -> None:
        """Telegram's flood limits; only counted for sends that are otherwise valid."""
        if not self.enforce_rate_limits:
            return
        now = time.monotonic()
        chat_id = state.chat.id
        if state.chat.type == "private":
            limit, seconds = _rate_window(self.per_chat_rate, self.per_chat_burst)
        else:
            limit, seconds = self.group_per_minute, 60.0
        chat_events = self._chat_events.setdefault(chat_id, deque())
        while len(chat_events) > limit:
            chat_events.popleft()
        wait = _flood_wait(chat_events, now, limit, seconds)
        # Paid broadcasts are counted on their own: they are sent "ignoring broadcasting
        # limits" (Bot API), so they neither use up nor are held by the free 30/s.
        paid = bool(params.get("allow_paid_broadcast"))
        cap = self.paid_rate if paid else self.rate_limit_global
        events = self._paid_events if paid else self._global_events
        if cap is not None:
            global_limit, global_seconds = _rate_window(cap)
            wait = max(wait, _flood_wait(events, now, global_limit, global_seconds))
        if wait > 0:
            self.too_many_requests += 1
            self._429_per_chat[chat_id] += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        chat_events.append(now)
        events.append(now)
        keep = max(self.paid_rate, self.rate_limit_global or 0, 1) * 2
        while len(events) > keep:
            events.popleft()
