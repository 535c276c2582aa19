"""Chats and their members: finding the chat a request names, Telegram's refusals to write
(blocked, kicked, migrated, no right to post), getChat and the member methods."""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.bot_api.values import ApiError, _bad
from tests.fakes.bot_api.vocabulary import _CHAT_ACTIONS
from tests.fakes.bot_api.world import _ChatState


class ChatMethods:
    """getChat, getChatMember(s), getChatAdministrators, sendChatAction, leaveChat.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def _find_chat(self, raw: Any) -> _ChatState:
        """The chat ``raw`` names, or 400 chat not found (no permission checks)."""
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for state in self._chats.values():
                if state.chat.username and state.chat.username.lower() == raw[1:].lower():
                    return state
            raise _bad("chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        state = self._chats.get(chat_id)
        if state is None:
            if chat_id > 0:
                return self._private_state(chat_id)
            raise _bad("chat not found")
        return state

    def _writable_chat(self, raw: Any, *, posting: bool = True) -> _ChatState:
        """The chat a message goes to, with Telegram's 400/403 refusals."""
        state = self._find_chat(raw)
        if state.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": state.migrated_to},
            )
        kind = state.chat.type
        if kind == "private":
            if state.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if self.strict_private_chats and not state.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return state
        if state.bot_status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if state.bot_status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        if (
            posting
            and kind == "channel"
            and not (
                state.bot_status == "creator"
                or (state.bot_status == "administrator" and state.bot_can_post)
            )
        ):
            raise _bad("need administrator rights in the channel chat")
        return state

    def _api_get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._find_chat(params.get("chat_id"))
        if state.chat.type != "private":
            self._writable_chat(params.get("chat_id"), posting=False)
        return {
            **self._chat_json(state),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _api_get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._find_chat(params.get("chat_id"))
        user_id = params.get("user_id")
        if not isinstance(user_id, int) or user_id <= 0:
            raise _bad("invalid user_id specified")
        if user_id == self.bot_id:
            if state.chat.type == "private":
                return {"status": "member", "user": self._bot_api_user()}
            return self._bot_member(state)
        if state.chat.type == "private":
            if user_id != state.chat.id:
                raise _bad("user not found")
            user = self._users.get(user_id)
            api_user = (
                user.to_api()
                if user
                else {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": state.chat.title or f"User {user_id}",
                }
            )
            return {"status": "member", "user": api_user}
        if state.chat.type == "channel" and state.bot_status not in {"administrator", "creator"}:
            raise _bad("member list is inaccessible")
        member = state.members.get(user_id)
        if member is not None:
            return copy.deepcopy(member)
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        return {"status": "left", "user": user.to_api()}

    def _api_get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        state = self._find_chat(params.get("chat_id"))
        if state.chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        if state.chat.type == "channel" and state.bot_status not in {"administrator", "creator"}:
            raise _bad("member list is inaccessible")
        admins = [
            copy.deepcopy(m)
            for m in state.members.values()
            if m["status"] in {"creator", "administrator"}
        ]
        admins.sort(key=lambda m: m["status"] != "creator")
        if state.bot_status in {"administrator", "creator"}:
            admins.append(self._bot_member(state))
        return admins

    def _api_get_chat_member_count(self, params: dict[str, Any]) -> int:
        state = self._find_chat(params.get("chat_id"))
        if state.chat.type == "private":
            return 2
        active = {"creator", "administrator", "member", "restricted"}
        members = sum(1 for m in state.members.values() if m["status"] in active)
        return members + (1 if state.bot_status in active else 0)

    def _api_send_chat_action(self, params: dict[str, Any]) -> bool:
        state = self._writable_chat(params.get("chat_id"), posting=False)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((state.chat.id, action))
        return True

    def _api_leave_chat(self, params: dict[str, Any]) -> bool:
        state = self._find_chat(params.get("chat_id"))
        if state.chat.type == "private":
            raise _bad("chat member status can't be changed in private chats")
        state.bot_status = "left"
        return True
