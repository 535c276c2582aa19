"""What a breaking-news request body may hold, shared by the CMS API (api.py) and the console
(console/routes.py): one set of checks, so a text the CMS may send the console may too.

A version's text loses NUL, other control and invisible characters before its length is
checked; a link is an http(s) URL a browser can open; a versions object is keyed by the
configured editions only. Errors name the field and never echo the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from bot.domain.invisible import strip_invisible

MAX_BREAKING_TEXT = 3000
# The tags of a tagged union are not field names: error paths leave them out ("text.ru",
# not "text.object.ru"). api.py tags the two forms of breaking news' `text` with them.
ONE_TEXT, PER_EDITION = "string", "object"
UNION_TAGS = frozenset({ONE_TEXT, PER_EDITION})


def _web_address(value: str) -> str:
    """An http(s) URL a browser can open: it has a host, and a port if any in range."""
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:  # an unclosed [IPv6 bracket, a port out of range
        raise ValueError(f"not a valid URL: {exc}") from None
    if not parts.hostname:
        raise ValueError("URL has no host")
    if not port_ok:
        raise ValueError("URL has port 0")
    return value


def _visible(value: object) -> object:
    """Strip NUL, other control and invisible characters, then spaces, before the length
    checks (a text of only such characters is empty)."""
    return strip_invisible(value).strip() if isinstance(value, str) else value


Url = Annotated[
    str,
    StringConstraints(pattern=r"^https?://\S+$", max_length=2048),
    AfterValidator(_web_address),
]
BreakingText = Annotated[
    str,
    BeforeValidator(_visible),
    StringConstraints(min_length=1, max_length=MAX_BREAKING_TEXT),
]


def versions_of(editions: Sequence[str]) -> type:
    """A versions object keyed by the configured editions only: another key is refused by
    name, and the schema lists the editions as its properties."""
    known = tuple(editions)

    def only_editions(texts: dict[str, str]) -> dict[str, str]:
        unknown = [key for key in texts if key not in known]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not an edition (editions: {', '.join(known)})")
        return texts

    text_schema = TypeAdapter(BreakingText).json_schema()
    schema = {
        "type": "object",
        "properties": {edition: text_schema for edition in known},
        "additionalProperties": False,
        "minProperties": 1,
    }
    return Annotated[  # type: ignore[return-value]
        dict[str, BreakingText],
        Field(min_length=1),
        AfterValidator(only_editions),
        WithJsonSchema(schema),
    ]


class FieldError(BaseModel):
    """One wrong field (dotted path) and what is wrong with it."""

    field: str
    message: str


def field_errors(error: ValidationError) -> list[FieldError]:
    """The dotted field path and pydantic's message for each error, never the input."""
    return [
        FieldError(
            field=".".join(str(part) for part in item["loc"] if part not in UNION_TAGS) or "body",
            message=item["msg"].removeprefix("Value error, "),
        )
        for item in error.errors(include_input=False, include_url=False)
    ]
