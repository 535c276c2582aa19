"""What tests and benchmarks read back: the messages sent, counters, pending updates, and
waits that poll the fake until the bot has done something (failing with a readable dump)."""

from __future__ import annotations

import asyncio
import copy
import inspect
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from tests.fakes.bot_api.values import SentMessage
from tests.fakes.bot_api.vocabulary import EDIT_METHODS, SEND_METHODS


def _busiest(times: list[float], seconds: float) -> int:
    """The most events in any ``seconds``-long window (``times`` ascending)."""
    busiest = start = 0
    for end, at in enumerate(times):
        while times[start] <= at - seconds:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


class InspectionMixin:
    """Reading the recorded history and waiting for the bot.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Everything recorded in :attr:`sent` for ``chat_id`` (sends and edits), in order."""
        with self._lock:
            return [m for m in self.sent if m.chat_id == chat_id]

    def current_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The message as it is now (after edits), or None if it never existed/was deleted."""
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            return copy.deepcopy(message) if message is not None else None

    def updates_delivered(self) -> int:
        """How many distinct updates getUpdates has handed to the bot so far."""
        with self._lock:
            return len(self._delivered)

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by the bot (via ``offset``)."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def last_pending_update(self) -> dict[str, Any]:
        """The newest update queued (a webhook test posts it itself): one copy, not all of
        them, so a flood of posts costs the test's process nothing much."""
        with self._lock:
            return copy.deepcopy(self._updates[-1])

    def duplicate_sends(self) -> list[SentMessage]:
        """Sends whose chat and content equal an earlier send (a news bot's cardinal sin)."""
        with self._lock:
            return list(self._duplicates)

    def stats(self) -> dict[str, Any]:
        """Counters for benchmarks (also served at ``GET /_control/stats``)."""
        with self._lock:
            sends = [m for m in self.sent if m.method in SEND_METHODS]
            per_chat = Counter(m.chat_id for m in sends)
            return {
                "sent_total": len(sends),
                "edits_total": sum(1 for m in self.sent if m.method in EDIT_METHODS),
                "sent_per_chat": {str(k): v for k, v in per_chat.items()},
                "chats": len(per_chat),
                "too_many_requests": self.too_many_requests,
                "too_many_requests_per_chat": {str(k): v for k, v in self._429_per_chat.items()},
                "duplicates": len(self._duplicates),
                "failures_injected": self.failures_injected,
                "requests_total": len(self.requests),
                "requests_per_method": dict(Counter(method for method, _ in self.requests)),
                "callback_answers": len(self.callback_answers),
                "updates_pending": len(self._updates),
                "updates_delivered": len(self._delivered),
                "first_send_time": sends[0].time if sends else None,
                "last_send_time": sends[-1].time if sends else None,
                "busiest_second": _busiest(
                    [m.time for m in sends if not m.params.get("allow_paid_broadcast")], 1.0
                ),
                "busiest_second_paid": _busiest(
                    [m.time for m in sends if m.params.get("allow_paid_broadcast")], 1.0
                ),
            }

    async def wait_for(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for polling shared state
    ) -> list[SentMessage]:
        """Wait until at least ``count`` recorded messages match; return all matches so far
        (oldest first).  On timeout raise AssertionError listing what was sent."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                matches = [m for m in self.sent if predicate is None or predicate(m)]
            if len(matches) >= count:
                return matches
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} matching message(s) within {timeout}s, "
                    f"got {len(matches)}.\n{self.dump()}"
                )
            await asyncio.sleep(0.01)

    async def wait_until(
        self,
        condition: Callable[[], bool | Awaitable[bool]],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for polling shared state
    ) -> None:
        """Wait until ``condition()`` is true (polled every 10 ms) or fail with a dump.

        The condition may be a coroutine function, for what the bot did that only its
        database shows (a chat marked inactive): awaited at every poll."""
        deadline = time.monotonic() + timeout
        while True:
            met = condition()
            if inspect.isawaitable(met):
                met = await met
            if met:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s.\n{self.dump()}")
            await asyncio.sleep(0.01)

    async def wait_until_polling(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has called getUpdates (so its allowed_updates are in force:
        updates created before that are filtered by the previous setting, as in Telegram)."""
        await self.wait_until(lambda: self._get_updates_calls > 0, timeout=timeout)

    def dump(self) -> str:
        """Human-readable history for assertion messages."""
        with self._lock:
            lines = [f"sent ({len(self.sent)}):"]
            lines += [
                f"  {m.method} chat={m.chat_id} id={m.message_id} {m.plain_text[:100]!r}"
                + (f" buttons={m.callback_data}" if m.callback_data else "")
                for m in self.sent[-50:]
            ]
            failed = [
                (method, {k: v for k, v in params.items() if k in ("chat_id", "text")})
                for method, params in self.requests[-20:]
            ]
            lines.append(f"last requests: {failed}")
            lines.append(f"pending updates: {len(self._updates)}; 429s: {self.too_many_requests}")
            return "\n".join(lines)
