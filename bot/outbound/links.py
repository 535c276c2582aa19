"""Links as Telegram takes them, a chat's UTM parameters on them, and section hashtags.

A URL from a feed becomes an href or a button only through `web_url` (absolute http(s),
RFC 3986, ASCII); anything else (javascript:, data:, relative) never does. Pure strings:
no Telegram calls.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

import idna

# Telegram stores button URLs and Story.link holds at most this much.
URL_LIMIT = 2048

_WEB_SCHEMES = frozenset({"http", "https"})

# RFC 3986: what a path (pchar and "/") and a query or fragment (also "?") may hold besides
# letters, digits, "-._~" (which `quote` never encodes) and %XX escapes.
_PATH_SAFE = "!$&'()*+,;=:@/"
_QUERY_SAFE = _PATH_SAFE + "?"
_PERCENT_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")

# A host name (reg-name: unreserved, sub-delims, escapes) or an IPv6 address.
_REG_NAME = re.compile(r"[a-z0-9\-._~!$&'()*+,;=%]+")
_IPV6_HOST = re.compile(r"[0-9a-f:.]+(%25[\w.~-]+)?")

# Hashtags end at anything but letters, digits and "_".
_NOT_HASHTAG = re.compile(r"\W")

# What a chat's `utm` "{chat}" is rendered as: a story is rendered once for every chat with
# the same format, and render.for_chat puts each chat's own name in (letters and "_" survive both
# percent-encoding and HTML escaping unchanged).
CHAT_PLACEHOLDER = "__newsbot_chat__"


def web_url(url: str | None) -> str | None:
    """`url` as an absolute http(s) URL Telegram will take (RFC 3986, ASCII only), else None.

    Anything else (javascript:, data:, tg:, relative or empty) never becomes a button or an
    href. Feeds send links as people type them, and Telegram refuses a button whose URL
    holds a no-break space (BUTTON_URL_INVALID), so: the host goes through IDNA (xn--), the
    path, query and fragment are percent-encoded as UTF-8 where RFC 3986 wants it (escapes
    already there are kept), whitespace at the ends is dropped, and credentials
    (`user:password@`) are removed: they must never be published.
    """
    candidate = (url or "").strip()  # str.strip: NBSP and U+3000 are whitespace too
    if not candidate or len(candidate) > URL_LIMIT:
        return None
    try:
        parts = urlsplit(candidate)
        host, port = parts.hostname, parts.port
        scheme = parts.scheme.lower()
        if scheme not in _WEB_SCHEMES or not host:
            return None
        netloc = _ascii_host(host)
        if netloc is None:
            return None
        encoded = urlunsplit(
            (
                scheme,
                netloc if port is None else f"{netloc}:{port}",
                _percent_encoded(parts.path, _PATH_SAFE),
                _percent_encoded(parts.query, _QUERY_SAFE),
                _percent_encoded(parts.fragment, _QUERY_SAFE),
            )
        )
    except (ValueError, UnicodeError):  # an invalid IPv6 literal or port, a lone surrogate
        return None
    return encoded if len(encoded) <= URL_LIMIT else None


def _ascii_host(host: str) -> str | None:
    """The host as RFC 3986 wants it in a URL (IDNA for non-ASCII names), None if invalid.

    UTS #46 (what browsers do) first; Python's IDNA 2003 codec for names IDNA 2008 forbids
    but browsers still open (symbols, emoji). `host` comes lower-cased from urlsplit.
    """
    if ":" in host:  # an IPv6 literal, brackets removed by urlsplit
        return f"[{host}]" if _IPV6_HOST.fullmatch(host) else None
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            host = host.encode("idna").decode("ascii")  # UnicodeError when hopeless
    return host if _REG_NAME.fullmatch(host) else None


def _percent_encoded(component: str, safe: str) -> str:
    """`component` with what RFC 3986 does not allow in it percent-encoded as UTF-8.

    Valid `%XX` escapes are kept as they are (never `%2520`); a `%` starting none is `%25`.
    """
    pieces = _PERCENT_ESCAPE.split(component)
    return "".join(
        piece if index % 2 else quote(piece, safe=safe) for index, piece in enumerate(pieces)
    )


def with_utm(url: str | None, utm: str | None) -> str | None:
    """An article link with a chat's `utm` query parameters appended (its own query kept);
    "{chat}" becomes CHAT_PLACEHOLDER, for render.for_chat to fill in."""
    if not url or not utm:
        return url
    parts = urlsplit(url)
    params = utm.replace("{chat}", CHAT_PLACEHOLDER)
    query = f"{parts.query}&{params}" if parts.query else params
    return web_url(urlunsplit(parts._replace(query=query))) or url


def section_hashtag(slug: str) -> str:
    """The section as a hashtag: "#parliament". Hashtags end at "-", so it becomes "_"."""
    return "#" + _NOT_HASHTAG.sub("_", slug)


def same_name(slug: str, title: str) -> bool:
    """Whether a section title only repeats its slug ("Foreign policy" / foreign_policy)."""
    return _NOT_HASHTAG.sub("", slug.replace("_", "")).casefold() == (
        _NOT_HASHTAG.sub("", title.replace("_", "")).casefold()
    )
