"""Several stories in one message: a reader's bundle, or a paced channel's "More news".

One renderer for both (bot/domain/bundling.py and bot/domain/pace.py decide when): the
stories newest first, each a linked headline with its section and time, the newest one in
bold with its lead under it. Headlines are whole or absent, within sendMessage's 4,096
UTF-16 units (links' HTML is not counted, as Telegram does not count it).

What does not fit either waits for the chat's next bundle (a channel's roundup: nothing is
dropped from a channel's feed) or, in a reader's bundle, is named in a last line, "…and 7
more: /today", that leads to the rest; the caller decides which (`overflow`). No link
preview: it would show only one of many articles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.outbound.i18n import Translator
from bot.outbound.links import web_url
from bot.outbound.lists import LIST_TITLE_LIMIT
from bot.outbound.message import OutgoingMessage, StoryLike
from bot.outbound.pieces import (
    BULLET,
    SEPARATOR,
    Piece,
    anchor,
    bold,
    join,
    one_line,
    paragraphs,
    plain,
)
from bot.outbound.text_limits import MESSAGE_LIMIT, cut_utf16

# Headlines one message lists at most; more wait, or are counted in the last line.
BUNDLE_LIMIT = 20
# The newest story's lead: its summary's first paragraph, cut to this many UTF-16 units.
LEAD_LIMIT = 300


@dataclass(frozen=True, slots=True)
class Bundle:
    """A rendered bundle: the message, the stories it lists (ids, newest first), and how
    many more its last line counts (0 without `overflow`)."""

    message: OutgoingMessage
    listed: tuple[int, ...]
    more: int


def render_bundle(
    stories: Sequence[StoryLike],
    *,
    title: str,
    t: Translator,
    zone: ZoneInfo,
    section_titles: Mapping[str, str],
    overflow: bool,
) -> Bundle:
    """The stories as one message under a bold `title`, newest first (see the module)."""
    ordered = sorted(stories, key=lambda story: (story.published_at, story.id), reverse=True)
    message = bold(title)
    listed: list[int] = []
    for story in ordered[:BUNDLE_LIMIT]:
        item = _item(story, t=t, zone=zone, section_titles=section_titles, lead=not listed)
        addition = plain("\n\n" if len(listed) < 2 else "\n") + item
        reserve = _more_line(len(ordered), t) if overflow else plain("")
        if (message + addition + reserve).length > MESSAGE_LIMIT:
            break
        message = message + addition
        listed.append(story.id)
    more = len(ordered) - len(listed) if overflow else 0
    if more:
        message = message + _more_line(more, t)
    return Bundle(OutgoingMessage(message.html), tuple(listed), more)


def _item(
    story: StoryLike,
    *,
    t: Translator,
    zone: ZoneInfo,
    section_titles: Mapping[str, str],
    lead: bool,
) -> Piece:
    """`• <a href="…">Headline</a> · Politics · 17:38`; the newest in bold, its lead below."""
    headline = cut_utf16(one_line(story.title), LIST_TITLE_LIMIT) or "…"
    url = web_url(story.link)
    linked = anchor(headline, url) if url else plain(headline)
    if lead:
        linked = Piece(linked.visible, f"<b>{linked.html}</b>")
    section = section_titles.get(story.section or "")
    item = plain(BULLET) + join(
        (linked, plain(section or ""), plain(t.time(story.published_at, zone))), SEPARATOR
    )
    summary = paragraphs(story.summary).split("\n\n")[0] if lead else ""
    if summary:
        item = item + plain("\n" + cut_utf16(summary, LEAD_LIMIT))
    return item


def _more_line(count: int, t: Translator) -> Piece:
    return plain("\n\n" + t.plural("bundle_more", count))
