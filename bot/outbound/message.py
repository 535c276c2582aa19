"""What rendering reads and makes: a story as the renderers see it (`StoryLike`), the links
shown under it, and the message ready to send (`OutgoingMessage` with its `Button`s).

Plain data, shared by the renderers (render.py, lists.py, bundle.py, approval_preview.py) and
by what sends their output (send.py, bot/delivery/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.related import Subject


class StoryLike(Subject, Protocol):
    """What rendering reads from a story: what related stories are ranked by (its id, title,
    summary, link and section) and more. `storage.models.Story` fits, so does a test double."""

    @property
    def image_url(self) -> str | None: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def language(self) -> str | None: ...


@dataclass(frozen=True)
class Button:
    """An inline keyboard button: a URL to open or callback data (1-64 bytes) to send back."""

    text: str
    url: str | None = None
    callback_data: str | None = None


@dataclass(frozen=True)
class RelatedLink:
    """A related story shown under another one: its title and its http(s) link."""

    title: str
    url: str


@dataclass(frozen=True)
class VersionLink:
    """The same story in another edition: that language's name in itself, and its link."""

    label: str
    url: str


@dataclass(frozen=True)
class OutgoingMessage:
    """A message ready to send: HTML text (the caption when `photo_url` is set) and buttons.

    `link_preview_url` is the article whose preview a text message shows; it is set on photo
    messages too, so a photo Telegram refuses can be resent as text with the same preview.
    """

    text: str
    photo_url: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    link_preview_url: str | None = None
    disable_notification: bool = False
