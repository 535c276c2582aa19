"""What a feed parser gives, whatever the format: the one model RSS, Atom (parser.py) and
JSON Feed (jsonfeed.py) are read into, and the byte repairs both report the same way.

Pure: no I/O, no feedparser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# What an undecodable byte sequence becomes (U+FFFD).
REPLACEMENT = "\ufffd"


class ParseError(StrEnum):
    NOT_A_FEED = "not_a_feed"  # e.g. an HTML page
    MALFORMED = "malformed"  # XML/JSON nobody can read
    EMPTY = "empty_body"


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One item as the feed states it, before any newsbot policy is applied."""

    guid: str | None
    link: str | None
    title: str  # may contain HTML entities/markup as in the feed
    summary_html: str  # description/summary/content, HTML as given
    image_url: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    language: str | None = None
    published: datetime | None = None  # aware, UTC
    updated: datetime | None = None  # aware, UTC
    unreadable_date: str | None = None  # a date the feed states that could not be read
    # The item's versions in other languages, as (hreflang, href) in feed order: its
    # <atom:link>/<xhtml:link rel="alternate" hreflang> (RSS) or <link hreflang> (Atom).
    alternates: tuple[tuple[str, str], ...] = ()


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


def decode_repairing(content: bytes, encoding: str) -> tuple[str, int]:
    """`content` decoded with every undecodable sequence replaced by U+FFFD; how many were.

    Replacements already in the text (a valid U+FFFD) are not counted as repairs.
    """
    text = content.decode(encoding, errors="replace")
    if REPLACEMENT not in text:
        return text, 0
    stated = content.decode(encoding, errors="ignore").count(REPLACEMENT)
    return text, text.count(REPLACEMENT) - stated


def repair_note(repairs: int, encoding: str) -> str | None:
    """The feed's warning for `repairs` replaced sequences (None: nothing was replaced)."""
    if not repairs:
        return None
    return f"replaced {repairs} invalid {encoding} byte sequence(s) with U+FFFD"
