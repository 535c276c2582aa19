"""Telegram's webhook: updates arrive as POSTs and go straight into PTB's update queue.

Telegram signs nothing; it repeats the `secret_token` given to setWebhook in the
X-Telegram-Bot-Api-Secret-Token header. A request without it is refused before its body is
read, so a stranger who finds the URL can neither inject updates nor learn anything.

With the secret, a body that is not a Telegram update (too large, not JSON, nested too
deep, missing what PTB needs) is answered 400 or 413 naming the problem and never reaches the
update queue: nothing half-built is handled, and the server goes on serving.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.http.body import BadBody, read_json

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
DEFAULT_PATH = "/telegram/webhook"
# Telegram's updates are a few KB (a 4096-character message with entities and a reply).
MAX_UPDATE = 1024 * 1024


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


def webhook_route(application: Application, path: str, secret: str) -> Route:
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
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Route(path, receive, methods=["POST"])
