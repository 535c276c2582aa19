"""Telegram's webhook: updates arrive as POSTs and go straight into PTB's update queue.

Telegram signs nothing; it repeats the `secret_token` given to setWebhook in the
X-Telegram-Bot-Api-Secret-Token header. A request without it is refused before its body is
read, so a stranger who finds the URL can neither inject updates nor learn anything.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
DEFAULT_PATH = "/telegram/webhook"


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
            data = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"error": "body is not an update"}, status_code=400)
        update = Update.de_json(data, application.bot)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Route(path, receive, methods=["POST"])
