"""Pacing the fan-out to stay under Telegram's limits instead of running into them.

Two pieces of the sender's, beside the request layer's `FloodGuard`
(bot/outbound/flood_guard.py), which every message passes and which mirrors Telegram's
counters:

- `Pacer`: spaces the fan-out evenly (a slot every 1/rate seconds overall, the chat's
  interval per chat) at a rate a little under Telegram's, so replies fit beside it.
- `InFlightLimit`: as many requests in flight as the round trip needs for the pace, no more
  (more only queue in this process and slow everything in it down).
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
    # Telegram's paid broadcasts (allow_paid_broadcast): a lane of their own, for breaking news.
    paid_per_second: float = 1000.0


class Pacer:
    """Hands out send slots: one overall stream at `per_second`, one stream per chat, and
    a second overall stream at `paid_per_second` for paid broadcasts (Telegram counts those
    apart from the free 30 a second; the chat's own interval still applies)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._next_global = 0.0
        self._next_paid = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0

    def interval_for(self, kind: str) -> float:
        return self.limits.private_interval if kind == "private" else self.limits.group_interval

    def booked_ahead(self) -> float:
        """Seconds of overall sending already booked beyond now (either lane)."""
        return max(0.0, max(self._next_global, self._next_paid) - self._clock())

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until this chat may receive again (0 when it may now)."""
        return max(0.0, self._next_chat.get(chat_id, 0.0) - self._clock())

    def book(self, chat_id: int, kind: str, *, paid: bool = False) -> float:
        """Book the next slot for this chat (on the paid lane when `paid`); return when it
        is (on the pacer's clock).

        Slots already booked keep their times: ones the event loop wakes late for go out a
        little bunched (the `FloodGuard` keeps even a bunch within Telegram's counters).
        """
        now = self._clock()
        lane = self._next_paid if paid else self._next_global
        start = max(now, lane, self._paused_until, self._next_chat.get(chat_id, 0.0))
        if paid:
            self._next_paid = start + 1.0 / self.limits.paid_per_second
        else:
            self._next_global = start + 1.0 / self.limits.per_second
        self._next_chat[chat_id] = start + self.interval_for(kind)
        if len(self._next_chat) > 100_000:
            self._forget_idle(now)
        return start

    async def wait_until(self, slot: float) -> None:
        """Sleep until a booked slot, and past any 429 pause that began since booking it."""
        while True:
            delay = max(slot, self._paused_until) - self._clock()
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    async def acquire(self, chat_id: int, kind: str) -> None:
        await self.wait_until(self.book(chat_id, kind))

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends before `retry_after` has passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [chat for chat, ready in self._next_chat.items() if ready < now]:
            del self._next_chat[chat_id]


class InFlightLimit:
    """How many sends may be in flight at once: as many as keep the pace, and no more.

    Too few, and the pace waits on round trips (Telegram is tens of milliseconds away, so
    1,000 paid messages a second need dozens in flight, and a slow spell needs more). Too
    many, and when it is this process's CPU the sends wait for, they only queue here: each
    is one more connection httpx looks over on every request and more tasks between a
    reader's reply and the event loop, so sending slows down. So the limit follows the
    event loop's thread: while sends wait for a place and it has CPU to spare, the limit
    grows by half; once it keeps a CPU busy, it shrinks by a quarter. Never more than
    `ceiling`: with the sends not yet recorded, that bounds what a crash can repeat.
    """

    BUSY = 0.85  # the event loop's thread used this share of a CPU: it is the bottleneck
    DECIDE_SECONDS = 0.1

    def __init__(
        self,
        ceiling: int,
        *,
        floor: int = 2,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = min(floor, self.ceiling)
        self.limit = self.floor
        self.in_flight = 0
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._contended = False
        self._decided_at = clock()
        self._cpu_at = cpu_clock()

    async def acquire(self) -> None:
        """Wait for a place among the sends in flight."""
        if self.in_flight >= self.limit or self._waiters:
            self._contended = True
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter  # `release` hands its place over: in_flight already counts us
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.in_flight -= 1
                    self._wake()
                raise
        else:
            self.in_flight += 1

    def release(self) -> None:
        """A send is over (from the event loop's thread): its place goes to the next."""
        self.in_flight -= 1
        now = self._clock()
        if now - self._decided_at >= self.DECIDE_SECONDS:
            self._adjust(now)
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    def _adjust(self, now: float) -> None:
        cpu = self._cpu_clock()
        busy = (cpu - self._cpu_at) / (now - self._decided_at)
        if busy >= self.BUSY:
            self.limit = max(self.floor, min(self.limit - 1, int(self.limit * 0.75)))
        elif self._contended:
            self.limit = min(self.ceiling, max(self.limit + 1, int(self.limit * 1.5)))
        self._contended = False
        self._decided_at, self._cpu_at = now, cpu
