"""Pacing sends to stay under Telegram's limits instead of running into them.

Telegram's FAQ: about 30 messages per second overall for one bot, no more than one message
per second to one chat, and 20 messages per minute to one group or channel. Sends are spaced
evenly (a slot every 1/rate seconds) rather than in bursts, because Telegram's counters are
windowed and a burst answers 429 even when the average is fine.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: float = 30.0
    private_interval: float = 1.0
    group_interval: float = 3.0  # 20 per minute


class Pacer:
    """Hands out send slots: one overall stream at `per_second`, one stream per chat."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0
        self._started: deque[float] = deque(maxlen=max(1, int(limits.per_second)))

    def interval_for(self, kind: str) -> float:
        return self.limits.private_interval if kind == "private" else self.limits.group_interval

    def booked_ahead(self) -> float:
        """Seconds of overall sending already booked beyond now."""
        return max(0.0, self._next_global - self._clock())

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until this chat may receive again (0 when it may now)."""
        return max(0.0, self._next_chat.get(chat_id, 0.0) - self._clock())

    def reserve(self, chat_id: int, kind: str) -> float:
        """Book the next slot for this chat; return how long to wait before sending."""
        now = self._clock()
        start = max(now, self._next_global, self._paused_until, self._next_chat.get(chat_id, 0.0))
        self._next_global = start + 1.0 / self.limits.per_second
        self._next_chat[chat_id] = start + self.interval_for(kind)
        if len(self._next_chat) > 100_000:
            self._forget_idle(now)
        return start - now

    async def acquire(self, chat_id: int, kind: str) -> None:
        delay = self.reserve(chat_id, kind)
        if delay > 0:
            await asyncio.sleep(delay)
        await self._within_window()

    async def _within_window(self) -> None:
        """Never more than `per_second` sends start in any one second, as they really start.

        Slots are evenly spaced, but a busy event loop wakes sleepers late and in bunches;
        Telegram counts what arrives, so the actual start times are checked too.
        """
        while len(self._started) == self._started.maxlen:
            wait = 1.0 - (self._clock() - self._started[0])
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self._started.append(self._clock())

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends before `retry_after` has passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def hold_chat(self, chat_id: int, seconds: float) -> None:
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), self._clock() + seconds)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [chat for chat, ready in self._next_chat.items() if ready < now]:
            del self._next_chat[chat_id]
