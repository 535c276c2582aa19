"""Numbered lists of linked headlines: /latest, /section, /today, /popular, /search, and the
daily digest ("<date>. Timeline of major events"). Pure: no Telegram calls.

Items that do not fit sendMessage's 4,096 UTF-16 units are dropped whole, from the end, so
no tag or entity is ever cut (see pieces.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.outbound.i18n import Translator
from bot.outbound.links import section_hashtag, web_url
from bot.outbound.message import OutgoingMessage, StoryLike
from bot.outbound.pieces import SEPARATOR, Piece, anchor, bold, join, one_line, plain
from bot.outbound.text_limits import MESSAGE_LIMIT, cut_utf16

# A listed headline is cut to this many UTF-16 units (a feed may send a whole article as one).
LIST_TITLE_LIMIT = 300


def _list_item(
    number: int,
    story: StoryLike,
    *,
    t: Translator,
    zone: ZoneInfo,
    section_titles: Mapping[str, str],
    show_time: bool,
    show_language: bool = False,
) -> Piece:
    """`1. <a href="…">Title</a> · 17:38 · #parliament` (a hashtag for configured sections;
    `[kk]` after it for a story from an edition the reader does not read)."""
    title = cut_utf16(one_line(story.title), LIST_TITLE_LIMIT) or "…"
    url = web_url(story.link)
    parts = [anchor(title, url) if url else plain(title)]
    if show_time:
        parts.append(plain(t.time(story.published_at, zone)))
    if story.section and story.section in section_titles:
        parts.append(plain(section_hashtag(story.section)))
    edition = getattr(story, "edition", None) or getattr(story, "language", None)
    if show_language and edition:
        parts.append(plain(f"[{edition}]"))
    return plain(f"{number}. ") + join(parts, SEPARATOR)


def _hour_heading(moment: datetime, t: Translator, zone: ZoneInfo) -> str:
    """The newsroom-clock hour a story falls in: "17:00"."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored times are UTC
    local = aware.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    return t.time(local, zone)


def render_story_list(
    title: str,
    stories: Sequence[StoryLike],
    *,
    t: Translator,
    zone: ZoneInfo,
    section_titles: Mapping[str, str],
    show_time: bool = True,
    group_by_hour: bool = False,
    show_language: bool = False,
) -> str:
    """A numbered list of linked headlines under a bold (plain-text, escaped) title, as HTML.

    For /latest, /section, /today (grouped under hour headings), /popular and /search. The
    visible text stays within sendMessage's 4,096 UTF-16 units: items that do not fit are
    dropped whole, from the end, so no tag or entity is ever cut.
    """
    message = bold(cut_utf16(one_line(title), LIST_TITLE_LIMIT))
    hour: str | None = None
    for number, story in enumerate(stories, start=1):
        item = _list_item(
            number,
            story,
            t=t,
            zone=zone,
            section_titles=section_titles,
            show_time=show_time,
            show_language=show_language,
        )
        heading = _hour_heading(story.published_at, t, zone) if group_by_hour else None
        if heading is not None and heading != hour:
            addition = plain("\n\n") + bold(heading) + plain("\n") + item
        else:
            addition = plain("\n\n" if number == 1 else "\n") + item
        if (message + addition).length > MESSAGE_LIMIT:
            break
        message, hour = message + addition, heading
    return message.html


def render_digest(
    title: str,
    stories: Sequence[StoryLike],
    *,
    t: Translator,
    zone: ZoneInfo,
    section_titles: Mapping[str, str],
) -> OutgoingMessage:
    """The daily "<date>. Timeline of major events": the day's top stories, oldest first,
    each with its time and section, as one quiet message (no link preview)."""
    ordered = sorted(stories, key=lambda story: (story.published_at, story.id))
    text = render_story_list(title, ordered, t=t, zone=zone, section_titles=section_titles)
    return OutgoingMessage(text, disable_notification=True)
