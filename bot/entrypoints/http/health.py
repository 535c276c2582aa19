"""Liveness and readiness: what a load balancer or Kubernetes asks before sending traffic."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import text

from storage.db import Database

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 3.0


class Running(Protocol):
    @property
    def running(self) -> bool: ...


@dataclass
class BotApiState:
    """The outcome of the last exchange with the Bot API (None: Telegram is not configured).

    Fed by every Bot API call (`bot.entrypoints.http.metrics.BotApiWatch`), so readiness
    needs no probe of its own while the bot is busy; `bot.setup.jobs` probes with getMe when idle.
    `started` turns true once the bot is up (getMe answered, updates taken): until then
    `bot.app` reports the start's own troubles, so transitions are not logged twice.
    """

    configured: bool = False
    ok: bool | None = None
    at: float = field(default_factory=time.monotonic)
    started: bool = False

    def record(self, ok: bool) -> None:
        if ok != self.ok and self.started:
            log.log(
                logging.INFO if ok else logging.WARNING,
                "Bot API %s",
                "reachable" if ok else "unreachable",
            )
        self.ok, self.at = ok, time.monotonic()

    def seconds_since(self) -> float:
        return time.monotonic() - self.at


@dataclass
class Readiness:
    """Checks the database answers, the scheduler runs and the Bot API answered last time."""

    database: Database
    scheduler: Running
    bot_api: BotApiState

    async def check(self) -> dict[str, str]:
        """{check: "ok" | why not}; every value "ok" (or "disabled") means ready."""
        checks = {"database": await self._database()}
        checks["scheduler"] = "ok" if self.scheduler.running else "not running"
        if not self.bot_api.configured:
            checks["telegram"] = "disabled"
        elif self.bot_api.ok is None:
            checks["telegram"] = "not checked yet"
        elif not self.bot_api.ok:
            checks["telegram"] = "last Bot API call failed"
        else:
            checks["telegram"] = "ok" if self.bot_api.started else "starting"
        return checks

    async def _database(self) -> str:
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT), self.database.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready", with the reason's type
            return f"unreachable: {type(exc).__name__}"
        return "ok"


def is_ready(checks: dict[str, str]) -> bool:
    return all(value in ("ok", "disabled") for value in checks.values())
