"""Pacing sends to stay under Telegram's limits instead of running into them.

Telegram's FAQ: about 30 messages per second overall for one bot, no more than one message
per second to one chat, and 20 messages per minute to one group or channel; paid broadcasts
(`allow_paid_broadcast`) up to 1,000 messages per second. Two pieces keep to them, and a
third keeps the sending itself cheap:

- `Pacer`, the sender's: spaces the fan-out evenly (a slot every 1/rate seconds overall, the
  chat's interval per chat) at a rate a little under Telegram's, so replies fit beside it.
- `FloodGuard`, in the request layer, that every message the bot sends passes (replies
  too): it mirrors Telegram's counters. Telegram counts a message when it receives it, some
  time between the request leaving and its answer coming back. The guard counts it from
  the moment it leaves until its answer, and at its answer from then on: never earlier than
  Telegram did. So "fewer than 30 in the last second" here holds there too, whatever the
  network, a stalled event loop or a slow server did to the spacing on the way.
- `InFlightLimit`, the sender's: as many requests in flight as the round trip needs for
  the pace, no more (more only queue in this process and slow everything in it down).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Telegram's limits, as Telegram counts them: (messages, seconds) in any rolling window.
TELEGRAM_OVERALL = (30, 1.0)
TELEGRAM_PAID = (1000, 1.0)
TELEGRAM_PRIVATE_CHAT = (1, 1.0)
TELEGRAM_GROUP_CHAT = (20, 60.0)
# A send waiting for an answer in flight is woken by it; it also looks again after this long
# (what it waits for may have gone another way: a reply ahead of it that was cancelled).
ANSWER_WAIT_SECONDS = 0.05


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

    def interval_for(self, kind: str) -> float:
        return self.limits.private_interval if kind == "private" else self.limits.group_interval

    def booked_ahead(self) -> float:
        """Seconds of overall sending already booked beyond now."""
        return max(0.0, self._next_global - self._clock())

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until this chat may receive again (0 when it may now)."""
        return max(0.0, self._next_chat.get(chat_id, 0.0) - self._clock())

    def book(self, chat_id: int, kind: str) -> float:
        """Book the next slot for this chat; return when it is (on the pacer's clock).

        Slots already booked keep their times: ones the event loop wakes late for go out a
        little bunched (the `FloodGuard` keeps even a bunch within Telegram's counters).
        """
        now = self._clock()
        start = max(now, self._next_global, self._paused_until, self._next_chat.get(chat_id, 0.0))
        self._next_global = start + 1.0 / self.limits.per_second
        self._next_chat[chat_id] = start + self.interval_for(kind)
        if len(self._next_chat) > 100_000:
            self._forget_idle(now)
        return start

    def reserve(self, chat_id: int, kind: str) -> float:
        """Book the next slot for this chat; return how long to wait before sending."""
        return self.book(chat_id, kind) - self._clock()

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

    def hold_chat(self, chat_id: int, seconds: float) -> None:
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), self._clock() + seconds)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [chat for chat, ready in self._next_chat.items() if ready < now]:
            del self._next_chat[chat_id]


class Window:
    """One of Telegram's counters: at most `limit` messages in any `seconds`.

    A message counts while in flight, then from its answer for `seconds`.
    """

    __slots__ = ("answered", "in_flight", "limit", "seconds")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.in_flight = 0
        self.answered: deque[float] = deque()

    def wait(self, now: float) -> float | None:
        """Seconds until one more message fits (0: now; None: when an answer comes)."""
        answered = self.answered
        horizon = now - self.seconds
        while answered and answered[0] <= horizon:
            answered.popleft()
        excess = len(answered) + self.in_flight - self.limit + 1
        if excess <= 0:
            return 0.0
        if excess > len(answered):
            return None
        return answered[excess - 1] - horizon

    def idle(self, now: float) -> bool:
        return not self.in_flight and (not self.answered or self.answered[-1] <= now - self.seconds)


class FloodGuard:
    """Every message the bot sends waits here until Telegram's counters have room for it.

    Two counters apply to each message: the overall one (30 a second, or 1,000 for paid
    broadcasts, which Telegram counts apart) and its chat's (one a second for a private
    chat, 20 a minute for a group or channel; users' chat ids are positive, groups' and
    channels' negative). Replies to readers (`urgent`) go before the fan-out when both wait
    for the overall counter, and never wait for their chat's: Telegram lets a conversation
    burst a little, so they are only counted there, for the fan-out to respect.
    """

    def __init__(
        self,
        *,
        overall: int = TELEGRAM_OVERALL[0],
        paid: int = TELEGRAM_PAID[0],
        private_interval: float = TELEGRAM_PRIVATE_CHAT[1],
        group_per_minute: int = TELEGRAM_GROUP_CHAT[0],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._overall = Window(overall, TELEGRAM_OVERALL[1])
        self._paid = Window(paid, TELEGRAM_PAID[1])
        self._private = (1, private_interval) if private_interval > 0 else None
        self._group = (group_per_minute, 60.0)
        self._chats: dict[int | str, Window] = {}
        self._urgent_waiting = 0
        self._sends_since_cleanup = 0
        # Resolved by the next answer: the sends that wait for one all wait on it.
        self._next_answer: asyncio.Future[None] | None = None

    def _chat(self, chat_id: int | str) -> Window | None:
        window = self._chats.get(chat_id)
        if window is None:
            private = isinstance(chat_id, int) and chat_id > 0
            limits = self._private if private else self._group
            if limits is None:
                return None
            window = self._chats[chat_id] = Window(*limits)
        return window

    def wait(self, chat_id: int | str, *, paid: bool = False, urgent: bool = True) -> float | None:
        """Seconds until this message may leave (0: now; None: when an answer comes)."""
        if not urgent and not paid and self._urgent_waiting:
            return None
        now = self._clock()
        wait = (self._paid if paid else self._overall).wait(now)
        chat = None if urgent else self._chat(chat_id)
        if chat is None or wait is None:
            return wait
        chat_wait = chat.wait(now)
        return None if chat_wait is None else max(wait, chat_wait)

    async def acquire(self, chat_id: int | str, *, paid: bool = False, urgent: bool = True) -> None:
        """Wait for room, then count the message as in flight (`answered` must follow)."""
        if urgent:
            self._urgent_waiting += 1
        try:
            while True:
                wait = self.wait(chat_id, paid=paid, urgent=urgent)
                if wait == 0:
                    break
                if wait is None:
                    await asyncio.wait({self._answer()}, timeout=ANSWER_WAIT_SECONDS)
                else:
                    await asyncio.sleep(wait)
        finally:
            if urgent:
                self._urgent_waiting -= 1
                if not self._urgent_waiting:
                    self._wake_waiters()  # the fan-out held back for replies may go on
        (self._paid if paid else self._overall).in_flight += 1
        chat = self._chat(chat_id)
        if chat is not None:
            chat.in_flight += 1

    def answered(self, chat_id: int | str, *, paid: bool = False) -> None:
        """The message's answer came (or its request failed): counted from now on."""
        now = self._clock()
        overall = self._paid if paid else self._overall
        overall.in_flight -= 1
        overall.answered.append(now)
        chat = self._chat(chat_id)
        if chat is not None:
            chat.in_flight -= 1
            chat.answered.append(now)
            if len(chat.answered) > chat.limit:
                chat.answered.popleft()
        self._wake_waiters()
        self._sends_since_cleanup += 1
        if self._sends_since_cleanup >= 10_000:
            self._sends_since_cleanup = 0
            for key in [key for key, window in self._chats.items() if window.idle(now)]:
                del self._chats[key]

    def _answer(self) -> asyncio.Future[None]:
        """The future the next answer (or the last reply ahead going out) resolves."""
        if self._next_answer is None:
            self._next_answer = asyncio.get_running_loop().create_future()
        return self._next_answer

    def _wake_waiters(self) -> None:
        waiting, self._next_answer = self._next_answer, None
        if waiting is not None and not waiting.done():
            waiting.set_result(None)


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
