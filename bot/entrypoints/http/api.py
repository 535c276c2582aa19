"""The CMS API routes (/api/v1/...): check the bearer token, validate, call `CmsNewsroom`, answer.

Errors never echo what the client sent in a header (a mistyped token stays out of answers
and logs); a bad body answers 422 naming each field that is wrong.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
    field_validator,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.entrypoints.http.body import BadBody, read_json
from bot.entrypoints.http.breaking_body import (
    ONE_TEXT,
    PER_EDITION,
    BreakingText,
    FieldError,
    Url,
    field_errors,
    versions_of,
)
from bot.entrypoints.http.cms import CmsNewsroom
from bot.entrypoints.http.openapi import openapi_document
from bot.feeds.text import html_to_text
from bot.services.breaking import IdempotencyConflict
from bot.services.intake import StoryIn, StoryRefused

log = logging.getLogger(__name__)

MAX_KEY = 255
# A story's longest fields, each character escaped as \uXXXX, fit well within it.
MAX_BODY = 256 * 1024
# Ids are BIGINT: a larger number names no alert and must not reach the database.
MAX_ID = 2**63 - 1


def _has_text(value: str) -> str:
    if not html_to_text(value):
        raise ValueError("has no text once markup is removed")
    return value


def _within_utc_calendar(value: datetime) -> datetime:
    """Stored in UTC, so it must stay within years 1-9999 there (0001-01-01T00:00+14:00
    does not)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside years 1 to 9999 once converted to UTC") from None


Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
# The two forms of breaking news' `text`, told apart by the JSON type (tags: breaking_body.py).


def _text_form(value: object) -> str:
    return PER_EDITION if isinstance(value, dict) else ONE_TEXT


def _breaking_text(versions: type) -> object:
    """`text`: one text for every chat, or an object of `versions` (one per edition)."""
    return Annotated[
        Annotated[BreakingText, Tag(ONE_TEXT)] | Annotated[versions, Tag(PER_EDITION)],
        Discriminator(_text_form),
        Field(
            description='One text for every chat, or one per edition: {"kk": "…", "ru": "…"}; '
            "each chat gets its first edition's version, else the newsroom language's, "
            "else the first given."
        ),
    ]


AnyVersions = Annotated[dict[str, BreakingText], Field(min_length=1)]
AlertId = Annotated[int, Field(ge=1, le=MAX_ID)]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEY)]
ALERT_ID: TypeAdapter[int] = TypeAdapter(AlertId)
IDEMPOTENCY_KEY: TypeAdapter[str] = TypeAdapter(IdempotencyKey)


# `section` and `sections` take any slug here, and `language` any code; `request_models`
# narrows them to the configured sections and editions, in the validator and in the
# published schema alike. The docstrings are
# the schemas' descriptions in the published document.
class BreakingRequest(BaseModel):
    """Breaking news: for every chat that takes it, or only those subscribed to a section."""

    model_config = ConfigDict(extra="forbid")

    text: _breaking_text(AnyVersions)  # type: ignore[valid-type]
    link: Url | None = None
    sections: Annotated[list[Slug], Field(min_length=1, max_length=64)] | None = None

    @field_validator("sections")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))


class StoryRequest(BaseModel):
    """A story from the CMS, identified by its canonical URL."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
        AfterValidator(_has_text),
    ]
    url: Url
    section: Slug
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)] = ""
    image: Url | None = None
    published_at: Annotated[
        AwareDatetime | None,
        Field(description="With a time zone; default: now. A time in the future becomes now."),
    ] = None
    language: Annotated[
        str | None,
        Field(
            description="The story's language, one of the newsroom's editions; "
            "default: the newsroom's language's edition."
        ),
    ] = None
    translations: Annotated[
        dict[str, Url] | None,
        Field(
            max_length=16,
            description="Its versions in the newsroom's other editions: edition -> URL. "
            "A reader gets one version of a story, in an edition they read.",
        ),
    ] = None

    @field_validator("published_at")
    @classmethod
    def _in_calendar(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _within_utc_calendar(value)


class BreakingQueued(BaseModel):
    """The alert and the number of chats it was queued for."""

    id: int = Field(description="The alert id.")
    queued: int = Field(description="Chats it was queued for.")


class StoryStored(BaseModel):
    """The story's id; `new` is false when its URL was already known."""

    id: int
    new: bool


class Progress(BaseModel):
    """A breaking news fan-out's deliveries by state."""

    queued: int
    sending: int
    sent: int
    failed: int


class Error(BaseModel):
    """Every error answer; `fields` names each wrong field of an invalid request."""

    error: str
    fields: list[FieldError] | None = None


@dataclass(frozen=True, slots=True)
class RequestModels:
    """The request bodies with `section` and `sections` limited to the configured slugs,
    and a story's `language` and `translations` keys and breaking news' `text` object to
    the configured editions."""

    breaking: type[BreakingRequest]
    story: type[StoryRequest]


def request_models(sections: Sequence[str], editions: Sequence[str]) -> RequestModels:
    """Subclasses whose section fields accept exactly `sections`, and whose `language`,
    translations' keys and `text` objects accept exactly `editions`: one type validates
    the body and, through `model_json_schema`, documents it (an `enum` of the slugs, of
    the editions)."""
    known = tuple(sections)
    published = tuple(editions)

    def an_edition(key: str) -> str:
        if key not in published:
            raise ValueError(f"{key!r} is not an edition ({', '.join(published)})")
        return key

    edition = Annotated[
        str, AfterValidator(an_edition), WithJsonSchema({"type": "string", "enum": list(published)})
    ]

    def configured(slug: str) -> str:
        if slug not in known:
            raise ValueError(f"unknown section {slug!r}")
        return slug

    section = Annotated[
        str, AfterValidator(configured), WithJsonSchema({"type": "string", "enum": list(known)})
    ]
    breaking = create_model(
        "BreakingRequest",
        __base__=BreakingRequest,
        __doc__=BreakingRequest.__doc__,
        text=(_breaking_text(versions_of(editions)), ...),
        sections=(Annotated[list[section], Field(min_length=1, max_length=64)] | None, None),
    )
    translations_field = StoryRequest.model_fields["translations"]
    language_field = StoryRequest.model_fields["language"]
    story = create_model(
        "StoryRequest",
        __base__=StoryRequest,
        __doc__=StoryRequest.__doc__,
        section=section,
        language=(
            Annotated[edition | None, Field(description=language_field.description)],
            None,
        ),
        translations=(
            Annotated[
                dict[edition, Url] | None,
                Field(max_length=16, description=translations_field.description),
            ],
            None,
        ),
    )
    return RequestModels(breaking=breaking, story=story)


def problem(status: int, error: str, fields: list[FieldError] | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="newsbot"'} if status == 401 else None
    body = Error(error=error, fields=fields).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def invalid(fields: list[FieldError]) -> JSONResponse:
    return problem(422, "invalid request body", fields=fields)


def _alert_id(raw: str) -> int | None:
    """The path's id, or None when no alert can have it (not a whole number, or past BIGINT)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_ID)):
        return None
    try:
        return ALERT_ID.validate_python(int(raw))
    except ValidationError:
        return None


class TokenCheck:
    """Bearer tokens from `api_tokens`, compared in constant time against every token."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = [token.encode() for token in tokens if token]

    def allows(self, request: Request) -> bool:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented or not self._tokens:
            return False
        candidate = presented.strip().encode()
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(candidate, token)
        return matched


Handler = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)


def cms_routes(
    cms: CmsNewsroom, tokens: TokenCheck, sections: Sequence[str], editions: Sequence[str]
) -> list[Route]:
    """The /api/v1 routes bound to one `CmsNewsroom`."""
    models = request_models(sections, editions)
    document = openapi_document(
        models.breaking,
        models.story,
        responses=[BreakingQueued, StoryStored, Progress, Error],
        alert_id=ALERT_ID.json_schema(),
        idempotency_key=IDEMPOTENCY_KEY.json_schema(),
    )

    def protected(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if not tokens.allows(request):
                return problem(401, "missing or invalid bearer token")
            return await handler(request)

        return guarded

    async def body_of(request: Request, model: type[M]) -> M | JSONResponse:
        try:
            data = await read_json(request, MAX_BODY)
        except BadBody as exc:
            if exc.too_large:
                return problem(413, str(exc))
            return invalid([FieldError(field="body", message=str(exc))])
        if not isinstance(data, dict):
            return invalid([FieldError(field="body", message="must be a JSON object")])
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            return invalid(field_errors(exc))

    async def breaking(request: Request) -> Response:
        body = await body_of(request, models.breaking)
        if isinstance(body, JSONResponse):
            return body
        key = request.headers.get("idempotency-key")
        if key is not None:
            try:
                key = IDEMPOTENCY_KEY.validate_python(key)
            except ValidationError:
                message = f"must be 1 to {MAX_KEY} characters"
                return invalid([FieldError(field="Idempotency-Key", message=message)])
        try:
            push = await cms.breaking(body.text, body.link, body.sections, key)
        except IdempotencyConflict:
            return problem(409, "Idempotency-Key was already used for a different body")
        headers = {"Idempotent-Replayed": "true"} if push.replayed else None
        answer = BreakingQueued(id=push.id, queued=push.queued)
        return JSONResponse(answer.model_dump(), status_code=202, headers=headers)

    async def stories(request: Request) -> Response:
        body = await body_of(request, models.story)
        if isinstance(body, JSONResponse):
            return body
        try:
            stored = await cms.story(
                StoryIn(
                    title=body.title,
                    url=body.url,
                    section=body.section,
                    summary=body.summary,
                    image=body.image,
                    published_at=body.published_at,
                    language=body.language,
                    translations=body.translations,
                )
            )
        except StoryRefused as exc:
            return invalid([FieldError(field=exc.field, message=exc.reason)])
        answer = StoryStored(id=stored.id, new=stored.new)
        return JSONResponse(answer.model_dump(), status_code=201 if stored.new else 200)

    async def deliveries(request: Request) -> Response:
        raw = request.path_params["id"]
        alert_id = _alert_id(raw)
        progress = None if alert_id is None else await cms.progress(alert_id)
        if progress is None:
            return problem(404, f"no breaking news with id {raw[:40]}")
        answer = Progress(
            queued=progress.queued,
            sending=progress.sending,
            sent=progress.sent,
            failed=progress.failed,
        )
        return JSONResponse(answer.model_dump())

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    return [
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/breaking", protected(breaking), methods=["POST"]),
        Route("/api/v1/stories", protected(stories), methods=["POST"]),
        Route("/api/v1/deliveries/{id}", protected(deliveries), methods=["GET"]),
    ]
