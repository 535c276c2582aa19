"""Per-user lanes for incoming updates: concurrent across users, in order per user, and one
user's burst held to a short backlog of their own.

PTB's own processor (`concurrent_updates(16)`) serves updates first come, first served: 300
commands from one user in half a second fill all 16 places (each reply then waits for that
chat's one message a second) and another user's /help waits behind the 300. Here each user
(else each chat, for updates without a user) has a lane: their updates run one at a time, in
the order they came, and at most `backlog` of them wait or run at once. A message, button
press or inline query beyond that is dropped for that user alone; the first drop is answered
"slow down" (`on_slow_down`, at most once every `slow_down_every` seconds per user). At most
`workers` updates run at once overall, each user's next one in line for a place, so another
user never waits behind more than one update of the flooder's.

Updates that change the bot's world rather than ask it something (the bot added to a chat,
reaction counts, a chosen inline result) are never dropped, only ordered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

# PTB's admission count: its own semaphore must never be what holds an update back (updates
# wait in their lanes instead), but it still bounds the tasks of a runaway queue.
ADMITTED = 4096
WORKERS = 16
BACKLOG = 16
SLOW_DOWN_EVERY = 60.0
# Lanes with nothing in them are forgotten on a sweep after this many updates.
SWEEP_EVERY = 1000

SlowDown = Callable[[Update], Awaitable[None]]


@dataclass(slots=True)
class Lane:
    """One user's (or chat's) updates: run one at a time, in arrival order."""

    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    admitted: int = 0  # waiting for their turn or running
    warned_at: float | None = None  # when the user was last told to slow down


def lane_key(update: object) -> tuple[str, int] | None:
    """Whose lane an update goes in: its user's, else its chat's; None for neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    return None


def droppable(update: object) -> bool:
    """A request from a user (a message, a press, an inline query): one a burst may lose."""
    return isinstance(update, Update) and (
        update.message is not None
        or update.edited_message is not None
        or update.callback_query is not None
        or update.inline_query is not None
    )


class UserLanes(BaseUpdateProcessor):
    """The update processor of the Application (see the module's docstring)."""

    def __init__(
        self,
        *,
        workers: int = WORKERS,
        backlog: int = BACKLOG,
        slow_down_every: float = SLOW_DOWN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(ADMITTED)
        self.workers = workers
        self.backlog = backlog
        self.slow_down_every = slow_down_every
        # Set once the handlers are registered (application.register_handlers): tells a
        # flooding user to slow down, in their language.
        self.on_slow_down: SlowDown | None = None
        self.dropped = 0
        self._clock = clock
        self._places = asyncio.Semaphore(workers)
        self._lanes: dict[tuple[str, int], Lane] = {}
        self._since_sweep = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = lane_key(update)
        if key is None:
            async with self._places:
                await coroutine
            return
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane()
        if lane.admitted >= self.backlog and droppable(update):
            _discard(coroutine)
            await self._drop(update, lane)
            return
        lane.admitted += 1
        try:
            async with lane.turn, self._places:
                await coroutine
        finally:
            lane.admitted -= 1
            self._sweep()

    async def _drop(self, update: object, lane: Lane) -> None:
        """Drop a burst's update; tell the user once (per `slow_down_every`) to slow down."""
        self.dropped += 1
        now = self._clock()
        if lane.warned_at is not None and now - lane.warned_at < self.slow_down_every:
            return
        lane.warned_at = now
        key = lane_key(update)
        log.info("updates from %s dropped: more than %d waiting", key, self.backlog)
        if self.on_slow_down is None or not isinstance(update, Update):
            return
        try:
            await self.on_slow_down(update)
        except Exception:  # a notice that failed: the updates are dropped all the same
            log.warning("could not tell %s to slow down", key, exc_info=True)

    def _sweep(self) -> None:
        """Forget idle lanes now and then (those warned lately are kept, to stay quiet)."""
        self._since_sweep += 1
        if self._since_sweep < SWEEP_EVERY:
            return
        self._since_sweep = 0
        now = self._clock()
        for key in [key for key, lane in self._lanes.items() if self._idle(lane, now)]:
            del self._lanes[key]

    def _idle(self, lane: Lane, now: float) -> bool:
        quiet = lane.warned_at is None or now - lane.warned_at >= self.slow_down_every
        return lane.admitted == 0 and not lane.turn.locked() and quiet


def _discard(coroutine: Awaitable[Any]) -> None:
    """Close a handler coroutine that will never run (no "never awaited" warning)."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
