"""Answers to what users did: answerCallbackQuery and answerInlineQuery (a query too old is
refused, as Telegram does)."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.bot_api.methods.params import _check_inline_keyboard
from tests.fakes.bot_api.values import _bad
from tests.fakes.bot_api.vocabulary import _QUERY_TOO_OLD


class AnswerMethods:
    """answerCallbackQuery and answerInlineQuery.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def _api_answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        created = self._callback_queries.pop(str(query_id), None) if query_id else None
        if created is None or time.monotonic() - created > self.callback_query_ttl:
            raise _bad(_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        text = params.get("text")
        if text is not None and len(text) > 200:
            self._callback_queries[str(query_id)] = created
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            {
                "callback_query_id": str(query_id),
                "text": text,
                "show_alert": bool(params.get("show_alert")),
                "url": params.get("url"),
                "cache_time": params.get("cache_time"),
            }
        )
        return True

    def _api_answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("inline_query_id")
        created = self._inline_queries.pop(str(query_id), None) if query_id else None
        if created is None or time.monotonic() - created > self.callback_query_ttl:
            raise _bad(_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse results JSON object")
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or "type" not in result:
                raise _bad("can't parse InlineQueryResult JSON object")
            result_id = str(result.get("id", ""))
            if not 1 <= len(result_id.encode()) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            if "reply_markup" in result:
                _check_inline_keyboard((result["reply_markup"] or {}).get("inline_keyboard"), None)
        self.inline_answers.append({"inline_query_id": str(query_id), **params})
        return True
