"""Parsing feed bytes into entries: RSS 0.9x/1.0/2.0 and Atom via feedparser, JSON Feed by hand.

Pure and synchronous (no I/O), so it can run in a worker process. CONTRACT:

    parsed = parse_feed(content, url=final_url, headers=response_headers)

`parse_feed` never raises: unreadable input gives ParsedFeed(error=ParseError...), and
broken-but-readable XML gives its readable entries with `warning` set.
"""

from __future__ import annotations

import html
import io
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.datetimes.rfc822 import _parse_date_rfc822
from feedparser.exceptions import NonXMLContentType
from feedparser.mixin import _FeedParserMixin

from bot.feeds.encoding import (
    as_utf8,
    declares_unsafe_entities,
    guess_cyrillic_charset,
    join_surrogate_references,
)
from bot.feeds.jsonfeed import looks_like_json, parse_json_feed
from bot.feeds.parsed import ParsedEntry, ParsedFeed, ParseError
from bot.feeds.text import plain_to_html

__all__ = ["ParseError", "ParsedEntry", "ParsedFeed", "parse_feed"]


def _start_xhtml_link(parser: Any, attrs: dict[str, str]) -> None:
    """<xhtml:link rel="alternate" hreflang href> in an RSS item (as sitemaps write it)
    read like <atom:link>: feedparser has no handler for it and dropped it silently."""
    if parser.inentry and attrs.get("hreflang") and attrs.get("href"):
        parser._start_link(attrs)


def _end_xhtml_link(parser: Any) -> None:
    """Nothing to close: `_start_xhtml_link` only records the element's attributes."""


# feedparser dispatches on `_start_<namespace prefix>_<element>`; it offers no other hook.
_FeedParserMixin._start_xhtml_link = _start_xhtml_link  # type: ignore[attr-defined]
_FeedParserMixin._end_xhtml_link = _end_xhtml_link  # type: ignore[attr-defined]

# --- sniffing (the encodings: bot/feeds/encoding.py) -----------------------------------------
_HTML_PAGE = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
    rb"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_NON_BLANK = re.compile(rb"[^\s\xef\xbb\xbf]")
_DETAIL_LIMIT = 200

# --- entries ---------------------------------------------------------------------------------
_FIRST_IMG_SRC = re.compile(
    r"<img\b[^>]*?\ssrc\s*=\s*(?:\"([^\"]+)\"|'([^']+)'|([^\s>]+))", re.IGNORECASE
)
# Day number then month name (a day name may lead): RFC 822 order, never asctime's.
_RFC822_ORDER = re.compile(
    r"\s*(?:[a-z]+,?\s+)?\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
    re.IGNORECASE,
)
_IMAGE_PATH = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:[?#]|$)", re.IGNORECASE)
_MAX_TTL_MINUTES = 7 * 24 * 60


def parse_feed(content: bytes, *, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """Entries of an RSS, Atom or JSON feed body fetched from `url` with `headers`."""
    try:
        return _parse(content, url, {key.lower(): value for key, value in headers.items()})
    except Exception as exc:  # the contract is "never raises": a crash is an unreadable feed
        return ParsedFeed(error=ParseError.MALFORMED, detail=_describe(exc))


def _parse(content: bytes, url: str, headers: dict[str, str]) -> ParsedFeed:
    if not content or _NON_BLANK.search(content) is None:
        return ParsedFeed(error=ParseError.EMPTY, detail="the response body is empty")
    content_type = headers.get("content-type", "")
    if looks_like_json(content, content_type):
        return parse_json_feed(content, url=url)
    feedparser_headers = {**headers, "content-location": url}
    content, repaired = as_utf8(content, feedparser_headers)
    if declares_unsafe_entities(content):  # after as_utf8: UTF-16 markup is screened too
        return ParsedFeed(
            error=ParseError.MALFORMED,
            detail="refused: the XML declares entities that could expand (entity-expansion attack)",
        )
    return _parse_xml(content, url, headers, feedparser_headers, repaired)


def _parse_xml(
    content: bytes,
    url: str,
    headers: dict[str, str],
    feedparser_headers: dict[str, str],
    repair: str | None,
) -> ParsedFeed:
    content = join_surrogate_references(content)
    charset_note = repair or guess_cyrillic_charset(content, feedparser_headers)
    # A stream, never bytes: feedparser treats a bytes/str argument as a possible file name.
    result = feedparser.parse(
        io.BytesIO(content),
        response_headers=feedparser_headers,
        resolve_relative_uris=True,
        sanitize_html=True,
    )
    version = result.get("version") or ""
    problem = _fatal_problem(result)
    looks_like_html = _HTML_PAGE.match(content[:4096]) is not None or (
        "html" in headers.get("content-type", "").lower()
    )
    if not version and looks_like_html:
        return ParsedFeed(error=ParseError.NOT_A_FEED, detail="the response is an HTML page")
    channel = result.get("feed", {})
    feed_language = _clean(channel.get("language"))
    served_in = headers.get("content-language")
    entries = [_entry(raw, url, feed_language, served_in) for raw in result.get("entries", [])]
    if not entries and problem is not None:
        return ParsedFeed(error=ParseError.MALFORMED, detail=problem)
    if not entries and not version:
        return ParsedFeed(error=ParseError.NOT_A_FEED, detail="no RSS, Atom or JSON feed found")
    warnings = [note for note in (problem, charset_note) if note]
    return ParsedFeed(
        title=_clean(channel.get("title")),
        link=_clean(channel.get("link")),
        language=_clean(channel.get("language")),
        entries=entries,
        warning="; ".join(warnings) or None,
        ttl_seconds=_ttl_seconds(channel.get("ttl")),
    )


def _fatal_problem(result: Mapping[str, Any]) -> str | None:
    """feedparser's bozo reason, unless it only complains about the Content-Type."""
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    if exc is None or isinstance(exc, NonXMLContentType):
        return None
    return _describe(exc)


def _entry(
    raw: Mapping[str, Any],
    feed_url: str,
    feed_language: str | None,
    served_in: str | None = None,
) -> ParsedEntry:
    """One feedparser entry as a ParsedEntry (dict.get bypasses feedparser's key aliasing).
    `served_in`: the response's Content-Language header."""
    summary_html = _summary_html(raw)
    published, unreadable_date = _stated_date(raw, "published", "created", "updated")
    language = _entry_language(raw, served_in)
    link, alternates = _own_link(raw, language or feed_language)
    return ParsedEntry(
        guid=_clean(dict.get(raw, "id")),
        link=link,
        title=_as_html(dict.get(raw, "title"), dict.get(raw, "title_detail")),
        summary_html=summary_html,
        image_url=_image_url(raw, summary_html, feed_url),
        author=_author(raw),
        categories=_categories(dict.get(raw, "tags")),
        language=language,
        published=published,
        updated=_stated_date(raw, "updated")[0],
        unreadable_date=unreadable_date,
        alternates=alternates,
    )


def _own_link(
    raw: Mapping[str, Any], language: str | None
) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The item's own link, and its versions in other languages as (hreflang, href).

    feedparser's `link` is the LAST alternate link: an RSS item naming its Kazakh version in
    <atom:link hreflang="kk"> after its <link> was stored with the Kazakh page as its own, so
    the versions of one story "updated" each other. An item's own link is its <link> (the
    alternate without hreflang), else the alternate in its own language; another language's
    link only when nothing else names it (then normalisation decides, knowing the feed's
    configured language: the link is None here).
    """
    plain: list[str] = []
    versions: list[tuple[str, str]] = []
    for item in dict.get(raw, "links") or []:
        if not isinstance(item, Mapping) or item.get("rel", "alternate") != "alternate":
            continue
        href = _clean(item.get("href"))
        if href is None:
            continue
        hreflang = _clean(item.get("hreflang"))
        if hreflang is None:
            plain.append(href)
        elif (hreflang, href) not in versions:
            versions.append((hreflang, href))
    if plain:
        own = plain[0]
    else:
        own = next((href for tag, href in versions if _same_language(tag, language)), None)
        stated = _clean(dict.get(raw, "link"))
        if own is None and stated is not None and all(href != stated for _, href in versions):
            own = stated  # e.g. a permalink guid: not one of the language versions
    return own, tuple(version for version in versions if version[1] != own)


def _same_language(hreflang: str, language: str | None) -> bool:
    """ "ru-KZ" and "ru_RU" are both Russian: primary subtags compared, case-blind."""
    if not language:
        return False

    def primary(tag: str) -> str:
        return tag.strip().replace("_", "-").split("-", 1)[0].lower()

    return primary(hreflang) == primary(language)


def _summary_html(raw: Mapping[str, Any]) -> str:
    """The longer of content[0] and summary: some CMSs truncate one of them."""
    summary = _as_html(dict.get(raw, "summary"), dict.get(raw, "summary_detail"))
    contents = dict.get(raw, "content") or []
    content = _as_html(contents[0].get("value"), contents[0]) if contents else ""
    return content if len(content) > len(summary) else summary


def _as_html(value: object, detail: object) -> str:
    """The value as HTML: feedparser leaves text/plain unescaped, so escape it here."""
    if not isinstance(value, str):
        return ""
    if isinstance(detail, Mapping) and detail.get("type") == "text/plain":
        return plain_to_html(value)
    return value


def _image_url(raw: Mapping[str, Any], summary_html: str, feed_url: str) -> str | None:
    """media:content image, media:thumbnail, image enclosure, else the first <img>."""
    candidate = (
        _media_content_image(dict.get(raw, "media_content"))
        or _first_url(dict.get(raw, "media_thumbnail"), "url")
        or _enclosure_image(dict.get(raw, "links"))
        or _first_img_src(summary_html)
    )
    if candidate is None:
        return None
    try:
        return urljoin(feed_url, candidate)
    except ValueError:
        return None


def _media_content_image(media: object) -> str | None:
    if not isinstance(media, list):
        return None
    for item in media:
        url = _clean(item.get("url")) if isinstance(item, Mapping) else None
        if url is None:
            continue
        medium = item.get("medium") or ""
        mime = item.get("type") or ""
        if medium == "image" or mime.startswith("image/"):
            return url
        if not medium and not mime and _IMAGE_PATH.search(url):
            return url
    return None


def _first_url(items: object, key: str) -> str | None:
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, Mapping) and (url := _clean(item.get(key))):
            return url
    return None


def _enclosure_image(links: object) -> str | None:
    if not isinstance(links, list):
        return None
    for link in links:
        if (
            isinstance(link, Mapping)
            and link.get("rel") == "enclosure"
            and str(link.get("type") or "").startswith("image/")
            and (href := _clean(link.get("href")))
        ):
            return href
    return None


def _first_img_src(markup: str) -> str | None:
    if "<img" not in markup and "<IMG" not in markup:
        return None
    match = _FIRST_IMG_SRC.search(markup)
    if match is None:
        return None
    src = html.unescape(next(group for group in match.groups() if group)).strip()
    return None if src.startswith("data:") else src or None


def _author(raw: Mapping[str, Any]) -> str | None:
    detail = dict.get(raw, "author_detail")
    if isinstance(detail, Mapping) and (name := _clean(detail.get("name"))):
        return name
    return _clean(dict.get(raw, "author"))


def _categories(tags: object) -> tuple[str, ...]:
    """Tag terms (or labels), stripped, duplicates dropped, feed order kept."""
    if not isinstance(tags, list):
        return ()
    terms: dict[str, None] = {}
    for tag in tags:
        if isinstance(tag, Mapping):
            term = _clean(tag.get("term")) or _clean(tag.get("label"))
            if term:
                terms.setdefault(term, None)
    return tuple(terms)


def _entry_language(raw: Mapping[str, Any], served_in: str | None = None) -> str | None:
    """The entry's own language: its <dc:language>, or the xml:lang feedparser attaches to
    its title. Not the response's Content-Language, which feedparser lends every entry that
    states none: a header set for a whole site says less than the feed's own <language>."""
    language = _clean(dict.get(raw, "language"))
    if language:
        return language
    detail = dict.get(raw, "title_detail")
    stated = _clean(detail.get("language")) if isinstance(detail, Mapping) else None
    if stated and served_in and stated.lower() == served_in.strip().lower():
        return None
    return stated


def _stated_date(raw: Mapping[str, Any], *keys: str) -> tuple[datetime | None, str | None]:
    """The first of these dates that reads, else (None, the first date as written)."""
    unreadable = None
    for key in keys:
        value = _utc(_checked_date(_clean(dict.get(raw, key)), dict.get(raw, f"{key}_parsed")))
        if value is not None:
            return value, None
        unreadable = unreadable or _clean(dict.get(raw, key))
    return None, unreadable


def _checked_date(text: str | None, parsed: object) -> object:
    """feedparser's reading of `text`, unless it misread an RFC 822 date as another format.

    feedparser tries its date readers in turn. When its RFC 822 reader rejects a date in RFC
    822 word order ("Mon, 01 Jan 0001 00:00:00 +1400" is before year 1 in UTC), its asctime
    reader takes the same six words in asctime order, the zone "+1400" as the year: the story
    was stored in 1400. Such a date is read by the RFC 822 reader alone.
    """
    if text is None or _RFC822_ORDER.match(text) is None:
        return parsed
    return _parse_date_rfc822(text)


def _utc(parsed: object) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None when absent or impossible."""
    if not isinstance(parsed, time.struct_time | tuple) or len(parsed) < 6:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _ttl_seconds(value: object) -> int | None:
    """RSS <ttl> minutes as seconds; nonsense (0, negative, over a week) is ignored."""
    text = _clean(value)
    if text is None or not (text.isascii() and text.isdigit()):
        return None
    minutes = int(text[:7])
    return minutes * 60 if 0 < minutes <= _MAX_TTL_MINUTES else None


def _clean(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_DETAIL_LIMIT]
