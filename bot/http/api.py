"""The CMS API routes (/api/v1/...): check the bearer token, validate, call `CmsDesk`, answer.

Errors never echo what the client sent in a header (a mistyped token stays out of answers
and logs); a bad body answers 422 naming each field that is wrong.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.http.cms import CmsDesk, IdempotencyConflict, StoryIn
from bot.http.openapi import openapi_document

log = logging.getLogger(__name__)

Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
MAX_BREAKING_TEXT = 3000
MAX_KEY = 255


def _known_section(slug: str, info: ValidationInfo) -> str:
    known: Sequence[str] = (info.context or {}).get("sections", ())
    if slug not in known:
        raise ValueError(f"unknown section {slug!r}")
    return slug


class BreakingBody(BaseModel):
    """POST /api/v1/breaking"""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_BREAKING_TEXT)
    ]
    link: Url | None = None
    sections: Annotated[list[Slug], Field(min_length=1, max_length=64)] | None = None

    @field_validator("sections")
    @classmethod
    def _sections_known(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return None
        return list(dict.fromkeys(_known_section(slug, info) for slug in value))


class StoryBody(BaseModel):
    """POST /api/v1/stories"""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    url: Url
    section: Slug
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)] = ""
    image: Url | None = None
    published_at: AwareDatetime | None = None
    language: Literal["en", "ru", "kk"] | None = None

    @field_validator("section")
    @classmethod
    def _section_known(cls, value: str, info: ValidationInfo) -> str:
        return _known_section(value, info)


def problem(status: int, error: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="newsbot"'} if status == 401 else None
    return JSONResponse({"error": error, **extra}, status_code=status, headers=headers)


def invalid(fields: list[dict[str, str]]) -> JSONResponse:
    return problem(422, "invalid request body", fields=fields)


def _field_errors(error: ValidationError) -> list[dict[str, str]]:
    """[{field, message}]: the dotted field path and pydantic's message, never the input."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "body",
            "message": item["msg"].removeprefix("Value error, "),
        }
        for item in error.errors(include_input=False, include_url=False)
    ]


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


def cms_routes(cms: CmsDesk, tokens: TokenCheck, sections: Sequence[str]) -> list[Route]:
    """The /api/v1 routes bound to one `CmsDesk`."""
    context = {"sections": list(sections)}

    def protected(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if not tokens.allows(request):
                return problem(401, "missing or invalid bearer token")
            return await handler(request)

        return guarded

    async def body_of(request: Request, model: type[BaseModel]) -> BaseModel | JSONResponse:
        try:
            data = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return invalid([{"field": "body", "message": "not valid JSON"}])
        if not isinstance(data, dict):
            return invalid([{"field": "body", "message": "must be a JSON object"}])
        try:
            return model.model_validate(data, context=context)
        except ValidationError as exc:
            return invalid(_field_errors(exc))

    async def breaking(request: Request) -> Response:
        body = await body_of(request, BreakingBody)
        if isinstance(body, JSONResponse):
            return body
        assert isinstance(body, BreakingBody)
        key = request.headers.get("idempotency-key")
        if key is not None and not 1 <= len(key) <= MAX_KEY:
            return invalid(
                [{"field": "Idempotency-Key", "message": f"must be 1 to {MAX_KEY} characters"}]
            )
        try:
            push = await cms.breaking(body.text, body.link, body.sections, key)
        except IdempotencyConflict:
            return problem(409, "Idempotency-Key was already used for a different body")
        headers = {"Idempotent-Replayed": "true"} if push.replayed else None
        return JSONResponse(
            {"id": push.id, "queued": push.queued}, status_code=202, headers=headers
        )

    async def stories(request: Request) -> Response:
        body = await body_of(request, StoryBody)
        if isinstance(body, JSONResponse):
            return body
        assert isinstance(body, StoryBody)
        stored = await cms.story(
            StoryIn(
                title=body.title,
                url=body.url,
                section=body.section,
                summary=body.summary,
                image=body.image,
                published_at=body.published_at,
                language=body.language,
            )
        )
        return JSONResponse(
            {"id": stored.id, "new": stored.new}, status_code=201 if stored.new else 200
        )

    async def deliveries(request: Request) -> Response:
        raw = request.path_params["alert_id"]
        progress = await cms.progress(raw)
        if progress is None:
            return problem(404, f"no breaking news with id {raw}")
        return JSONResponse(
            {
                "queued": progress.queued,
                "sending": progress.sending,
                "sent": progress.sent,
                "failed": progress.failed,
            }
        )

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(sections))

    return [
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/breaking", protected(breaking), methods=["POST"]),
        Route("/api/v1/stories", protected(stories), methods=["POST"]),
        Route("/api/v1/deliveries/{alert_id:int}", protected(deliveries), methods=["GET"]),
    ]
