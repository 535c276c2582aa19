"""Telegram's flood limits, counted as Telegram counts them, in the request layer.

Telegram's FAQ: about 30 messages per second overall for one bot, no more than one message
per second to one chat, and 20 messages per minute to one group or channel; paid broadcasts
(`allow_paid_broadcast`) up to 1,000 messages per second.

`FloodGuard` is passed by every message the bot sends (replies too, see retry.py): it
mirrors Telegram's counters. Telegram counts a message when it receives it, some time
between the request leaving and its answer coming back. The guard counts it from the moment
it leaves until its answer, and at its answer from then on: never earlier than Telegram did.
So "fewer than 30 in the last second" here holds there too, whatever the network, a stalled
event loop or a slow server did to the spacing on the way. The fan-out's own pacing (the
sender's `Pacer`) lives in bot/delivery/pacer.py, above this layer.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

# Telegram's limits, as Telegram counts them: (messages, seconds) in any rolling window.
TELEGRAM_OVERALL = (30, 1.0)
TELEGRAM_PAID = (1000, 1.0)
TELEGRAM_PRIVATE_CHAT = (1, 1.0)
TELEGRAM_GROUP_CHAT = (20, 60.0)
# A send waiting for an answer in flight is woken by it; it also looks again after this long
# (what it waits for may have gone another way: a reply ahead of it that was cancelled).
ANSWER_WAIT_SECONDS = 0.05
# How many times a request looks again at a chat's hold that was extended while it waited.
HOLD_LOOKS = 10


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
    for the overall counter. In a private chat they keep its one a second too (a user who
    sends a burst of commands gets the answers a second apart, never a 429); in a group
    they are only counted there, for the fan-out to respect (an admin's screens would
    otherwise wait minutes behind the group's 20 a minute).

    A chat Telegram answered "retry after N" is held (`hold`): nothing more goes to it,
    reply or fan-out, until the N seconds are over.
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
        # Chats Telegram asked to wait (429 retry_after): the clock time they are free again.
        self._held: dict[int | str, float] = {}
        self._urgent_waiting = 0
        self._sends_since_cleanup = 0
        # Resolved by the next answer: the sends that wait for one all wait on it.
        self._next_answer: asyncio.Future[None] | None = None

    def _chat(self, chat_id: int | str) -> Window | None:
        window = self._chats.get(chat_id)
        if window is None:
            limits = self._private if _private(chat_id) else self._group
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
        if wait is not None:
            wait = max(wait, self.held_for(chat_id, now))
        chat = None if urgent and not _private(chat_id) else self._chat(chat_id)
        if chat is None or wait is None:
            return wait
        chat_wait = chat.wait(now)
        return None if chat_wait is None else max(wait, chat_wait)

    def _overall_full(self, paid: bool) -> bool:
        """Is the overall (or paid) counter what a message waits for now?"""
        return (self._paid if paid else self._overall).wait(self._clock()) != 0.0

    def hold(self, chat_id: int | str, seconds: float) -> None:
        """Telegram said "retry after `seconds`" for this chat: nothing goes to it till then."""
        until = self._clock() + max(0.0, seconds)
        self._held[chat_id] = max(until, self._held.get(chat_id, until))

    def held_for(self, chat_id: int | str, now: float | None = None) -> float:
        """Seconds this chat is still held by a 429's retry_after (0: not held)."""
        until = self._held.get(chat_id)
        if until is None:
            return 0.0
        left = until - (self._clock() if now is None else now)
        if left <= 0:
            del self._held[chat_id]
            return 0.0
        return left

    async def until_free(self, chat_id: int | str) -> None:
        """Wait out the chat's hold (requests that are not messages: edits, actions)."""
        for _ in range(HOLD_LOOKS):  # another 429 may extend the hold while this sleeps
            left = self.held_for(chat_id)
            if left <= 0:
                return
            await asyncio.sleep(left)

    async def acquire(self, chat_id: int | str, *, paid: bool = False, urgent: bool = True) -> None:
        """Wait for room, then count the message as in flight (`answered` must follow).

        A reply holds the fan-out back only while the overall counter is what it waits for:
        one waiting for its own private chat's second (or a 429's hold) lets the fan-out to
        other chats go on.
        """
        holding = False  # counted in _urgent_waiting
        try:
            while True:
                wait = self.wait(chat_id, paid=paid, urgent=urgent)
                if wait == 0:
                    break
                if urgent and holding != (overall := self._overall_full(paid)):
                    holding = overall
                    self._urgent_waiting += 1 if holding else -1
                    if not self._urgent_waiting:
                        self._wake_waiters()
                if wait is None:
                    await asyncio.wait({self._answer()}, timeout=ANSWER_WAIT_SECONDS)
                else:
                    await asyncio.sleep(wait)
        finally:
            if holding:
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
            for key in [key for key, until in self._held.items() if until <= now]:
                del self._held[key]

    def _answer(self) -> asyncio.Future[None]:
        """The future the next answer (or the last reply ahead going out) resolves."""
        if self._next_answer is None:
            self._next_answer = asyncio.get_running_loop().create_future()
        return self._next_answer

    def _wake_waiters(self) -> None:
        waiting, self._next_answer = self._next_answer, None
        if waiting is not None and not waiting.done():
            waiting.set_result(None)


def _private(chat_id: int | str) -> bool:
    """Users' (private chats') ids are positive; groups' and channels' negative."""
    return isinstance(chat_id, int) and chat_id > 0
