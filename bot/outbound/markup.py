"""Telegram's HTML, checked as Telegram reads it (https://core.telegram.org/bots/api#html-style).

A chat's template (bot/outbound/templates.py) may write its own markup; Telegram refuses a
whole message whose HTML it cannot parse ("can't parse entities"), so the template's output is
checked here before it is saved and again before it is sent. Tokenising is the standard
library's `html.parser`; this module only judges what it reports:

- tags Telegram knows, with the attributes it knows: b/strong, i/em, u/ins, s/strike/del,
  tg-spoiler and <span class="tg-spoiler">, <a href> (http, https or tg links only), code
  (class="language-…" inside pre), pre, blockquote (optionally expandable), tg-emoji
  (emoji-id); nothing else (no <br>, no <p>, no <script>);
- properly nested, every tag closed, and Telegram's rules on nesting: pre and code contain no
  other entity (but pre may hold one code, for its language), links and blockquotes do not
  nest;
- entities: the four named ones Telegram takes (&lt; &gt; &amp; &quot;) and numeric ones;
  a bare "<", ">" or "&" is refused.

`visible_text` returns the text after entity parsing, which is what Telegram's length limits
count (text_limits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

FORMATTING = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler"})
_KNOWN = FORMATTING | {"span", "a", "code", "pre", "blockquote", "tg-emoji"}
_NAMED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
_LINK_SCHEMES = frozenset({"http", "https", "tg"})
_LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]{1,32}")
_EMOJI_ID = re.compile(r"\d{1,20}")
# Unicode scalar values Telegram can carry (no NUL, no surrogates, nothing past U+10FFFF).
_MAX_CODE_POINT = 0x10FFFF


class MarkupRefused(ValueError):
    """HTML Telegram would refuse: `reason` and the (1-based) line of the text it is on."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(f"{reason} (line {line})")
        self.reason = reason
        self.line = line


@dataclass
class _Open:
    tag: str
    line: int
    # Whether text or a tag came inside it (pre may hold one code and nothing else then).
    content: list[str] = field(default_factory=list)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[_Open] = []
        self._kinds: list[str] = []  # the Telegram entity each open tag stands for
        self.visible: list[str] = []

    def refuse(self, reason: str) -> None:
        raise MarkupRefused(reason, self.getpos()[0])

    # Tags -----------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _KNOWN:
            self.refuse(f"<{tag}> is not a tag Telegram knows")
        name = self._entity_of(tag, dict(attrs), attrs)
        self._check_nesting(name)
        if self.stack:
            self.stack[-1].content.append(name)
        self.stack.append(_Open(tag, self.getpos()[0]))
        self._kinds.append(name)

    def _entity_of(
        self, tag: str, values: dict[str, str | None], attrs: list[tuple[str, str | None]]
    ) -> str:
        """The Telegram entity a start tag opens, its attributes checked."""
        allowed: frozenset[str] = frozenset()
        entity = tag
        if tag == "a":
            allowed = frozenset({"href"})
            self._check_href(values.get("href"))
        elif tag == "span":
            allowed = frozenset({"class"})
            if values.get("class") != "tg-spoiler":
                self.refuse('<span> needs class="tg-spoiler"')
            entity = "tg-spoiler"
        elif tag == "code":
            allowed = frozenset({"class"})
            if "class" in values and not _LANGUAGE_CLASS.fullmatch(values["class"] or ""):
                self.refuse('<code class> must be "language-…"')
        elif tag == "blockquote":
            allowed = frozenset({"expandable"})
        elif tag == "tg-emoji":
            allowed = frozenset({"emoji-id"})
            if not _EMOJI_ID.fullmatch(values.get("emoji-id") or ""):
                self.refuse("<tg-emoji> needs a numeric emoji-id")
        for attribute, _ in attrs:
            if attribute not in allowed:
                self.refuse(f'<{tag}> takes no "{attribute}" attribute')
        if len({attribute for attribute, _ in attrs}) != len(attrs):
            self.refuse(f"<{tag}> repeats an attribute")
        if entity in {"strong"}:
            return "b"
        return "formatting" if entity in FORMATTING else entity

    def _check_href(self, href: str | None) -> None:
        if not href:
            self.refuse("<a> needs an href")
            return
        try:
            parts = urlsplit(href.strip())
        except ValueError:
            self.refuse("<a href> is not a valid link")
            return
        if parts.scheme.lower() not in _LINK_SCHEMES or not (parts.netloc or parts.scheme == "tg"):
            self.refuse("<a href> must be an http(s) or tg:// link")

    def _check_nesting(self, entity: str) -> None:
        inside = set(self._kinds)
        parent = self._kinds[-1] if self._kinds else None
        if "code" in inside or ("pre" in inside and not (entity == "code" and parent == "pre")):
            self.refuse("nothing may be inside <pre> or <code> (but one <code> in <pre>)")
        if parent == "pre" and self.stack[-1].content:
            self.refuse("<pre> may hold one <code> and nothing else")
        if entity == "a" and "a" in inside:
            self.refuse("links cannot be nested")
        if entity == "blockquote" and inside:
            self.refuse("<blockquote> must not be inside another tag")
        if entity == "pre" and inside - {"blockquote"}:
            self.refuse("<pre> must not be inside another tag but <blockquote>")
        if entity == "tg-emoji" and "tg-emoji" in inside:
            self.refuse("<tg-emoji> cannot be nested")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self.refuse(f"</{tag}> closes nothing")
        opened = self.stack[-1]
        if opened.tag != tag:
            self.refuse(f"</{tag}> closes <{opened.tag}>")
        self.stack.pop()
        self._kinds.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refuse(f"<{tag}/>: Telegram has no self-closing tags")

    # Text ------------------------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        for character in "<>&":
            if character in data:
                self.refuse(f'a bare "{character}" (write it as an entity, e.g. &lt;)')
        self._text(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            self.refuse(f"&{name}; is not an entity Telegram knows (only &lt; &gt; &amp; &quot;)")
        self._text(unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        except ValueError:
            self.refuse(f"&#{name}; is not a valid character reference")
            return
        if not 0 < code <= _MAX_CODE_POINT or 0xD800 <= code <= 0xDFFF:
            self.refuse(f"&#{name}; is not a character")
        self._text(chr(code))

    def _text(self, text: str) -> None:
        if self.stack:
            self.stack[-1].content.append("text")
        self.visible.append(text)

    # Anything else ---------------------------------------------------------------------
    def handle_comment(self, data: str) -> None:
        self.refuse("comments are not Telegram HTML")

    def handle_decl(self, decl: str) -> None:
        self.refuse("declarations are not Telegram HTML")

    def handle_pi(self, data: str) -> None:
        self.refuse("processing instructions are not Telegram HTML")

    def unknown_decl(self, data: str) -> None:
        self.refuse("declarations are not Telegram HTML")

    def finish(self) -> str:
        self.close()
        if self.rawdata:  # what html.parser could not make sense of (an unfinished tag)
            self.refuse("an unfinished tag")
        if self.stack:
            opened = self.stack[-1]
            raise MarkupRefused(f"<{opened.tag}> is never closed", opened.line)
        return "".join(self.visible)


def visible_text(html: str) -> str:
    """The text of `html` after entity parsing (what Telegram counts); MarkupRefused when
    Telegram would refuse it."""
    checker = _Checker()
    checker.feed(html)
    return checker.finish()


def check_markup(html: str) -> None:
    """Raise MarkupRefused unless Telegram takes `html` (see the module)."""
    visible_text(html)
