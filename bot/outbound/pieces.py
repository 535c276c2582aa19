"""The pieces every message is made of, each kept twice in step: as the HTML we send and
as the visible text Telegram counts (UTF-16 code units after entity parsing; see
text_limits). Only plain text is ever shortened, and it is escaped afterwards, so a cut
never falls inside an entity (`&am…`) or a tag.

Everything from a feed or an editor is escaped with `html.escape(..., quote=True)`; the only
tags made here are <b> and <a href="...">. Used by render.py, lists.py and bundle.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from bot.outbound.text_limits import utf16_len

SEPARATOR = " · "
BULLET = "• "


@dataclass(frozen=True)
class Piece:
    """A fragment of a message as sent (`html`) and as Telegram counts it (`visible`)."""

    visible: str = ""
    html: str = ""

    def __add__(self, other: Piece) -> Piece:
        return Piece(self.visible + other.visible, self.html + other.html)

    def __bool__(self) -> bool:
        return bool(self.visible)

    @property
    def length(self) -> int:
        return utf16_len(self.visible)


EMPTY = Piece()


def plain(text: str) -> Piece:
    return Piece(text, escape(text, quote=True))


def bold(text: str) -> Piece:
    return Piece(text, f"<b>{escape(text, quote=True)}</b>") if text else EMPTY


def anchor(text: str, url: str) -> Piece:
    return Piece(text, f'<a href="{escape(url, quote=True)}">{escape(text, quote=True)}</a>')


def join(pieces: Iterable[Piece], separator: str) -> Piece:
    """The non-empty pieces with a plain separator between them."""
    joined = EMPTY
    for piece in pieces:
        if piece:
            joined = joined + plain(separator) + piece if joined else piece
    return joined


_BLANK_LINES = re.compile(r"\n\s*\n")


def one_line(text: str | None) -> str:
    """Titles on one line, runs of whitespace (tabs, newlines, NBSP) as single spaces."""
    return " ".join((text or "").split())


def paragraphs(text: str | None) -> str:
    """Plain text with its paragraphs and line breaks kept, other whitespace collapsed."""
    unified = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    blocks = []
    for block in _BLANK_LINES.split(unified):
        lines = (" ".join(line.split()) for line in block.split("\n"))
        joined = "\n".join(line for line in lines if line)
        if joined:
            blocks.append(joined)
    return "\n\n".join(blocks)
