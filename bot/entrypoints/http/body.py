"""Reading a JSON request body that a stranger wrote: bounded in size, depth and number length.

Without bounds, one request can stop the server from answering anyone: a body of any size is
buffered whole, `json.loads` of `[[[[...` 100,000 deep raises RecursionError, and an integer of
more than 4,300 digits raises ValueError. Here each of them is a `BadBody` naming the limit,
which the routes answer as 413 or 400/422 in their own error format.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

# Nesting a legitimate body ever needs: CMS bodies are 2 deep, Telegram updates about 10
# (a reply's message inside the message inside the update, with entities and markup).
MAX_DEPTH = 64
# Longer than any 64-bit id or Unix time; JSON numbers beyond it are never data.
MAX_INT_DIGITS = 32


class BadBody(Exception):
    """The body cannot be read as JSON within the limits; `str(self)` says why."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes.

    A declared Content-Length over the limit is refused before reading anything; a body sent
    without one (chunked) is read only until it passes the limit, so a client that lies or
    keeps sending costs at most `limit` bytes of memory.
    """
    too_large = BadBody(f"request body is larger than {limit} bytes", too_large=True)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared[:20]) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def parse_json(raw: bytes) -> Any:
    """`raw` as JSON, with nesting and integer length bounded."""
    try:
        data = json.loads(raw, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecursionError:
        raise BadBody(f"JSON is nested more than {MAX_DEPTH} levels deep") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadBody("not valid JSON") from None
    if _depth(data) > MAX_DEPTH:
        raise BadBody(f"JSON is nested more than {MAX_DEPTH} levels deep")
    return data


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body (None when empty), within `limit` bytes."""
    raw = await read_capped(request, limit)
    return parse_json(raw) if raw.strip() else None


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadBody(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _no_constant(name: str) -> Any:
    raise BadBody(f"{name} is not a JSON number")


def _depth(data: Any) -> int:
    """How deeply lists and objects nest in `data` (a scalar: 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        pending.extend((child, level + 1) for child in children)
    return deepest
