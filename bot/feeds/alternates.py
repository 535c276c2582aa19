"""The versions an article page names: `<link rel="alternate" hreflang="xx" href>` in its head.

For feeds with `alternates = "page"` (their items name no versions, their pages do, for
search engines) the page alternates job (bot/services/alternates.py) reads each waiting
story's page, only the first PAGE_BYTES, and this finds the versions it names.
"""

from __future__ import annotations

import codecs
from html.parser import HTMLParser

PAGE_BYTES = 256 * 1024


class _HreflangLinks(HTMLParser):
    """Collects (hreflang, href) of <link rel="alternate" hreflang href> anywhere in the
    markup (a junk page, unclosed tags and all, still gives what it has): html.parser never
    raises on bad HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {name.lower(): (value or "").strip() for name, value in attrs}
        if "alternate" not in values.get("rel", "").lower().split():
            return
        if values.get("hreflang") and values.get("href"):
            self.found.append((values["hreflang"], values["href"]))

    handle_startendtag = handle_starttag


def page_versions(content: bytes, charset: str | None = None) -> list[tuple[str, str]]:
    """(hreflang, href) as the page names them, in page order."""
    text = content.decode(_codec(charset), errors="replace")
    parser = _HreflangLinks()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # html.parser on truly broken declarations
        pass
    return parser.found


def _codec(charset: str | None) -> str:
    """The page's declared charset if Python knows it, else UTF-8 (hreflang URLs are ASCII
    or percent-encoded on nearly every site, so a wrong guess costs little)."""
    try:
        return codecs.lookup(charset).name if charset else "utf-8"
    except LookupError:
        return "utf-8"


def charset_of(content_type: str) -> str | None:
    """The `charset` parameter of a Content-Type header, if it names one."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None
