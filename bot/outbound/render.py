"""Stories and breaking news as Telegram messages (HTML parse mode). Pure: no Telegram calls.

Everything that comes from a feed or an editor (titles, summaries, section titles, URLs) is
escaped with `html.escape(..., quote=True)`; the only tags produced are our own <b> and
<a href="...">, so a hostile headline such as `</b><script>` can neither break the markup
(Telegram would refuse the whole message: "can't parse entities") nor inject a link.

Telegram's limits apply to the text *after* entity parsing, counted in UTF-16 code units
(sendMessage: 4096, sendPhoto caption: 1024; see text_limits). So every message is built
twice in step, as the HTML we send and as the visible text Telegram will count; only plain
text is ever shortened, and it is escaped afterwards, so a cut never falls inside an entity
(`&am…`) or a tag.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape
from typing import Protocol
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import idna

from bot.domain.channel_rules import DEFAULT_FORMAT, DeskFormat
from bot.outbound.i18n import Translator
from bot.outbound.markup import MarkupRefused, visible_text
from bot.outbound.templates import TemplateFields, TemplateLink, TemplateRefused, render_template
from bot.outbound.text_limits import CAPTION_LIMIT, MESSAGE_LIMIT, cut_utf16, utf16_len

log = logging.getLogger(__name__)

# At most this many related links under a story: the site shows three "Related news" too.
RELATED_LIMIT = 3

# Feeds have been seen sending a whole article as the <title>; a headline longer than this
# (in UTF-16 units) is shortened so the summary, time and related links still have room.
TITLE_LIMIT = 512
RELATED_TITLE_LIMIT = 200
LIST_TITLE_LIMIT = 300
SECTION_TITLE_LIMIT = 100

# Telegram stores button URLs and Story.link holds at most this much.
URL_LIMIT = 2048

# Version buttons per row under a story (Telegram takes at most 8 a row, 100 a keyboard).
VERSIONS_PER_ROW = 3
VERSION_LIMIT = 12
VERSION_LABEL_LIMIT = 64

SEPARATOR = " · "
BULLET = "• "
BREAKING_MARK = "⚡ "

_WEB_SCHEMES = frozenset({"http", "https"})
# RFC 3986: what a path (pchar and "/") and a query or fragment (also "?") may hold besides
# letters, digits, "-._~" (which `quote` never encodes) and %XX escapes.
_PATH_SAFE = "!$&'()*+,;=:@/"
_QUERY_SAFE = _PATH_SAFE + "?"
_PERCENT_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")
# A host name (reg-name: unreserved, sub-delims, escapes) or an IPv6 address.
_REG_NAME = re.compile(r"[a-z0-9\-._~!$&'()*+,;=%]+")
_IPV6_HOST = re.compile(r"[0-9a-f:.]+(%25[\w.~-]+)?")
_NOT_HASHTAG = re.compile(r"\W")
_BLANK_LINES = re.compile(r"\n\s*\n")
# What a chat's `utm` "{chat}" is rendered as: a story is rendered once for every chat with
# the same format, and for_chat puts each chat's own name in (letters and "_" survive both
# percent-encoding and HTML escaping unchanged).
CHAT_PLACEHOLDER = "__newsbot_chat__"
# A template's output is re-rendered with a shorter summary at most this many times.
_FIT_ATTEMPTS = 8


class StoryLike(Protocol):
    """What rendering reads from a story: `storage.models.Story` fits, so does a test double."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def link(self) -> str | None: ...
    @property
    def image_url(self) -> str | None: ...
    @property
    def section(self) -> str | None: ...
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


@dataclass(frozen=True)
class _Piece:
    """A fragment of a message as sent (`html`) and as Telegram counts it (`visible`)."""

    visible: str = ""
    html: str = ""

    def __add__(self, other: _Piece) -> _Piece:
        return _Piece(self.visible + other.visible, self.html + other.html)

    def __bool__(self) -> bool:
        return bool(self.visible)

    @property
    def length(self) -> int:
        return utf16_len(self.visible)


_EMPTY = _Piece()


def _plain(text: str) -> _Piece:
    return _Piece(text, escape(text, quote=True))


def _bold(text: str) -> _Piece:
    return _Piece(text, f"<b>{escape(text, quote=True)}</b>") if text else _EMPTY


def _link(text: str, url: str) -> _Piece:
    return _Piece(text, f'<a href="{escape(url, quote=True)}">{escape(text, quote=True)}</a>')


def _join(pieces: Iterable[_Piece], separator: str) -> _Piece:
    """The non-empty pieces with a plain separator between them."""
    joined = _EMPTY
    for piece in pieces:
        if piece:
            joined = joined + _plain(separator) + piece if joined else piece
    return joined


def web_url(url: str | None) -> str | None:
    """`url` as an absolute http(s) URL Telegram will take (RFC 3986, ASCII only), else None.

    Anything else (javascript:, data:, tg:, relative or empty) never becomes a button or an
    href. Feeds send links as people type them, and Telegram refuses a button whose URL
    holds a no-break space (BUTTON_URL_INVALID), so: the host goes through IDNA (xn--), the
    path, query and fragment are percent-encoded as UTF-8 where RFC 3986 wants it (escapes
    already there are kept), whitespace at the ends is dropped, and credentials
    (`user:password@`) are removed: they must never be published.
    """
    candidate = (url or "").strip()  # str.strip: NBSP and U+3000 are whitespace too
    if not candidate or len(candidate) > URL_LIMIT:
        return None
    try:
        parts = urlsplit(candidate)
        host, port = parts.hostname, parts.port
        scheme = parts.scheme.lower()
        if scheme not in _WEB_SCHEMES or not host:
            return None
        netloc = _ascii_host(host)
        if netloc is None:
            return None
        encoded = urlunsplit(
            (
                scheme,
                netloc if port is None else f"{netloc}:{port}",
                _percent_encoded(parts.path, _PATH_SAFE),
                _percent_encoded(parts.query, _QUERY_SAFE),
                _percent_encoded(parts.fragment, _QUERY_SAFE),
            )
        )
    except (ValueError, UnicodeError):  # an invalid IPv6 literal or port, a lone surrogate
        return None
    return encoded if len(encoded) <= URL_LIMIT else None


def _ascii_host(host: str) -> str | None:
    """The host as RFC 3986 wants it in a URL (IDNA for non-ASCII names), None if invalid.

    UTS #46 (what browsers do) first; Python's IDNA 2003 codec for names IDNA 2008 forbids
    but browsers still open (symbols, emoji). `host` comes lower-cased from urlsplit.
    """
    if ":" in host:  # an IPv6 literal, brackets removed by urlsplit
        return f"[{host}]" if _IPV6_HOST.fullmatch(host) else None
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            host = host.encode("idna").decode("ascii")  # UnicodeError when hopeless
    return host if _REG_NAME.fullmatch(host) else None


def _percent_encoded(component: str, safe: str) -> str:
    """`component` with what RFC 3986 does not allow in it percent-encoded as UTF-8.

    Valid `%XX` escapes are kept as they are (never `%2520`); a `%` starting none is `%25`.
    """
    pieces = _PERCENT_ESCAPE.split(component)
    return "".join(
        piece if index % 2 else quote(piece, safe=safe) for index, piece in enumerate(pieces)
    )


def section_hashtag(slug: str) -> str:
    """The section as a hashtag: "#parliament". Hashtags end at "-", so it becomes "_"."""
    return "#" + _NOT_HASHTAG.sub("_", slug)


def _one_line(text: str | None) -> str:
    """Titles on one line, runs of whitespace (tabs, newlines, NBSP) as single spaces."""
    return " ".join((text or "").split())


def _paragraphs(text: str | None) -> str:
    """Plain text with its paragraphs and line breaks kept, other whitespace collapsed."""
    unified = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    blocks = []
    for block in _BLANK_LINES.split(unified):
        lines = (" ".join(line.split()) for line in block.split("\n"))
        joined = "\n".join(line for line in lines if line)
        if joined:
            blocks.append(joined)
    return "\n\n".join(blocks)


def _same_name(slug: str, title: str) -> bool:
    """Whether a section title only repeats its slug ("Foreign policy" / foreign_policy)."""
    return _NOT_HASHTAG.sub("", slug.replace("_", "")).casefold() == (
        _NOT_HASHTAG.sub("", title.replace("_", "")).casefold()
    )


def _headline(title: str, t: Translator, breaking: bool) -> _Piece:
    headline = _bold(cut_utf16(_one_line(title), TITLE_LIMIT))
    if not breaking:
        return headline
    return _plain(BREAKING_MARK) + _bold(t("breaking")) + _plain("\n") + headline


def _dateline(
    story: StoryLike,
    t: Translator,
    zone: ZoneInfo,
    section_title: str | None,
    *,
    hashtags: bool = True,
) -> _Piece:
    """`#parliament · Парламент · 18 ноября 2025 г., 17:38`: the hashtag is the same in every
    language (one search finds a section's posts in a channel), the title shows only when it
    says more than the hashtag, and the time is the newsroom's, not UTC. Without hashtags
    (a chat's format), the section's title alone."""
    parts: list[_Piece] = []
    if story.section:
        if hashtags:
            parts.append(_plain(section_hashtag(story.section)))
        title = cut_utf16(_one_line(section_title), SECTION_TITLE_LIMIT)
        if title and not (hashtags and _same_name(story.section, title)):
            parts.append(_plain(title))
    parts.append(_plain(t.date(story.published_at, zone)))
    return _join(parts, SEPARATOR)


def _safe_links(
    links: Iterable[tuple[str, str]], own_link: str | None, text_limit: int, limit: int
) -> list[tuple[str, str]]:
    """Up to `limit` (text, url) links with safe, distinct URLs and a text, never the story
    itself: what related links and version buttons show alike."""
    picked: list[tuple[str, str]] = []
    seen = {own_link} if own_link else set()
    for text, raw in links:
        url = web_url(raw)
        shown = cut_utf16(_one_line(text), text_limit)
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
) -> _Piece:
    links = _pick_related(related, own_link)
    if not links:
        return _EMPTY
    lines = [_bold(t("related"))]
    lines.extend(
        _plain(BULLET) + _link(link.title, _with_utm(link.url, utm) or link.url) for link in links
    )
    return _join(lines, "\n")


def _compose(head: _Piece, body: str, tail: _Piece) -> _Piece:
    """Headline, body and footer as blocks separated by one blank line."""
    return _join((head, _plain(body), tail), "\n\n")


def _body_room(head: _Piece, tail: _Piece, limit: int) -> int:
    """How many UTF-16 units of body fit between `head` and `tail` within `limit`."""
    fixed = _compose(head, "", tail).length
    separator = utf16_len("\n\n") if fixed else 0
    return limit - fixed - separator


def _fit(head: _Piece, body: str, tail: _Piece, limit: int) -> _Piece:
    """The message within `limit`, shortening only the body (at a word boundary)."""
    room = _body_room(head, tail, limit)
    return _compose(head, cut_utf16(body, room) if room > 0 else "", tail)


def _read_button(
    link: str | None, t: Translator, label: str | None = None
) -> tuple[tuple[Button, ...], ...]:
    text = cut_utf16(_one_line(label), VERSION_LABEL_LIMIT) or t("read")
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
        Button(version.label, url=_with_utm(version.url, utm))
        for version in _pick_versions(versions, own_link)
    ]
    return tuple(
        tuple(picked[start : start + VERSIONS_PER_ROW])
        for start in range(0, len(picked), VERSIONS_PER_ROW)
    )


def _button_links(buttons: tuple[tuple[Button, ...], ...]) -> _Piece:
    """The URL buttons as links on lines of their own, after a blank line (or nothing)."""
    links = _join((_link(b.text, b.url) for row in buttons for b in row if b.url), "\n")
    return _plain("\n\n") + links if links else _EMPTY


def _with_utm(url: str | None, utm: str | None) -> str | None:
    """An article link with a chat's `utm` query parameters appended (its own query kept);
    "{chat}" becomes CHAT_PLACEHOLDER, for for_chat to fill in."""
    if not url or not utm:
        return url
    parts = urlsplit(url)
    params = utm.replace("{chat}", CHAT_PLACEHOLDER)
    query = f"{parts.query}&{params}" if parts.query else params
    return web_url(urlunsplit(parts._replace(query=query))) or url


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
    article = _with_utm(link, look.utm)
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
    tail = _join(
        (
            _dateline(story, t, zone, section_title, hashtags=look.hashtags),
            _related_block(related, link, t, look.utm) if look.related else _EMPTY,
            _plain(_one_line(look.signature)),
        ),
        "\n\n",
    )
    summary = _paragraphs(story.summary) if look.summary else ""
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
    whole: _Piece,
    photo: str | None,
    buttons: tuple[tuple[Button, ...], ...],
    link: str | None,
    look: DeskFormat,
    fit: Callable[[int], _Piece | None],
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
        title=cut_utf16(_one_line(story.title), TITLE_LIMIT),
        # No more than a message holds: cut further to fit (_templated).
        summary=cut_utf16(_paragraphs(story.summary), MESSAGE_LIMIT) if look.summary else "",
        link=_with_utm(link, look.utm) or "",
        section=cut_utf16(_one_line(section_title), SECTION_TITLE_LIMIT) or (story.section or ""),
        hashtags=section_hashtag(story.section) if look.hashtags and story.section else "",
        time=t.time(story.published_at, zone),
        date=t.day(story.published_at, zone),
        author=_one_line(getattr(story, "author", None)),
        image=photo or "",
        related=tuple(
            TemplateLink(item.title, _with_utm(item.url, look.utm) or item.url) for item in picked
        ),
        edition=getattr(story, "edition", None) or story.language or "",
        other_editions=tuple(
            TemplateLink(version.label, _with_utm(version.url, look.utm) or version.url)
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
    signature = _plain(_one_line(look.signature))

    def attempt(summary: str) -> _Piece | None:
        try:
            html = render_template(source, replace(fields, summary=summary)).strip()
            piece = _Piece(visible_text(html), html)
        except (TemplateRefused, MarkupRefused) as exc:
            log.warning("story %s: the chat's template failed (%s)", story.id, exc)
            return None
        return _join((piece, signature), "\n\n") if piece.visible.strip() else None

    def fit(limit: int) -> _Piece | None:
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
    head = _plain(BREAKING_MARK) + _bold(t("breaking"))
    if label:
        head = _bold(label) + _plain("\n") + head
    room = MESSAGE_LIMIT - _button_links(buttons).length  # see buttons_as_links
    message = _fit(head, _paragraphs(text), _EMPTY, room)
    return OutgoingMessage(
        message.html,
        buttons=buttons,
        link_preview_url=url,
        disable_notification=False,
    )


def _list_item(
    number: int,
    story: StoryLike,
    *,
    t: Translator,
    zone: ZoneInfo,
    section_titles: Mapping[str, str],
    show_time: bool,
    show_language: bool = False,
) -> _Piece:
    """`1. <a href="…">Title</a> · 17:38 · #parliament` (a hashtag for configured sections;
    `[kk]` after it for a story from an edition the reader does not read)."""
    title = cut_utf16(_one_line(story.title), LIST_TITLE_LIMIT) or "…"
    url = web_url(story.link)
    parts = [_link(title, url) if url else _plain(title)]
    if show_time:
        parts.append(_plain(t.time(story.published_at, zone)))
    if story.section and story.section in section_titles:
        parts.append(_plain(section_hashtag(story.section)))
    edition = getattr(story, "edition", None) or getattr(story, "language", None)
    if show_language and edition:
        parts.append(_plain(f"[{edition}]"))
    return _plain(f"{number}. ") + _join(parts, SEPARATOR)


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
    message = _bold(cut_utf16(_one_line(title), LIST_TITLE_LIMIT))
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
            addition = _plain("\n\n") + _bold(heading) + _plain("\n") + item
        else:
            addition = _plain("\n\n" if number == 1 else "\n") + item
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


def related_button(story_id: int, t: Translator) -> Button:
    """The "Related" button under a story: `rel:<story_id>` asks for its related stories."""
    return Button(t("related_button"), callback_data=f"rel:{story_id}")


def inline_description(story: StoryLike, limit: int = 200) -> str:
    """The one-line preview under a headline in the inline results list."""
    return cut_utf16(_one_line(story.summary), limit)


# Telegram's error texts are short; a longer one is cut so ten reasons always fit one message.
REASON_LIMIT = 200


class FailureLike(Protocol):
    reason: str
    count: int


def render_breaking_report(
    delivered: int,
    failed: int,
    queued: int,
    reasons: Sequence[FailureLike],
    *,
    t: Translator,
    by_edition: Sequence[tuple[str, int]] = (),
) -> str:
    """The editor's report on their breaking news: counts, then (for news in versions) the
    chats each version reached ("• Қазақша — 35 chats"), then Telegram's reasons."""
    text = escape(
        t(
            "breaking_report",
            delivered=t.plural("chats_count", delivered),
            failed=t.plural("chats_count", failed),
            queued=t.plural("chats_count", queued),
        ),
        quote=False,
    )
    if by_edition:
        lines = [
            f"• {escape(label)} — {escape(t.plural('chats_count', count))}"
            for label, count in by_edition
        ]
        text = "\n".join([text, escape(t("breaking_report_editions")), *lines])
    return f"{text}\n{render_failure_reasons(reasons, t)}" if reasons else text


def render_failure_reasons(reasons: Sequence[FailureLike], t: Translator) -> str:
    """One escaped line per reason ("• Bad Request: chat not found — 12 chats"), for editors."""
    return "\n".join(
        f"• {escape(cut_utf16(reason.reason, REASON_LIMIT))} — "
        f"{escape(t.plural('chats_count', reason.count))}"
        for reason in reasons
    )
