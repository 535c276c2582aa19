"""The console's editors' pages: breaking news (preview, send, progress) and the stats.

Breaking news goes through the same use case as /breaking and the CMS API
(bot/services/breaking.py `Breaking`): the preview renders with the composer's own code and
counts the chats the fan-out would queue, the send is `send_now` (the CMS's path, without an
Idempotency-Key: the page's confirmation is the editor's). The body is checked by the CMS
API's own rules (bot/entrypoints/http/breaking_body.py). Every send logs one line naming the
editor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.entrypoints.http.body import BadBody, read_json
from bot.entrypoints.http.breaking_body import FieldError, Url, field_errors, versions_of
from bot.entrypoints.http.console.auth import NO_STORE, Caller, error
from bot.outbound.i18n import Catalogues
from bot.outbound.message import OutgoingMessage
from bot.services.breaking import Breaking
from bot.services.console_stats import ConsoleStats, DeliveryStats
from storage.deliveries import Progress

log = logging.getLogger(__name__)

# Every edition's text at its longest, each character escaped as \uXXXX, fits well within it.
MAX_BODY = 128 * 1024
MAX_DAYS = 90
DEFAULT_DAYS = 7
MAX_ID = 2**63 - 1


class _BreakingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


def breaking_body(editions: Sequence[str]) -> type[BaseModel]:
    """`{"texts": {edition: text}, "link": url}`: the texts keyed by the configured
    editions, each checked as the CMS API checks a version, the link as its link."""
    return create_model(
        "ConsoleBreaking",
        __base__=_BreakingBody,
        texts=(versions_of(editions), ...),
        link=(Url | None, None),
    )


class ConsoleEditors:
    """The handlers: parse, call the use case, shape the JSON."""

    def __init__(
        self,
        breaking: Breaking,
        stats: ConsoleStats,
        catalogues: Catalogues,
        editions: Sequence[str],
        wake_delivery: Callable[[], None],
    ) -> None:
        self._breaking = breaking
        self._stats = stats
        self._catalogues = catalogues
        self._body = breaking_body(editions)
        self._wake = wake_delivery

    def warm(self) -> None:
        """An editor opened the console: have the reach and the Stats tab's default window
        counted in the background, so neither tab waits for its first count."""
        self._breaking.warm_reach()
        self._stats.warm(DEFAULT_DAYS)

    async def _read(self, request: Request) -> Any:
        """The valid body, or the 4xx answer refusing it."""
        try:
            data = await read_json(request, MAX_BODY)
        except BadBody as exc:
            if exc.too_large:
                return error(413, str(exc))
            return _invalid([FieldError(field="body", message=str(exc))])
        if not isinstance(data, dict):
            return _invalid([FieldError(field="body", message="must be a JSON object")])
        try:
            return self._body.model_validate(data)
        except ValidationError as exc:
            return _invalid(field_errors(exc))

    async def preview(self, request: Request, caller: Caller) -> Response:
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        versions = await self._breaking.preview(body.texts, body.link, self._catalogues.translator)
        return _json(
            {
                "editions": [
                    {
                        "edition": version.edition,
                        "chats": version.chats,
                        **_message(version.message),
                    }
                    for version in versions
                ],
                "chats": sum(version.chats for version in versions),
            }
        )

    async def send(self, request: Request, caller: Caller) -> Response:
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        push = await self._breaking.send_now(
            dict(body.texts), body.link, None, None, source="console", editor_id=caller.user.user_id
        )
        log.info(
            "console: breaking news %d by editor %d queued for %d chats",
            push.id,
            caller.user.user_id,
            push.queued,
            extra={"alert_id": push.id, "queued": push.queued, "user_id": caller.user.user_id},
        )
        self._wake()
        return _json({"id": push.id, "queued": push.queued}, status=201)

    async def progress(self, request: Request, caller: Caller) -> Response:
        raw = request.path_params["alert_id"]
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_ID:
            return error(404, "no such breaking news")
        found = await self._breaking.progress_by_edition(int(raw))
        if found is None:
            return error(404, "no such breaking news")
        return _json(
            {
                "id": int(raw),
                "editions": {edition: _progress(counts) for edition, counts in found.items()},
                "done": all(counts.pending == 0 for counts in found.values()),
            }
        )

    async def stats(self, request: Request, caller: Caller) -> Response:
        raw = request.query_params.get("days", str(DEFAULT_DAYS))
        if not raw.isascii() or not raw.isdigit() or len(raw) > 3 or not 1 <= int(raw) <= MAX_DAYS:
            return error(422, f"days must be a whole number from 1 to {MAX_DAYS}")
        return _json(_stats(await self._stats.stats(int(raw))))


def _invalid(fields: list[FieldError]) -> JSONResponse:
    body = {"error": "invalid request body", "fields": [field.model_dump() for field in fields]}
    return JSONResponse(body, status_code=422, headers=NO_STORE)


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _message(message: OutgoingMessage) -> dict[str, object]:
    """The message as Telegram would get it: its HTML and its buttons' rows."""
    return {
        "html": message.text,
        "buttons": [
            [{"text": button.text, "url": button.url} for button in row] for row in message.buttons
        ],
    }


def _progress(counts: Progress) -> dict[str, int]:
    return {
        "queued": counts.queued,
        "sending": counts.sending,
        "sent": counts.sent,
        "failed": counts.failed,
    }


def _stats(found: DeliveryStats) -> dict[str, object]:
    backlog = found.backlog
    return {
        "days": found.days,
        "series": [
            {"edition": line.edition, "sent": line.sent, "failed": line.failed}
            for line in found.series
        ],
        "backlog": {"depth": backlog.depth, "oldest_waiting": _time(backlog.oldest_queued_at)},
        "top": [
            {
                "id": story.id,
                "headline": story.headline,
                "section": story.section,
                "edition": story.edition,
                "time": _time(story.published_at),
                "reach": story.reach,
                "reactions": story.reactions,
            }
            for story in found.top
        ],
    }
