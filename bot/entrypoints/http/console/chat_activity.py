"""The console's "send a test" and delivery history for a chat's admins (issue 24, part 2).

Admins only, checked as the other chat paths check them (channels.py `ConsoleChannels.chat`:
Telegram's word, 403 alike for a chat that is not theirs or not served). The test sends the
latest story with the chat's saved settings, once a minute per chat (bot/services/chat_test.py;
429 with Retry-After), and logs who sent it where; the history lists the chat's last outbox
rows with their outcomes in the trace's words (bot/services/chat_history.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.entrypoints.http.console.auth import NO_STORE, Caller, error
from bot.entrypoints.http.console.channels import ConsoleChannels
from bot.services.chat_history import DEFAULT_LIMIT, MAX_LIMIT, ChatHistory, Delivered
from bot.services.chat_test import ChatTests, NoStory, TelegramRefused, TooSoon

log = logging.getLogger(__name__)

NO_STORY = "no story for this chat yet"
TOO_SOON = "one test a minute per chat: try again later"


class ConsoleChatActivity:
    """The handlers: check the admin (through `channels`), call the use case, shape JSON."""

    def __init__(
        self, channels: ConsoleChannels, tests: ChatTests | None, history: ChatHistory
    ) -> None:
        self._channels = channels
        self._tests = tests
        self._history = history

    async def test(self, request: Request, caller: Caller) -> Response:
        chat = await self._channels.chat(request, caller)
        if isinstance(chat, Response):
            return chat
        if self._tests is None:  # no bot to send with (the chat paths answer 403 then too)
            return error(403, "you do not administer this chat")
        try:
            sent = await self._tests.send(chat)
        except TooSoon as soon:
            return error(429, TOO_SOON, {"Retry-After": str(soon.retry_after)})
        except NoStory:
            return error(404, NO_STORY)
        except TelegramRefused as refused:
            log.info(
                "console: user %d sent a test to chat %d: Telegram refused it (%s)",
                caller.user.user_id,
                chat.chat_id,
                refused.reason,
            )
            return error(502, refused.reason)
        log.info(
            "console: user %d sent a test of story %d to chat %d",
            caller.user.user_id,
            sent.story_id,
            chat.chat_id,
            extra={"user_id": caller.user.user_id, "chat_id": chat.chat_id},
        )
        return _json({"sent": True, "story_id": sent.story_id, "message_id": sent.message_id})

    async def history(self, request: Request, caller: Caller) -> Response:
        chat = await self._channels.chat(request, caller)
        if isinstance(chat, Response):
            return chat
        raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
        if not raw.isascii() or not raw.isdigit() or len(raw) > 3 or not 1 <= int(raw) <= MAX_LIMIT:
            return error(422, f"limit must be a whole number from 1 to {MAX_LIMIT}")
        found = await self._history.last(chat, int(raw))
        return _json({"deliveries": [_delivery(item) for item in found]})


def _delivery(item: Delivered) -> dict[str, object]:
    return {
        "story_id": item.story_id,
        "alert_id": item.alert_id,
        "digest": item.digest_slot,
        "headline": item.headline,
        "status": item.status,
        "outcome": item.outcome.value,
        "reason": item.reason,
        "queued": _time(item.queued_at),
        "sent": _time(item.sent_at),
    }


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _json(body: object) -> JSONResponse:
    return JSONResponse(body, headers=NO_STORE)
