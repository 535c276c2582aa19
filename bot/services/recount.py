"""A count too costly to make while someone waits, kept and made again in the background.

Counting 100k chats by what they read (the reach of breaking news) or a week of a million
deliveries (the console's Stats) takes a database from a fifth of a second to a second; the
console asks for them every few seconds while an editor types or looks. A `Recounted` value
answers at once with its last count and, when that is older than its `ttl`, starts one
recount in the background for the calls after it (stale while it revalidates). A call waits
for a count only when there is none yet, or when the last is older than `max_age` (ten
`ttl`s by default: after a quiet spell nobody is shown an hour-old figure). A recount that
fails keeps the last count (and is logged); the next call tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Recounted(Generic[T]):
    def __init__(
        self,
        count: Callable[[], Awaitable[T]],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_age: float | None = None,
    ) -> None:
        self._count = count
        self._ttl = ttl
        self._max_age = 10 * ttl if max_age is None else max_age
        self._clock = clock
        # (when counted, what) of the last count; None before the first.
        self._last: tuple[float, T] | None = None
        self._running: asyncio.Task[None] | None = None

    @property
    def age(self) -> float | None:
        """Seconds since the count now served was made (None before the first)."""
        return None if self._last is None else self._clock() - self._last[0]

    async def get(self) -> T:
        """The last count; a stale one starts a recount, a missing or too old one is waited
        for (see the module)."""
        if self._last is None or self._clock() - self._last[0] >= self._max_age:
            await self._wait_for_count()
            assert self._last is not None
            return self._last[1]
        if self._clock() - self._last[0] >= self._ttl and self._running is None:
            self._running = asyncio.create_task(self._recount(), name="recount")
        return self._last[1]

    def warm(self) -> None:
        """Have a count made in the background if there is none or it is stale (a caller
        about to need it: the console's session, before its tabs ask)."""
        stale = self._last is None or self._clock() - self._last[0] >= self._ttl
        if stale and self._running is None:
            self._running = asyncio.create_task(self._recount(), name="recount")

    async def _wait_for_count(self) -> None:
        """A count made now: concurrent callers share one."""
        if self._running is None:
            self._running = asyncio.create_task(self._recount(), name="recount")
        await asyncio.shield(self._running)
        if self._last is None:  # the first count failed (logged): the caller fails too
            raise RecountFailed("the count could not be made; see the log")

    async def _recount(self) -> None:
        started = self._clock()
        try:
            value = await self._count()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("recount failed; the last count is kept")
        else:
            self._last = (started, value)
        finally:
            self._running = None


class RecountFailed(RuntimeError):
    """The first count of a value failed (later failures keep the last count)."""
