"""Parsing feed bytes into entries: RSS 0.9x/1.0/2.0 and Atom via feedparser, JSON Feed by hand.

Pure and synchronous (no I/O), so it can run in a worker process. CONTRACT:

    parsed = parse_feed(content, url=final_url, headers=response_headers)

`parse_feed` never raises: unreadable input gives ParsedFeed(error=ParseError...), and
broken-but-readable XML gives its readable entries with `warning` set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ParseError(StrEnum):
    NOT_A_FEED = "not_a_feed"          # e.g. an HTML page
    MALFORMED = "malformed"            # XML/JSON nobody can read
    EMPTY = "empty_body"


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One item as the feed states it, before any newsbot policy is applied."""

    guid: str | None
    link: str | None
    title: str                         # may contain HTML entities/markup as in the feed
    summary_html: str                  # description/summary/content, HTML as given
    image_url: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    language: str | None = None
    published: datetime | None = None  # aware, UTC
    updated: datetime | None = None    # aware, UTC


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None = None
    link: str | None = None
    language: str | None = None
    entries: list[ParsedEntry] = field(default_factory=list)
    error: ParseError | None = None
    detail: str | None = None
    warning: str | None = None
    ttl_seconds: int | None = None
