"""A send's parameters checked as Telegram checks them: text and captions (HTML parsed,
entities checked, lengths counted in UTF-16), reply markup and inline keyboards, and the
message replied to."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.fakes.bot_api.values import _bad, _clone
from tests.fakes.bot_api.vocabulary import _BUTTON_ACTIONS
from tests.fakes.bot_api.world import _ChatState
from tests.fakes.telegram_html import HTMLParseError, parse_html, utf16_len


class ParamsMixin:
    """Text, caption, markup and reply parameters, shared by sending and editing.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def _formatted(
        self, text: str, parse_mode: Any, entities: Any, *, what: str
    ) -> tuple[str, list[dict[str, Any]]]:
        """Visible text and entities for ``text`` as Telegram would render it."""
        if parse_mode:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    parsed = parse_html(text, strict_ampersand=self.strict_ampersand)
                except HTMLParseError as error:
                    raise _bad(f"can't parse entities: {error.description}") from None
                return parsed.text, parsed.entities
            if mode in {"markdown", "markdownv2"}:
                # Not validated (newsbot formats with HTML); length still counted raw.
                return text.strip(), []
            raise _bad("unsupported parse_mode")
        if entities is not None:
            if not isinstance(entities, list):
                raise _bad(f"can't parse {what} entities JSON object")
            total = utf16_len(text)
            for entity in entities:
                if (
                    not isinstance(entity, dict)
                    or not isinstance(entity.get("offset"), int)
                    or not isinstance(entity.get("length"), int)
                    or entity["offset"] < 0
                    or entity["length"] <= 0
                    or entity["offset"] + entity["length"] > total
                ):
                    raise _bad("can't parse entities: entity beyond the end of the text")
            return text, _clone(entities)
        return text.strip(), []

    def _message_text(self, params: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise _bad("message text is empty")
        visible, entities = self._formatted(
            text, params.get("parse_mode"), params.get("entities"), what="message"
        )
        if not visible.strip():
            raise _bad("message text is empty")
        if utf16_len(visible) > 4096:
            raise _bad("message is too long")
        return text, visible, entities

    def _message_caption(
        self, params: dict[str, Any]
    ) -> tuple[str | None, str, list[dict[str, Any]]]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, "", []
        if not isinstance(caption, str):
            raise _bad("can't parse caption")
        visible, entities = self._formatted(
            caption, params.get("parse_mode"), params.get("caption_entities"), what="caption"
        )
        if utf16_len(visible) > 1024:
            raise _bad("message caption is too long")
        return caption, visible, entities

    def _reply_markup(
        self, params: dict[str, Any], state: _ChatState | None, *, inline_only: bool = False
    ) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup["inline_keyboard"], state)
            return _clone(markup)
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'can\'t parse reply keyboard markup JSON object: Field "keyboard" '
                    "must be an Array of Arrays"
                )
            return _clone(markup)
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return _clone(markup)
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_to(self, params: dict[str, Any], state: _ChatState) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") not in (None, state.chat.id):
                target = self._find_chat(reply["chat_id"])
            else:
                target = state
        elif params.get("reply_to_message_id"):
            message_id, target = params["reply_to_message_id"], state
        else:
            return None
        original = self._messages.get((target.chat.id, message_id)) if message_id else None
        if original is None:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        replied = _clone(original)
        replied.pop("reply_to_message", None)
        return replied


def _valid_button_url(url: Any) -> bool:
    if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"}:
        return bool(parts.hostname) and "." in (parts.hostname or "")
    if parts.scheme == "tg":
        return bool(parts.netloc or parts.path)
    return False


def _check_inline_keyboard(rows: Any, state: _ChatState | None) -> None:
    """Telegram's InlineKeyboardMarkup rules (and one stricter: one action per button)."""
    if not isinstance(rows, list):
        raise _bad(
            'can\'t parse inline keyboard button: Field "inline_keyboard" of the '
            "InlineKeyboardMarkup must be an Array"
        )
    total = 0
    for row in rows:
        if not isinstance(row, list):
            raise _bad(
                'can\'t parse inline keyboard button: Field "inline_keyboard" of the '
                "InlineKeyboardMarkup must be an Array of Arrays"
            )
        for button in row:
            total += 1
            if not isinstance(button, dict):
                raise _bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not text.strip():
                raise _bad("BUTTON_TEXT_INVALID")
            actions = [name for name in _BUTTON_ACTIONS if name in button]
            if not actions:
                raise _bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                raise _bad(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, got {', '.join(actions)}"
                )
            action = actions[0]
            if action == "callback_data":
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
            elif action == "url":
                if not _valid_button_url(button["url"]):
                    raise _bad("BUTTON_URL_INVALID")
            elif action in {"web_app", "login_url"}:
                target = button[action]
                url = target.get("url") if isinstance(target, dict) else None
                if not isinstance(url, str) or not url.startswith("https://"):
                    raise _bad("BUTTON_URL_INVALID")
                if action == "web_app" and state is not None and state.chat.type != "private":
                    raise _bad("BUTTON_TYPE_INVALID")
            elif action == "copy_text":
                target = button["copy_text"]
                copied = target.get("text") if isinstance(target, dict) else None
                if not isinstance(copied, str) or not 1 <= len(copied) <= 256:
                    raise _bad("BUTTON_COPY_TEXT_INVALID")
    if total > 100:
        raise _bad("reply markup is too long")
