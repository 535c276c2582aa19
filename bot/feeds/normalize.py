"""Turning a parsed entry into a story newsbot stores: identity, plain text, canonical link.

Pure and synchronous. CONTRACT:

    draft = normalize_entry(entry, context)      # -> StoryDraft | None (None: nothing usable)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SUMMARY_LIMIT = 600
TITLE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What normalisation needs to know about the feed an entry came from."""

    feed_url: str                      # final URL: relative links resolve against it
    section: str | None                # the feed's own section (fallback)
    language: str | None               # configured language, else the feed's own
    categories: dict[str, str] = field(default_factory=dict)  # lower-cased category -> slug
    now: datetime | None = None        # aware UTC; "first seen" and the future clamp


@dataclass(frozen=True, slots=True)
class StoryDraft:
    identity: str                      # <= 255 chars, unique per story
    link: str | None                   # canonical: fragment and utm_* removed, absolute
    title: str                         # plain text
    summary: str                       # plain text, paragraphs separated by "\n\n"
    image_url: str | None
    author: str | None
    language: str | None
    section: str | None
    published_at: datetime             # aware UTC
    content_hash: str                  # of title + summary: detects corrections
