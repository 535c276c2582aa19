"""Sending: sendMessage and sendPhoto, and how a sent message is stored, recorded in
``sent`` and checked for duplicates."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.bot_api.values import SentMessage, Upload, _bad, _clone
from tests.fakes.bot_api.world import _ChatState


class SendingMethods:
    """sendMessage, sendPhoto, and storing/recording what the bot sent.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def _store_message(
        self,
        method: str,
        state: _ChatState,
        params: dict[str, Any],
        extra: dict[str, Any],
        *,
        raw_text: str,
        visible: str,
        entities: list[dict[str, Any]],
        photo: str | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._new_message_id(state),
            "date": int(time.time()),
            "chat": self._chat_json(state),
        }
        if state.chat.type == "channel":
            message["sender_chat"] = state.chat.to_api()
        else:
            message["from"] = self._bot_api_user()
        message.update(extra)
        if params.get("protect_content"):
            message["has_protected_content"] = True
        self._messages[(state.chat.id, message["message_id"])] = message
        self._bot_messages.add((state.chat.id, message["message_id"]))
        record = self._record(method, state.chat.id, message, params, raw_text, visible, entities)
        record.photo = photo
        key = (state.chat.id, method, visible, photo)
        if key in self._content_seen:
            self._duplicates.append(record)
        self._content_seen.add(key)
        for answer in list(self._answers_at_once):
            predicate, user, text = answer
            if predicate(record):
                self._answers_at_once.remove(answer)
                self.reply_to(user, record, text)
                self._hold_answer = True
        return _clone(message)

    def _record(
        self,
        method: str,
        chat_id: int,
        message: dict[str, Any],
        params: dict[str, Any],
        raw_text: str,
        visible: str,
        entities: list[dict[str, Any]],
    ) -> SentMessage:
        caption = params.get("caption") if "caption" in message or method == "sendPhoto" else None
        preview = params.get("link_preview_options")
        record = SentMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            method=method,
            text=raw_text,
            caption=caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=_clone(message.get("reply_markup")),
            disable_notification=bool(params.get("disable_notification")),
            link_preview_options=preview if isinstance(preview, dict) else None,
            photo=None,
            time=time.time(),
            plain_text=visible,
            entities=_clone(entities),
            message_thread_id=message.get("message_thread_id"),
            params=params,
            message=_clone(message),
        )
        self.sent.append(record)
        return record

    def _api_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._writable_chat(params.get("chat_id"))
        raw, visible, entities = self._message_text(params)
        markup = self._reply_markup(params, state)
        replied = self._reply_to(params, state)
        preview = params.get("link_preview_options")
        if preview is not None and not isinstance(preview, dict):
            raise _bad("can't parse link preview options JSON object")
        if preview is None and params.get("disable_web_page_preview"):
            preview = {"is_disabled": True}
            params["link_preview_options"] = preview
        topic = self._topic_of(state, params)
        self._check_rate(state, params)
        extra: dict[str, Any] = {"text": visible, **topic}
        if entities:
            extra["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            extra["reply_markup"] = markup
        if replied is not None:
            extra["reply_to_message"] = replied
        if preview:
            extra["link_preview_options"] = preview
        return self._store_message(
            "sendMessage", state, params, extra, raw_text=raw, visible=visible, entities=entities
        )

    def _photo_file(self, params: dict[str, Any]) -> tuple[str, str]:
        """(what the bot sent as ``photo``, the file_id Telegram now knows it by)."""
        photo = params.get("photo")
        if isinstance(photo, Upload):
            if not photo.data:
                raise _bad("file must be non-empty")
            return f"upload:{photo.filename or photo.field}", self._new_file_id()
        if not isinstance(photo, str) or not photo:
            raise _bad("there is no photo in the request")
        if photo.startswith("attach://"):
            raise _bad("wrong file identifier/HTTP URL specified")
        if photo.startswith(("http://", "https://")):
            parts = urlsplit(photo)
            if not parts.hostname or any(ch.isspace() for ch in photo):
                raise _bad("wrong file identifier/HTTP URL specified")
            if "." not in parts.hostname:  # an intranet name Telegram's servers cannot reach
                raise _bad("failed to get HTTP URL content")
            return photo, self._new_file_id()
        if photo not in self._file_ids:
            raise _bad("wrong file identifier/HTTP URL specified")
        return photo, photo

    def _new_file_id(self) -> str:
        file_id = f"AgACAgIAAxkDFAKE{next(self._file_counter):08d}"
        self._file_ids.add(file_id)
        return file_id

    def _api_send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._writable_chat(params.get("chat_id"))
        photo, file_id = self._photo_file(params)
        caption, visible, entities = self._message_caption(params)
        markup = self._reply_markup(params, state)
        replied = self._reply_to(params, state)
        topic = self._topic_of(state, params)
        self._check_rate(state, params)
        extra: dict[str, Any] = {
            **topic,
            "photo": [
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id[-12:]}s",
                    "width": 90,
                    "height": 60,
                    "file_size": 1200,
                },
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id[-12:]}l",
                    "width": 1280,
                    "height": 853,
                    "file_size": 98000,
                },
            ],
        }
        if caption is not None:
            extra["caption"] = visible
            if entities:
                extra["caption_entities"] = entities
        if params.get("has_spoiler"):
            extra["has_media_spoiler"] = True
        if markup is not None and "inline_keyboard" in markup:
            extra["reply_markup"] = markup
        if replied is not None:
            extra["reply_to_message"] = replied
        return self._store_message(
            "sendPhoto",
            state,
            params,
            extra,
            raw_text=caption or "",
            visible=visible,
            entities=entities,
            photo=photo,
        )
