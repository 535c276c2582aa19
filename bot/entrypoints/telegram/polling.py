"""Long polling by one instance per bot token.

Telegram answers 409 Conflict to a getUpdates that overlaps another one for the same token, so
when several instances share a PostgreSQL database only the holder of the updates lock polls;
the others keep trying and take over within UPDATES_RETRY_SECONDS of its death. On SQLite the
one instance always polls.
"""

from __future__ import annotations

import logging

from telegram.ext import Application

from bot.entrypoints.telegram.application import ALLOWED_UPDATES
from storage.leadership import Leadership

log = logging.getLogger(__name__)

# How often an instance that does not poll tries to take the role (and a poller checks it
# still holds it): a dead poller's updates wait at most this long plus one long poll.
UPDATES_RETRY_SECONDS = 5.0


class LongPolling:
    def __init__(self, application: Application, leadership: Leadership, timeout: int) -> None:
        self._application = application
        self._leadership = leadership
        self._timeout = timeout
        self._stopped = False

    @property
    def running(self) -> bool:
        updater = self._application.updater
        return updater is not None and updater.running

    async def follow(self) -> bool:
        """Poll while this instance holds the updates role; stop if it lost it. True if polling."""
        if self._stopped:
            return False
        updater = self._application.updater
        assert updater is not None
        held = await self._leadership.acquire()
        if held and not updater.running:
            await updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=self._timeout)
            log.info("taking Telegram's updates by long polling")
        elif not held and updater.running:
            await updater.stop()
            log.warning("another instance takes Telegram's updates now; stopped polling")
        return held

    async def stop(self) -> None:
        """Stop for good (shutting down): no more getUpdates, and the role is released."""
        self._stopped = True
        if self.running:
            assert self._application.updater is not None
            await self._application.updater.stop()
        await self._leadership.release()
