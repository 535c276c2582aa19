"""JSON Feed 1.0/1.1 (https://jsonfeed.org) into the same ParsedFeed as RSS and Atom.

feedparser does not read JSON Feed, so this maps it by hand. A JSON document comes from a
server we do not control: every field is type-checked, and an item with the wrong shape is
skipped (and counted in `warning`) instead of failing the whole feed.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from bot.feeds.parsed import ParsedEntry, ParsedFeed, ParseError, decode_repairing, repair_note
from bot.feeds.text import plain_to_html

_JSON_STARTS = (b"{", b"[")
_WHITESPACE = b" \t\r\n"


def looks_like_json(content: bytes, content_type: str) -> bool:
    """True when the body is JSON: it starts with { or [, or is declared JSON and not XML."""
    head = content[:64].removeprefix(codecs.BOM_UTF8).lstrip(_WHITESPACE)
    if head[:1] in _JSON_STARTS:
        return True
    return "json" in content_type.lower() and head[:1] != b"<"


def parse_json_feed(content: bytes, *, url: str) -> ParsedFeed:
    """Map a JSON Feed document; MALFORMED for broken JSON, NOT_A_FEED for other JSON."""
    text, repairs = _json_text(content)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge ints
        return ParsedFeed(error=ParseError.MALFORMED, detail=f"invalid JSON: {exc}"[:200])
    if not isinstance(document, dict) or not _is_json_feed(document):
        return ParsedFeed(error=ParseError.NOT_A_FEED, detail="JSON document is not a JSON Feed")
    items = document.get("items", [])
    if not isinstance(items, list):
        return ParsedFeed(error=ParseError.MALFORMED, detail="JSON Feed 'items' is not a list")
    feed_author = _author(document)
    entries = [
        entry
        for item in items
        if isinstance(item, dict) and (entry := _entry(item, url, feed_author)) is not None
    ]
    skipped = len(items) - len(entries)
    warnings = [
        repair_note(repairs, "UTF-8"),
        f"skipped {skipped} malformed JSON Feed item(s)" if skipped else None,
    ]
    return ParsedFeed(
        title=_text(document.get("title")),
        link=_url(document.get("home_page_url"), url),
        language=_text(document.get("language")),
        entries=entries,
        warning="; ".join(note for note in warnings if note) or None,
    )


def _json_text(content: bytes) -> tuple[str, int]:
    """The document as text, invalid UTF-8 replaced: (text, how many sequences were).

    JSON is UTF-8 (RFC 8259 §8.1), so one bad byte in a headline must not lose the whole
    feed, as `json.loads(bytes)` would; UTF-16/32 (which json detects) is still read.
    """
    encoding = json.detect_encoding(content)
    text, repairs = decode_repairing(content, encoding)
    return text.removeprefix("\ufeff"), repairs


def _is_json_feed(document: Mapping[str, Any]) -> bool:
    version = document.get("version")
    return isinstance(version, str) and "jsonfeed.org/version/" in version


def _entry(item: Mapping[str, Any], base: str, feed_author: str | None) -> ParsedEntry | None:
    """One item, or None when it has nothing at all to identify or show."""
    guid = _identifier(item.get("id"))
    link = _url(item.get("url"), base) or _url(item.get("external_url"), base)
    title = _text(item.get("title")) or ""
    body = _body_html(item)
    if not (guid or link or title or body):
        return None
    published, updated = _rfc3339(item.get("date_published")), _rfc3339(item.get("date_modified"))
    return ParsedEntry(
        guid=guid,
        link=link,
        title=plain_to_html(title),
        summary_html=body,
        image_url=_url(item.get("image"), base) or _url(item.get("banner_image"), base),
        author=_author(item) or feed_author,
        categories=_tags(item.get("tags")),
        language=_text(item.get("language")),
        published=published,
        updated=updated,
        unreadable_date=None
        if published or updated
        else _text(item.get("date_published")) or _text(item.get("date_modified")),
    )


def _body_html(item: Mapping[str, Any]) -> str:
    """content_html, else content_text escaped, or the summary when that is longer."""
    content_html = _text(item.get("content_html"))
    content_text = _text(item.get("content_text"))
    content = content_html or (plain_to_html(content_text) if content_text else "")
    summary = _text(item.get("summary"))
    summary_html = plain_to_html(summary) if summary else ""
    return summary_html if len(summary_html) > len(content) else content


def _author(obj: Mapping[str, Any]) -> str | None:
    """First named author: 1.1 `authors` list, else 1.0 `author` object."""
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else [obj.get("author")]
    for candidate in candidates:
        if isinstance(candidate, dict) and (name := _text(candidate.get("name"))):
            return name
    return None


def _tags(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(tag.strip() for tag in value if isinstance(tag, str) and tag.strip())


def _text(value: object) -> str | None:
    """A non-blank string, minus lone surrogates (JSON "\\ud800" escapes cannot be stored)."""
    if not isinstance(value, str):
        return None
    if not value.isascii():
        value = value.encode("utf-8", "ignore").decode("utf-8")
    return value.strip() or None


def _identifier(value: object) -> str | None:
    """Item id: a string per spec, but numeric ids are common in the wild."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _url(value: object, base: str) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return urljoin(base, text)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None


def _rfc3339(value: object) -> datetime | None:
    """RFC 3339 date as aware UTC; naive means UTC; anything unreadable is None."""
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 with a positive offset, etc.
        return None
