"""Telegram's webhook: updates arrive as POSTs and go straight into PTB's update queue.

Telegram signs nothing; it repeats the `secret_token` given to setWebhook in the
X-Telegram-Bot-Api-Secret-Token header. A request without it is refused before its body is
read, so a stranger who finds the URL can neither inject updates nor learn anything.

With the secret, a body that is not a Telegram update (too large, not JSON, nested too
deep, missing what PTB needs) is answered 400 or 413 naming the problem and never reaches the
update queue: nothing half-built is handled, and the server goes on serving.

An update PTB can build but the handlers cannot take (a message without a chat, a kind the
bot never asked for: update_checks.py) is answered 200 and dropped with a log line, as is an
update_id already taken (Telegram posts an update again after a slow or failed answer; the
repeat may reach another instance, or this one after a restart: storage/updates.py). Not
4xx: Telegram retries any answer but 2xx, and such an update will never become one the bot
can take, so a refusal would only come back. The reason is in the X-Newsbot-Dropped header
(the body stays empty: Telegram reads a JSON body answering a webhook as a Bot API call).

The route only queues the update for PTB (a per-user lane, bot/entrypoints/telegram/lanes.py, orders
and limits it): it never waits for a handler, whatever one user sends.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.entrypoints.http.body import BadBody, read_json
from bot.entrypoints.http.update_checks import unfit_reason
from storage.db import Database
from storage.updates import MAX_CLAIM, claim_updates, prune_updates

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
DEFAULT_PATH = "/telegram/webhook"
# Telegram's updates are a few KB (a 4096-character message with entities and a reply).
MAX_UPDATE = 1024 * 1024
DROPPED_HEADER = "X-Newsbot-Dropped"
# How long a taken update_id is remembered, and how often older ones are pruned.
KEEP_UPDATES = timedelta(days=1)
PRUNE_EVERY_SECONDS = 3600.0


class NotAnUpdate(Exception):
    """The JSON is not a Telegram update; `str(self)` says why."""


def parse_update(data: Any, application: Application) -> Update:
    """`data` as an Update, or NotAnUpdate naming what is missing or wrong."""
    if not isinstance(data, dict):
        raise NotAnUpdate("body is not an update: it must be a JSON object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise NotAnUpdate("not an update: update_id must be an integer")
    # Besides its id, every field of an update (message, callback_query, ...) is an object.
    kinds = [name for name in data if name != "update_id"]
    for name in kinds:
        if not isinstance(data[name], dict):
            raise NotAnUpdate(f"not an update: {name[:64]} must be an object")
    try:
        return Update.de_json(data, application.bot)
    # de_json builds objects straight from the JSON and fails however the JSON is wrong
    # (KeyError or TypeError for a missing field, TypeError or AttributeError for a string
    # where an object belongs, OverflowError for a bad date): all mean "malformed".
    except Exception as exc:
        where = f"{kinds[0][:64]}: " if len(kinds) == 1 else ""
        raise NotAnUpdate(f"not a valid Telegram update: {where}{_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    """What PTB's exception says, short: a KeyError is the name of a missing field."""
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def webhook_path(url: str) -> str:
    """The path Telegram will POST to: the webhook URL's own path (behind a proxy, the
    proxy forwards it unchanged)."""
    return urlsplit(url).path or DEFAULT_PATH


def new_secret() -> str:
    """Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -."""
    return secrets.token_urlsafe(48)


class UpdateLedger:
    """The update_ids taken, in the database (so across restarts and instances), pruned
    to about a day as the webhook goes.

    Claims are committed in groups: while one transaction is in flight, the update_ids that
    arrive wait for the next, which claims them all in one statement. A flood of 300 POSTs
    costs a handful of transactions, not 300 in a row (on SQLite, one writer at a time), so
    every POST, the flooder's and everyone else's, is answered within a transaction or two.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._pruned_at: float | None = None
        self._waiting: dict[int, asyncio.Future[bool]] = {}
        self._flushing: asyncio.Task[None] | None = None

    async def take(self, update_id: int) -> bool:
        """True for an update_id seen for the first time (now taken), False for a repeat."""
        if update_id in self._waiting:
            return False  # the same update twice in one group: the first takes it
        claim = asyncio.get_running_loop().create_future()
        self._waiting[update_id] = claim
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await claim

    async def _flush(self) -> None:
        """Claim whatever is waiting, group after group, until nothing is."""
        while self._waiting:
            ids = list(self._waiting)[:MAX_CLAIM]
            group = {update_id: self._waiting.pop(update_id) for update_id in ids}
            try:
                taken = await self._claim(ids)
            except Exception as exc:  # every POST of the group answers 503 (Telegram retries)
                for claim in group.values():
                    if not claim.done():
                        claim.set_exception(exc)
                continue
            for update_id, claim in group.items():
                if not claim.done():
                    claim.set_result(update_id in taken)

    async def _claim(self, update_ids: list[int]) -> set[int]:
        now = datetime.now(UTC)
        async with self._database.writing(), self._database.sessions.begin() as session:
            taken = await claim_updates(session, update_ids, now)
            if self._prune_due():
                pruned = await prune_updates(session, now - KEEP_UPDATES)
                log.debug("pruned %d webhook update ids older than a day", pruned)
        return taken

    def _prune_due(self) -> bool:
        clock = time.monotonic()
        if self._pruned_at is not None and clock - self._pruned_at < PRUNE_EVERY_SECONDS:
            return False
        self._pruned_at = clock
        return True


def _dropped(reason: str) -> Response:
    """200 (Telegram must not post it again), the reason in a header, an empty body."""
    return Response(status_code=200, headers={DROPPED_HEADER: reason[:200]})


def webhook_route(
    application: Application, path: str, secret: str, ledger: UpdateLedger | None = None
) -> Route:
    expected = secret.encode()

    async def receive(request: Request) -> Response:
        presented = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(presented, expected):
            log.warning("webhook request refused: missing or wrong secret token")
            return JSONResponse({"error": "wrong secret token"}, status_code=401)
        try:
            update = parse_update(await read_json(request, MAX_UPDATE), application)
        except BadBody as exc:
            status = 413 if exc.too_large else 400
            return JSONResponse({"error": f"body: {exc}"}, status_code=status)
        except NotAnUpdate as exc:
            log.warning("webhook update refused: %s", exc)
            return JSONResponse({"error": str(exc)}, status_code=400)
        reason = unfit_reason(update)
        if reason is not None:
            log.warning("webhook update %d dropped: %s", update.update_id, reason)
            return _dropped(reason)
        if ledger is not None:
            try:
                first = await ledger.take(update.update_id)
            except SQLAlchemyError as exc:  # Telegram posts it again later: nothing is lost
                log.warning("webhook update %d not taken: database: %s", update.update_id, exc)
                return JSONResponse({"error": "database unavailable"}, status_code=503)
            if not first:
                log.info("webhook update %d dropped: already taken", update.update_id)
                return _dropped("update_id already taken")
        application.update_queue.put_nowait(update)
        return Response(status_code=200)

    return Route(path, receive, methods=["POST"])
