"""The control API under ``/_control/``: so a benchmark in another process (the fake run
with ``python -m tests.fakes.bot_api``) can drive the world and read the counters."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.bot_api.values import FakeChat, FakeUser
from tests.fakes.bot_api.wire import _json


class ControlMixin:
    """``/_control/<action>``: JSON in, ``{"ok": ..., "result": ...}`` out.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    async def _control(self, request: web.Request, action: str) -> web.StreamResponse:
        """Tiny JSON API so a benchmark in another process can drive and read the fake."""
        try:
            body: dict[str, Any] = {}
            if request.method == "POST" and request.can_read_body:
                body = await request.json()
            result = self._control_action(action, body, dict(request.query))
        except (KeyError, TypeError, ValueError) as error:
            return _json({"ok": False, "description": f"{type(error).__name__}: {error}"}, 400)
        if result is _MISSING:
            return _json({"ok": False, "description": "Not Found"}, 404)
        return _json({"ok": True, "result": result}, 200)

    def _control_action(self, action: str, body: dict[str, Any], query: dict[str, str]) -> Any:
        def user(data: dict[str, Any]) -> FakeUser:
            return FakeUser(
                int(data["id"]),
                data.get("first_name", f"User {data['id']}"),
                data.get("language_code", "en"),
                data.get("username"),
            )

        def chat(data: dict[str, Any]) -> FakeChat:
            return FakeChat(int(data["id"]), data["type"], data.get("title"), data.get("username"))

        if action == "stats":
            return self.stats()
        if action == "sent_count":
            with self._lock:
                return len(self.sent)
        if action == "sent":
            since = int(query.get("since", 0))
            with self._lock:
                picked = self.sent[since:]
                if "chat_id" in query:
                    picked = [m for m in picked if m.chat_id == int(query["chat_id"])]
                return [m.to_json() for m in picked]
        if action == "reset":
            self.reset()
            return True
        if action == "register_chat":
            chats = body.get("chats", [body])
            for data in chats:
                self.register_chat(
                    chat(data),
                    bot_status=data.get("bot_status"),
                    can_post=data.get("can_post", True),
                )
            return len(chats)
        if action == "send_message":
            target = chat(body["chat"]) if body.get("chat") else None
            return self.send_message(user(body["user"]), body["text"], chat=target)
        if action == "press_button":
            with self._lock:
                message = self._messages[(int(body["chat_id"]), int(body["message_id"]))]
            return self.press_button(user(body["user"]), message, body["callback_data"])
        if action == "add_bot_to_channel":
            self.add_bot_to_channel(
                user(body["admin"]), chat(body["channel"]), can_post=body.get("can_post", True)
            )
            return True
        if action == "block":
            self.block(int(body["chat_id"]))
            return True
        if action == "migrate":
            self.migrate(int(body["chat_id"]), int(body["new_chat_id"]))
            return True
        if action == "inject_failures":
            latency = body.pop("latency", (0, 0))
            self.inject_failures(latency=(float(latency[0]), float(latency[1])), **body)
            return True
        if action == "clear_failures":
            self.clear_failures()
            return True
        if action == "config":
            with self._lock:
                for name in (
                    "rate_limit_global",
                    "paid_rate",
                    "per_chat_rate",
                    "group_per_minute",
                    "enforce_rate_limits",
                ):
                    if name in body:
                        setattr(self, name, body[name])
                self._chat_events.clear()
            return True
        return _MISSING


_MISSING = object()
