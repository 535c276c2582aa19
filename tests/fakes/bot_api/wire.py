"""The wire: a request's parameters decoded and typed the way Telegram types them (query
string, JSON, form-urlencoded or multipart with uploads), and answers encoded as JSON.

Separate from the server so what a parameter *is* can be read without the plumbing."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from tests.fakes.bot_api.values import Upload, _bad
from tests.fakes.bot_api.vocabulary import _BOOL_FIELDS, _INT_FIELDS, _JSON_FIELDS


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _coerce(name: str, value: Any) -> Any:
    """Give a parameter its Bot API type, whatever the encoding it arrived in."""
    if isinstance(value, Upload):
        return value
    if name in _JSON_FIELDS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if name == "reply_markup" else name.replace("_", " ")
            raise _bad(f"can't parse {what} JSON object") from None
    if name in _INT_FIELDS and isinstance(value, str):
        try:
            return int(float(value)) if "." in value else int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None
    if name in _BOOL_FIELDS and isinstance(value, str):
        return value.strip().lower() in {"true", "1"}
    if name == "chat_id" and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return value


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string + JSON, form-urlencoded or multipart body, typed like Telegram does."""
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad("can't parse JSON object")
            raw.update(body)
        elif content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    raw[name] = Upload(name, value.filename, value.content_type, value.file.read())
                else:
                    raw[name] = value
    params = {name: _coerce(name, value) for name, value in raw.items()}
    # Multipart uploads reference their file parts as "attach://<name>".
    for name, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = params.get(value.removeprefix("attach://"))
            if isinstance(part, Upload):
                params[name] = part
    return params
