"""Editing and deleting: the editMessage* methods (with Telegram's "message is not
modified") and deleteMessage."""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.fakes.bot_api.values import _bad
from tests.fakes.bot_api.vocabulary import _NOT_MODIFIED
from tests.fakes.bot_api.world import _ChatState


class EditingMethods:
    """editMessageText/Caption/ReplyMarkup (also inline messages) and deleteMessage.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def _editable(self, params: dict[str, Any]) -> tuple[_ChatState, dict[str, Any]]:
        state = self._writable_chat(params.get("chat_id"), posting=False)
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or message_id <= 0:
            raise _bad("message identifier is not specified")
        message = self._messages.get((state.chat.id, message_id))
        if message is None:
            raise _bad("message to edit not found")
        if (state.chat.id, message_id) not in self._bot_messages:
            raise _bad("message can't be edited")
        return state, message

    def _edit_inline(self, method: str, params: dict[str, Any]) -> bool:
        visible = ""
        entities: list[dict[str, Any]] = []
        raw = params.get("text") or params.get("caption") or ""
        if method == "editMessageText":
            raw, visible, entities = self._message_text(params)
        markup = self._reply_markup(params, None, inline_only=True)
        self._record(
            method,
            0,
            {"message_id": 0, "reply_markup": markup} if markup else {"message_id": 0},
            params,
            raw,
            visible,
            entities,
        )
        return True

    def _api_edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return self._edit_inline("editMessageText", params)
        state, message = self._editable(params)
        raw, visible, entities = self._message_text(params)
        markup = self._reply_markup(params, state, inline_only=True)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        if (
            message["text"] == visible
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message["text"] = visible
        _set_or_drop(message, "entities", entities or None)
        _set_or_drop(message, "reply_markup", markup)
        preview = params.get("link_preview_options")
        _set_or_drop(
            message, "link_preview_options", preview if isinstance(preview, dict) else None
        )
        message["edit_date"] = int(time.time())
        self._record("editMessageText", state.chat.id, message, params, raw, visible, entities)
        return copy.deepcopy(message)

    def _api_edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return self._edit_inline("editMessageCaption", params)
        state, message = self._editable(params)
        caption, visible, entities = self._message_caption(params)
        markup = self._reply_markup(params, state, inline_only=True)
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        if (
            message.get("caption", "") == visible
            and message.get("caption_entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_or_drop(message, "caption", visible or None)
        _set_or_drop(message, "caption_entities", entities or None)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        self._record(
            "editMessageCaption", state.chat.id, message, params, caption or "", visible, entities
        )
        return copy.deepcopy(message)

    def _api_edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return self._edit_inline("editMessageReplyMarkup", params)
        state, message = self._editable(params)
        markup = self._reply_markup(params, state, inline_only=True)
        if message.get("reply_markup") == markup:
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        text = message.get("text", message.get("caption", ""))
        entities = message.get("entities", message.get("caption_entities", []))
        self._record("editMessageReplyMarkup", state.chat.id, message, params, text, text, entities)
        return copy.deepcopy(message)

    def _api_delete_message(self, params: dict[str, Any]) -> bool:
        state = self._find_chat(params.get("chat_id"))
        if state.migrated_to is not None:
            self._writable_chat(params.get("chat_id"), posting=False)
        message_id = params.get("message_id")
        key = (state.chat.id, message_id)
        if not isinstance(message_id, int) or key not in self._messages:
            raise _bad("message to delete not found")
        by_bot = key in self._bot_messages
        if (
            not by_bot
            and state.chat.type != "private"
            and state.bot_status
            not in {
                "administrator",
                "creator",
            }
        ):
            raise _bad("message can't be deleted")
        del self._messages[key]
        self.deleted.append((state.chat.id, message_id))
        return True


def _set_or_drop(message: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value
