"""Feed HTML to the plain text newsbot stores, and shortening that respects sentences.

Feeds carry HTML of every quality: sanitised by feedparser, hand-written in a CMS, or hostile.
Telegram formatting escapes plain text at send time, so the one safe thing to store is plain
text: no tags, entities decoded, invisible direction/zero-width characters gone. Nothing here
raises on bad input; the worst case is a cruder strip by regex.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from bot.domain.invisible import strip_invisible

ELLIPSIS = "…"

# Elements whose start and end separate paragraphs.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
        "tbody", "thead", "tfoot", "ul",
    }
)  # fmt: skip
# Elements that end a line but not a paragraph.
_LINE_TAGS = frozenset({"li", "tr"})
# Elements whose content is never reader text.
_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "svg", "math", "head"}
)

_NO_BREAK, _LINE, _PARAGRAPH = 0, 1, 2

_MANY_NEWLINES = re.compile(r"\n{3,}")
_TAG = re.compile(r"<[^>]*>?")
# A sentence ends at . ! ? or … (optionally followed by closing quotes/brackets) before
# whitespace; a line break is a boundary too.
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*(?=\s)|(?=\n)")
_MIN_SENTENCE = 18  # longer than a dateline such as "UST-KAMENOGORSK."
_CHUNK = 4096


class _TextExtractor(HTMLParser):
    """Collects text runs and the strongest break seen between them.

    Breaks are recorded as pending and only emitted before the next text, so leading,
    trailing and repeated block tags never produce empty paragraphs.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self._pending = _NO_BREAK
        self._pending_from_br = False
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._break_on_br()
        else:
            self._break_for(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._break_on_br()
        elif tag not in _SKIP_TAGS:
            self._break_for(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        else:
            self._break_for(tag)

    def handle_data(self, data: str) -> None:
        if self._skip_depth or not data:
            return
        core = " ".join(data.split())  # str.split is far cheaper than a regex here
        if not core:
            if self.parts and not self._pending and not self.parts[-1].endswith(" "):
                self._append(" ")
            return
        if self._pending:
            if self.parts:
                self._end_run("\n\n" if self._pending == _PARAGRAPH else "\n")
            self._pending = _NO_BREAK
            self._pending_from_br = False
        elif data[0].isspace() and self.parts and not self.parts[-1].endswith(" "):
            core = " " + core
        if data[-1].isspace():
            core += " "
        self._append(core)

    def _end_run(self, separator: str) -> None:
        """Close the current line or paragraph without trailing spaces."""
        if self.parts[-1].endswith(" "):
            self.parts[-1] = self.parts[-1].rstrip(" ")
        self._append(separator)

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def _break_for(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self._pending = _PARAGRAPH
        elif tag in _LINE_TAGS:
            self._pending = max(self._pending, _LINE)

    def _break_on_br(self) -> None:
        # <br><br> is how many CMSs write a paragraph break.
        if self._pending_from_br and self._pending == _LINE:
            self._pending = _PARAGRAPH
        else:
            self._pending = max(self._pending, _LINE)
        self._pending_from_br = True


def html_to_text(markup: str, *, max_chars: int | None = None) -> str:
    """Plain text of `markup`: "\\n\\n" between paragraphs, "\\n" for a single <br>.

    With `max_chars`, stops reading once that much text is collected, so a 100 KB
    description costs no more than the part that can be shown.
    """
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return _tidy(strip_invisible(markup))
    try:
        text = _extract(markup, max_chars)
    except Exception:  # html.parser has had assertion paths on hostile input
        text = _tidy(html.unescape(_TAG.sub(" ", markup)))
    cleaned = strip_invisible(text)  # after parsing: character references can encode them
    if len(cleaned) != len(text):
        cleaned = _tidy(cleaned)
    return cleaned.strip()


def inline_text(markup: str) -> str:
    """One line of plain text, for titles and author names."""
    text = html_to_text(markup)
    return " ".join(text.split()) if "\n" in text else text


def plain_to_html(text: str) -> str:
    """Escape plain text so it survives as HTML; line breaks become <br>."""
    return html.escape(text, quote=False).replace("\n", "<br>\n")


def shorten(text: str, limit: int, *, at_sentence: bool = False) -> str:
    """`text` cut to at most `limit` characters.

    With `at_sentence`, a cut prefers the end of a sentence lying in the last ~40% of the
    limit, and then ends cleanly at that sentence. Otherwise (or when no sentence ends
    there) it cuts at a word boundary and adds "…" so readers can see text is missing.
    """
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    window = text[: limit + 1]
    if at_sentence:
        end = _last_sentence_end(window, floor=int(limit * 0.6))
        if end is not None:
            return window[:end].rstrip()
    return _cut_at_word(text, limit - len(ELLIPSIS)) + ELLIPSIS


def first_sentence(text: str, limit: int) -> str:
    """The first sentence (or line) of `text`, within `limit` characters.

    Boundaries in the first few words are skipped: agency leads open with a dateline
    ("ASTANA. KAZINFORM – …") that would otherwise become the whole headline.
    """
    text = text.strip()
    end = next(
        (m.end() for m in _SENTENCE_END.finditer(text) if m.end() >= _MIN_SENTENCE),
        len(text),
    )
    return shorten(text[:end].strip(), limit)


def _extract(markup: str, max_chars: int | None) -> str:
    parser = _TextExtractor()
    for start in range(0, len(markup), _CHUNK):
        parser.feed(markup[start : start + _CHUNK])
        if max_chars is not None and parser.length > max_chars:
            break
    else:
        parser.close()
    return "".join(parser.parts).strip()


def _tidy(text: str) -> str:
    """Collapse spaces within lines; keep single line breaks and at most one blank line."""
    text = "\n".join(" ".join(line.split()) for line in text.splitlines()).strip("\n")
    return _MANY_NEWLINES.sub("\n\n", text) if "\n\n\n" in text else text


def _last_sentence_end(window: str, *, floor: int) -> int | None:
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if floor <= m.end() < len(window)]
    return ends[-1] if ends else None


def _cut_at_word(text: str, limit: int) -> str:
    head = text[: limit + 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    head = head[:space] if space >= limit // 2 else head[:limit]
    return head.rstrip(" \n,;:–—-")
