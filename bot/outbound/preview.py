"""Showing a rendered Telegram message in a terminal, for `newsbot preview`."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from bot.outbound.message import OutgoingMessage


class _TerminalText(HTMLParser):
    """Telegram HTML to terminal text: bold stays visible, links show their address."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href.append(dict(attrs).get("href"))
        elif tag in ("b", "strong"):
            self.parts.append("\033[1m")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            href = self._href.pop()
            if href:
                self.parts.append(f" <{href}>")
        elif tag in ("b", "strong"):
            self.parts.append("\033[0m")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def as_terminal_text(message: OutgoingMessage, *, color: bool = True) -> str:
    parser = _TerminalText()
    parser.feed(message.text)
    parser.close()
    text = "".join(parser.parts)
    if not color:
        text = re.sub(r"\033\[[0-9;]*m", "", text)
    lines = [text]
    if message.photo_url:
        lines.insert(0, f"[photo {html.unescape(message.photo_url)}]")
    for row in message.buttons:
        for button in row:
            lines.append(f"[{button.text} → {button.url or button.callback_data}]")
    return "\n".join(lines)
