"""Several stories in one message: a reader's bundle, or a paced channel's "More news".

One renderer for both (bot/domain/bundling.py and bot/delivery/pace.py decide when): the
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
from bot.outbound.render import (
    BULLET,
    LIST_TITLE_LIMIT,
    SEPARATOR,
    OutgoingMessage,
    StoryLike,
    _bold,
    _join,
    _link,
    _one_line,
    _paragraphs,
    _Piece,
    _plain,
    web_url,
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
    message = _bold(title)
    listed: list[int] = []
    for story in ordered[:BUNDLE_LIMIT]:
        item = _item(story, t=t, zone=zone, section_titles=section_titles, lead=not listed)
        addition = _plain("\n\n" if len(listed) < 2 else "\n") + item
        reserve = _more_line(len(ordered), t) if overflow else _plain("")
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
) -> _Piece:
    """`• <a href="…">Headline</a> · Politics · 17:38`; the newest in bold, its lead below."""
    headline = cut_utf16(_one_line(story.title), LIST_TITLE_LIMIT) or "…"
    url = web_url(story.link)
    linked = _link(headline, url) if url else _plain(headline)
    if lead:
        linked = _Piece(linked.visible, f"<b>{linked.html}</b>")
    section = section_titles.get(story.section or "")
    item = _plain(BULLET) + _join(
        (linked, _plain(section or ""), _plain(t.time(story.published_at, zone))), SEPARATOR
    )
    summary = _paragraphs(story.summary).split("\n\n")[0] if lead else ""
    if summary:
        item = item + _plain("\n" + cut_utf16(summary, LEAD_LIMIT))
    return item


def _more_line(count: int, t: Translator) -> _Piece:
    return _plain("\n\n" + t.plural("bundle_more", count))
