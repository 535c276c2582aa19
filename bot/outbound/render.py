"""Stories and breaking news as Telegram messages (HTML parse mode). Pure: no Telegram calls.

Everything that comes from a feed or an editor (titles, summaries, section titles, URLs) is
escaped with `html.escape(..., quote=True)`; the only tags produced are our own <b> and
<a href="...">, so a hostile headline such as `</b><script>` can neither break the markup
(Telegram would refuse the whole message: "can't parse entities") nor inject a link.

Telegram's limits apply to the text *after* entity parsing, counted in UTF-16 code units
(sendMessage: 4096, sendPhoto caption: 1024; see text_limits). So every message is built
twice in step, as the HTML we send and as the visible text Telegram will count; only plain
text is ever shortened, and it is escaped afterwards, so a cut never falls inside an entity
(`&am…`) or a tag: the pieces that do so are in pieces.py.

Beside it: links.py (safe URLs, UTM, hashtags), message.py (what a message is), lists.py
(headline lists and the digest), reports.py (the editor's breaking report).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.domain.channel_rules import DEFAULT_FORMAT, DeskFormat
from bot.outbound.i18n import Translator
from bot.outbound.links import CHAT_PLACEHOLDER, same_name, section_hashtag, web_url, with_utm
from bot.outbound.markup import MarkupRefused, visible_text
from bot.outbound.message import Button, OutgoingMessage, RelatedLink, StoryLike, VersionLink
from bot.outbound.pieces import (
    BULLET,
    EMPTY,
    SEPARATOR,
    Piece,
    anchor,
    bold,
    join,
    one_line,
    paragraphs,
    plain,
)
from bot.outbound.templates import TemplateFields, TemplateLink, TemplateRefused, render_template
from bot.outbound.text_limits import CAPTION_LIMIT, MESSAGE_LIMIT, cut_utf16, utf16_len

log = logging.getLogger(__name__)

# At most this many related links under a story: the site shows three "Related news" too.
RELATED_LIMIT = 3

# Feeds have been seen sending a whole article as the <title>; a headline longer than this
# (in UTF-16 units) is shortened so the summary, time and related links still have room.
TITLE_LIMIT = 512
RELATED_TITLE_LIMIT = 200
SECTION_TITLE_LIMIT = 100

# Version buttons per row under a story (Telegram takes at most 8 a row, 100 a keyboard).
VERSIONS_PER_ROW = 3
VERSION_LIMIT = 12
VERSION_LABEL_LIMIT = 64

BREAKING_MARK = "⚡ "

# A template's output is re-rendered with a shorter summary at most this many times.
_FIT_ATTEMPTS = 8


def _headline(title: str, t: Translator, breaking: bool) -> Piece:
    headline = bold(cut_utf16(one_line(title), TITLE_LIMIT))
    if not breaking:
        return headline
    return plain(BREAKING_MARK) + bold(t("breaking")) + plain("\n") + headline


def _dateline(
    story: StoryLike,
    t: Translator,
    zone: ZoneInfo,
    section_title: str | None,
    *,
    hashtags: bool = True,
) -> Piece:
    """`#parliament · Парламент · 18 ноября 2025 г., 17:38`: the hashtag is the same in every
    language (one search finds a section's posts in a channel), the title shows only when it
    says more than the hashtag, and the time is the newsroom's, not UTC. Without hashtags
    (a chat's format), the section's title alone."""
    parts: list[Piece] = []
    if story.section:
        if hashtags:
            parts.append(plain(section_hashtag(story.section)))
        title = cut_utf16(one_line(section_title), SECTION_TITLE_LIMIT)
        if title and not (hashtags and same_name(story.section, title)):
            parts.append(plain(title))
    parts.append(plain(t.date(story.published_at, zone)))
    return join(parts, SEPARATOR)


def _safe_links(
    links: Iterable[tuple[str, str]], own_link: str | None, text_limit: int, limit: int
) -> list[tuple[str, str]]:
    """Up to `limit` (text, url) links with safe, distinct URLs and a text, never the story
    itself: what related links and version buttons show alike."""
    picked: list[tuple[str, str]] = []
    seen = {own_link} if own_link else set()
    for text, raw in links:
        url = web_url(raw)
        shown = cut_utf16(one_line(text), text_limit)
        if url and shown and url not in seen:
            seen.add(url)
            picked.append((shown, url))
        if len(picked) == limit:
            break
    return picked


def _pick_related(related: Sequence[RelatedLink], own_link: str | None) -> list[RelatedLink]:
    """Up to three related links with safe, distinct URLs, never the story itself."""
    pairs = ((item.title, item.url) for item in related)
    return [
        RelatedLink(title, url)
        for title, url in _safe_links(pairs, own_link, RELATED_TITLE_LIMIT, RELATED_LIMIT)
    ]


def _related_block(
    related: Sequence[RelatedLink], own_link: str | None, t: Translator, utm: str | None = None
) -> Piece:
    links = _pick_related(related, own_link)
    if not links:
        return EMPTY
    lines = [bold(t("related"))]
    lines.extend(
        plain(BULLET) + anchor(link.title, with_utm(link.url, utm) or link.url) for link in links
    )
    return join(lines, "\n")


def _compose(head: Piece, body: str, tail: Piece) -> Piece:
    """Headline, body and footer as blocks separated by one blank line."""
    return join((head, plain(body), tail), "\n\n")


def _body_room(head: Piece, tail: Piece, limit: int) -> int:
    """How many UTF-16 units of body fit between `head` and `tail` within `limit`."""
    fixed = _compose(head, "", tail).length
    separator = utf16_len("\n\n") if fixed else 0
    return limit - fixed - separator


def _fit(head: Piece, body: str, tail: Piece, limit: int) -> Piece:
    """The message within `limit`, shortening only the body (at a word boundary)."""
    room = _body_room(head, tail, limit)
    return _compose(head, cut_utf16(body, room) if room > 0 else "", tail)


def _read_button(
    link: str | None, t: Translator, label: str | None = None
) -> tuple[tuple[Button, ...], ...]:
    text = cut_utf16(one_line(label), VERSION_LABEL_LIMIT) or t("read")
    return ((Button(text, url=link),),) if link else ()


def _pick_versions(versions: Sequence[VersionLink], own_link: str | None) -> list[VersionLink]:
    """The story's other versions with safe, distinct URLs, never the story itself."""
    pairs = ((version.label, version.url) for version in versions)
    return [
        VersionLink(label, url)
        for label, url in _safe_links(pairs, own_link, VERSION_LABEL_LIMIT, VERSION_LIMIT)
    ]


def _version_buttons(
    versions: Sequence[VersionLink], own_link: str | None, utm: str | None = None
) -> tuple[tuple[Button, ...], ...]:
    """URL buttons to the story's other versions: safe, distinct, never the story itself."""
    picked = [
        Button(version.label, url=with_utm(version.url, utm))
        for version in _pick_versions(versions, own_link)
    ]
    return tuple(
        tuple(picked[start : start + VERSIONS_PER_ROW])
        for start in range(0, len(picked), VERSIONS_PER_ROW)
    )


def _button_links(buttons: tuple[tuple[Button, ...], ...]) -> Piece:
    """The URL buttons as links on lines of their own, after a blank line (or nothing)."""
    links = join((anchor(b.text, b.url) for row in buttons for b in row if b.url), "\n")
    return plain("\n\n") + links if links else EMPTY


def for_chat(message: OutgoingMessage, chat: str) -> OutgoingMessage:
    """`message` (rendered once for every chat with a format) with CHAT_PLACEHOLDER in its
    links replaced by `chat` ("@kazinform_ru" or the chat's id), percent-encoded."""
    value = quote(chat, safe="")  # letters, digits, "%", "-", "_", ".", "~": nothing HTML-special
    if CHAT_PLACEHOLDER not in message.text and not any(
        button.url and CHAT_PLACEHOLDER in button.url for row in message.buttons for button in row
    ):
        return message
    buttons = tuple(
        tuple(
            replace(button, url=button.url.replace(CHAT_PLACEHOLDER, value))
            if button.url
            else button
            for button in row
        )
        for row in message.buttons
    )
    return replace(message, text=message.text.replace(CHAT_PLACEHOLDER, value), buttons=buttons)


def buttons_as_links(message: OutgoingMessage) -> OutgoingMessage | None:
    """`message` with its URL buttons turned into links at the end of the text; None when
    it has none.

    What goes out when Telegram refuses a button's URL (BUTTON_URL_INVALID: a host without
    a dot, say) that it takes in an href: the reader still gets the story and its link.
    Stories and breaking news keep room for these links within Telegram's limits.
    """
    links = _button_links(message.buttons)
    if not links:
        return None
    kept = tuple(row for row in (tuple(b for b in r if not b.url) for r in message.buttons) if row)
    return replace(message, text=message.text + links.html, buttons=kept)


def render_story(
    story: StoryLike,
    *,
    t: Translator,
    zone: ZoneInfo,
    section_title: str | None,
    related: Sequence[RelatedLink] = (),
    breaking: bool = False,
    versions: Sequence[VersionLink] = (),
    look: DeskFormat = DEFAULT_FORMAT,
) -> OutgoingMessage:
    """One story: bold headline, summary, hashtag and time, related links, a Read button,
    and a button to each of its versions in other editions ("Қазақша", "English").

    A story with an http(s) image whose whole text fits in a caption (1,024 UTF-16 units
    after entity parsing, sendPhoto) goes out as a photo. Anything longer goes out as text
    (4,096 units, sendMessage) with the article's link preview, which shows the image too;
    the summary is shortened to fit, never the headline, time or related links.

    `look` is the chat's format (bot.domain.channel_rules.DeskFormat): its switches drop parts of
    this layout, or its template replaces it (see _templated); the default is this layout as is.
    Links carry the chat's `utm` with CHAT_PLACEHOLDER for "{chat}" (see for_chat).
    """
    link = web_url(story.link)
    article = with_utm(link, look.utm)
    buttons = _read_button(article, t, look.read_button) + _version_buttons(
        versions, link, look.utm
    )
    if look.template:
        message = _templated(
            story,
            look,
            t=t,
            zone=zone,
            section_title=section_title,
            related=related,
            versions=versions,
            buttons=buttons,
        )
        if message is not None:
            return message
    head = _headline(story.title, t, breaking)
    tail = join(
        (
            _dateline(story, t, zone, section_title, hashtags=look.hashtags),
            _related_block(related, link, t, look.utm) if look.related else EMPTY,
            plain(one_line(look.signature)),
        ),
        "\n\n",
    )
    summary = paragraphs(story.summary) if look.summary else ""
    photo = web_url(story.image_url) if look.image else None
    message = _fitted(
        _compose(head, summary, tail),
        photo,
        buttons,
        link,
        look,
        lambda limit: _fit(head, summary, tail, limit),
    )
    assert message is not None  # _fit always fits
    return message


def _fitted(
    whole: Piece,
    photo: str | None,
    buttons: tuple[tuple[Button, ...], ...],
    link: str | None,
    look: DeskFormat,
    fit: Callable[[int], Piece | None],
) -> OutgoingMessage | None:
    """A photo when `whole` fits a caption, else text that `fit` shortens to the limit."""
    spare = _button_links(buttons).length  # see buttons_as_links
    preview = link if look.link_preview else None
    if photo and whole.length + spare <= CAPTION_LIMIT:
        return OutgoingMessage(
            whole.html, photo_url=photo, buttons=buttons, link_preview_url=preview
        )
    message = fit(MESSAGE_LIMIT - spare)
    if message is None:
        return None
    return OutgoingMessage(message.html, buttons=buttons, link_preview_url=preview)


def _template_fields(
    story: StoryLike,
    look: DeskFormat,
    *,
    t: Translator,
    zone: ZoneInfo,
    section_title: str | None,
    related: Sequence[RelatedLink],
    versions: Sequence[VersionLink],
) -> TemplateFields:
    """The story as a template sees it: plain text, the chat's switches and utm applied."""
    link = web_url(story.link)
    photo = web_url(story.image_url) if look.image else None
    picked = _pick_related(related, link) if look.related else []
    return TemplateFields(
        title=cut_utf16(one_line(story.title), TITLE_LIMIT),
        # No more than a message holds: cut further to fit (_templated).
        summary=cut_utf16(paragraphs(story.summary), MESSAGE_LIMIT) if look.summary else "",
        link=with_utm(link, look.utm) or "",
        section=cut_utf16(one_line(section_title), SECTION_TITLE_LIMIT) or (story.section or ""),
        hashtags=section_hashtag(story.section) if look.hashtags and story.section else "",
        time=t.time(story.published_at, zone),
        date=t.day(story.published_at, zone),
        author=one_line(getattr(story, "author", None)),
        image=photo or "",
        related=tuple(
            TemplateLink(item.title, with_utm(item.url, look.utm) or item.url) for item in picked
        ),
        edition=getattr(story, "edition", None) or story.language or "",
        other_editions=tuple(
            TemplateLink(version.label, with_utm(version.url, look.utm) or version.url)
            for version in _pick_versions(versions, link)
        ),
    )


def _templated(
    story: StoryLike,
    look: DeskFormat,
    *,
    t: Translator,
    zone: ZoneInfo,
    section_title: str | None,
    related: Sequence[RelatedLink],
    versions: Sequence[VersionLink],
    buttons: tuple[tuple[Button, ...], ...],
) -> OutgoingMessage | None:
    """The story through the chat's template, within Telegram's limits; None (the standard
    layout then) when the template fails for this story or cannot be made to fit.

    The output is checked with Telegram's own rules (markup.visible_text), and measured as
    Telegram counts it; when it is too long it is rendered again with the summary cut at a
    word boundary (plain text, escaped by the template), never the HTML cut.
    """
    assert look.template is not None
    source = look.template
    fields = _template_fields(
        story, look, t=t, zone=zone, section_title=section_title, related=related, versions=versions
    )
    signature = plain(one_line(look.signature))

    def attempt(summary: str) -> Piece | None:
        try:
            html = render_template(source, replace(fields, summary=summary)).strip()
            piece = Piece(visible_text(html), html)
        except (TemplateRefused, MarkupRefused) as exc:
            log.warning("story %s: the chat's template failed (%s)", story.id, exc)
            return None
        return join((piece, signature), "\n\n") if piece.visible.strip() else None

    def fit(limit: int) -> Piece | None:
        if whole is None or whole.length <= limit:
            return whole
        bare = attempt("")  # the template without a summary: the rest must fit alone
        length = utf16_len(fields.summary)
        if bare is None or bare.length > limit or not length:
            return None
        # The summary's share of the overflow (a template may show it more than once).
        shown = -(-(whole.length - bare.length) // length) or 1
        room = (limit - bare.length) // shown
        for _ in range(_FIT_ATTEMPTS):
            piece = attempt(cut_utf16(fields.summary, room)) if room > 1 else bare
            if piece is None or piece.length <= limit:
                return piece
            room -= -(-(piece.length - limit) // shown)
        return None

    whole = attempt(fields.summary)
    if whole is None:
        return None
    return _fitted(whole, fields.image or None, buttons, web_url(story.link), look, fit)


def render_breaking(
    text: str, link: str | None, *, t: Translator, label: str | None = None
) -> OutgoingMessage:
    """An editor's breaking news: "⚡ BREAKING", the text, a Read button when there is a link.

    Sent with sound (disable_notification False): it is the one message that should interrupt.
    `label` (the editor's preview of one version among several) goes in a line above it.
    """
    url = web_url(link)
    buttons = _read_button(url, t)
    head = plain(BREAKING_MARK) + bold(t("breaking"))
    if label:
        head = bold(label) + plain("\n") + head
    room = MESSAGE_LIMIT - _button_links(buttons).length  # see buttons_as_links
    message = _fit(head, paragraphs(text), EMPTY, room)
    return OutgoingMessage(
        message.html,
        buttons=buttons,
        link_preview_url=url,
        disable_notification=False,
    )


def related_button(story_id: int, t: Translator) -> Button:
    """The "Related" button under a story: `rel:<story_id>` asks for its related stories."""
    return Button(t("related_button"), callback_data=f"rel:{story_id}")


def inline_description(story: StoryLike, limit: int = 200) -> str:
    """The one-line preview under a headline in the inline results list."""
    return cut_utf16(one_line(story.summary), limit)
