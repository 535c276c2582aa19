"""The CMS API's OpenAPI 3.1 description, written by hand to match `bot.http.api` exactly
(tests check the routes, status codes and required fields agree)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import __version__


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(sections: Sequence[str]) -> dict[str, Any]:
    """The document served at GET /api/v1/openapi.json; `sections` are the config's slugs."""
    section = {"type": "string", "enum": list(sections)}
    url = {"type": "string", "format": "uri", "pattern": "^https?://", "maxLength": 2048}
    auth_errors = {
        "401": _error("Missing or wrong bearer token."),
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
                            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/BreakingRequest"}
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Queued (or replayed: header Idempotent-Replayed).",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/BreakingQueued"}
                                }
                            },
                        },
                        **auth_errors,
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
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/StoryRequest"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Stored and queued for delivery.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/StoryStored"}
                                }
                            },
                        },
                        "200": {
                            "description": "Already known (new: false); nothing is pushed.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/StoryStored"}
                                }
                            },
                        },
                        **auth_errors,
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
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Deliveries by state.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Progress"}
                                }
                            },
                        },
                        "401": _error("Missing or wrong bearer token."),
                        "404": _error("No breaking news with this id."),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "BreakingRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["text"],
                    "properties": {
                        "text": {"type": "string", "minLength": 1, "maxLength": 3000},
                        "link": url,
                        "sections": {
                            "type": "array",
                            "items": section,
                            "minItems": 1,
                            "maxItems": 64,
                        },
                    },
                },
                "BreakingQueued": {
                    "type": "object",
                    "required": ["id", "queued"],
                    "properties": {
                        "id": {"type": "integer", "description": "The alert id."},
                        "queued": {"type": "integer", "description": "Chats it was queued for."},
                    },
                },
                "StoryRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["title", "url", "section"],
                    "properties": {
                        "title": {"type": "string", "minLength": 1, "maxLength": 1000},
                        "url": url,
                        "section": section,
                        "summary": {"type": "string", "maxLength": 20000, "default": ""},
                        "image": url,
                        "published_at": {
                            "type": "string",
                            "format": "date-time",
                            "description": "With a time zone; default: now.",
                        },
                        "language": {"type": "string", "enum": ["en", "ru", "kk"]},
                    },
                },
                "StoryStored": {
                    "type": "object",
                    "required": ["id", "new"],
                    "properties": {"id": {"type": "integer"}, "new": {"type": "boolean"}},
                },
                "Progress": {
                    "type": "object",
                    "required": ["queued", "sending", "sent", "failed"],
                    "properties": {
                        state: {"type": "integer"}
                        for state in ("queued", "sending", "sent", "failed")
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "fields": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "field": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
