"""Who a story is, wherever it comes from: its canonical link, its identity and the hash of
its text. A feed's item and the CMS's story are compared by these, so the same article met
through an RSS link, a tracking-tagged share or the CMS is one story, and a corrected
headline is seen as a correction (its content hash changes, its identity does not).

Pure: feeds' normalisation (bot/feeds/normalize.py) and the intake (bot/services/intake.py)
call it; storage dedupes on what it returns.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from bot.domain.invisible import strip_invisible

IDENTITY_LIMIT = 255

# Click-tracking parameters: the same story shared with different tags is one story.
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "yclid"})
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}
_ABSOLUTE = re.compile(r"https?://", re.IGNORECASE)  # skip urljoin's work for the usual case


def canonical_link(url: str | None, base: str) -> str | None:
    """Absolute http(s) URL without fragment or tracking parameters; None if unusable.

    The storage layer dedupes on this across feeds, so the same story reached through an
    RSS link, a utm-tagged share and a relative link must come out identical.
    """
    url = strip_invisible(url).strip() if url else ""
    if not url:
        return None
    try:
        parts = urlsplit(url if _ABSOLUTE.match(url) else urljoin(base, url))
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        netloc = _canonical_netloc(parts.netloc, scheme)
    except ValueError:  # unbalanced IPv6 brackets, bad port
        return None
    return urlunsplit((scheme, netloc, parts.path or "/", _strip_tracking(parts.query), ""))


def without_credentials(url: str | None) -> str | None:
    """`url` (canonical) without `user:password@`: a feed's link is published as it is
    stored, in messages and over the API, and credentials must never be."""
    if not url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def story_identity(
    guid: str | None, link: str | None, title: str, summary: str, *, base: str
) -> str:
    """ "guid:…", else "link:…", else "hash:…" of the text; hashed when over 255 chars.

    A guid is only promised to be unique within its feed (RSS 2.0), so unless it is a URL it
    (or a tag:/urn: URI) it
    is scoped by the feed's address: two feeds both numbering items "12345" stay apart.
    """
    guid = strip_invisible(guid).strip() if guid else None
    if guid:
        if guid.lower().startswith(("http://", "https://")):
            return _bounded("guid:", canonical_link(guid, base) or guid)
        if guid.lower().startswith(("tag:", "urn:")):
            return _bounded("guid:", guid)  # globally unique by construction (RFC 4151, 8141)
        return _bounded("guid:", f"{base} {guid}")
    if link:
        return _bounded("link:", link)
    return "hash:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()


def content_hash(title: str, summary: str) -> str:
    """Changes when the headline or summary is corrected."""
    return hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()


def _canonical_netloc(netloc: str, scheme: str) -> str:
    """Lower-case host (user info untouched), default port dropped."""
    userinfo, at, hostport = netloc.rpartition("@")
    hostport = hostport.lower().removesuffix(_DEFAULT_PORTS[scheme])
    return f"{userinfo}{at}{hostport}"


def _strip_tracking(query: str) -> str:
    """Drop utm_*, fbclid, gclid, yclid; keep other parameters, order and encoding."""
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
        if name.startswith("utm_") or name in _TRACKING_PARAMS:
            continue
        kept.append(pair)
    return "&".join(kept)


def _bounded(prefix: str, value: str) -> str:
    identity = prefix + value
    if len(identity) <= IDENTITY_LIMIT:
        return identity
    return f"{prefix}sha256:{hashlib.sha256(identity.encode()).hexdigest()}"
