"""The CMS API's OpenAPI 3.1 description, generated from the models
`bot.entrypoints.http.api` validates with (pydantic's JSON schema), so the document cannot
promise what the API refuses or refuse what it accepts. Only the paths (summaries, status
codes) are written here; a test checks them against the routes the app registers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot import __version__

REF = "#/components/schemas/{model}"


def _json(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model)}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json("Error")}


def _answer(description: str, model: str) -> dict[str, Any]:
    return {"description": description, "content": _json(model)}


def component_schemas(
    requests: Sequence[type[BaseModel]], responses: Sequence[type[BaseModel]]
) -> dict[str, Any]:
    """components.schemas: each model's JSON schema under its class name; request bodies as
    validated, answers as serialized."""
    _, schemas = models_json_schema(
        [(model, "validation") for model in requests]
        + [(model, "serialization") for model in responses],
        ref_template=REF,
    )
    return dict(schemas.get("$defs", {}))


def openapi_document(
    breaking: type[BaseModel],
    story: type[BaseModel],
    *,
    responses: Sequence[type[BaseModel]],
    alert_id: dict[str, Any],
    idempotency_key: dict[str, Any],
) -> dict[str, Any]:
    """The document served at GET /api/v1/openapi.json.

    `breaking` and `story` are the request models (named BreakingRequest and StoryRequest),
    `responses` the answer models (BreakingQueued, StoryStored, Progress, Error), and the two
    parameter schemas come from the same TypeAdapters that check them.
    """
    body_errors = {
        "401": _error("Missing or wrong bearer token."),
        "413": _error("The body is larger than the API takes."),
        "422": _error("Invalid body: `fields` names each wrong field."),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newsbot CMS API",
            "version": __version__,
            "description": (
                "Push breaking news and stories from the newsroom's CMS into Telegram. "
                "Every call needs `Authorization: Bearer <token>` with a token from "
                "`api_tokens` in newsbot's config."
            ),
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/breaking": {
                "post": {
                    "summary": "Send breaking news to every chat that takes it",
                    "description": (
                        "Queues the alert at once, ahead of regular stories, exactly as an "
                        "editor's confirmed /breaking. With `sections`, only chats subscribed "
                        "to one of them receive it. Retrying with the same Idempotency-Key "
                        "returns the first answer and queues nothing more."
                    ),
                    "operationId": "pushBreaking",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": idempotency_key,
                        }
                    ],
                    "requestBody": {"required": True, "content": _json(breaking.__name__)},
                    "responses": {
                        "202": _answer(
                            "Queued (or replayed: header Idempotent-Replayed).", "BreakingQueued"
                        ),
                        **body_errors,
                        "409": _error("The Idempotency-Key was used with a different body."),
                    },
                }
            },
            "/api/v1/stories": {
                "post": {
                    "summary": "Store a story and push it to its section's subscribers",
                    "description": (
                        "Identified by its canonical URL: when the feed later carries the "
                        "same article it is not pushed again. Posting a known URL with a "
                        "changed title or summary corrects the sent messages in place."
                    ),
                    "operationId": "pushStory",
                    "requestBody": {"required": True, "content": _json(story.__name__)},
                    "responses": {
                        "201": _answer("Stored and queued for delivery.", "StoryStored"),
                        "200": _answer(
                            "Already known (new: false); nothing is pushed.", "StoryStored"
                        ),
                        **body_errors,
                    },
                }
            },
            "/api/v1/deliveries/{id}": {
                "get": {
                    "summary": "Progress of a breaking news fan-out",
                    "operationId": "breakingProgress",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": alert_id,
                        }
                    ],
                    "responses": {
                        "200": _answer("Deliveries by state.", "Progress"),
                        "401": _error("Missing or wrong bearer token."),
                        "404": _error("No breaking news with this id."),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": component_schemas([breaking, story], responses),
        },
    }
