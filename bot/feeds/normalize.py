"""Turning a parsed entry into a story newsbot stores: identity, plain text, canonical link.

Pure and synchronous. CONTRACT:

    draft = normalize_entry(entry, context)      # -> StoryDraft | None (None: nothing usable)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.identity import canonical_link, content_hash, story_identity, without_credentials
from bot.feeds.parser import ParsedEntry
from bot.feeds.text import first_sentence, html_to_text, inline_text, shorten
from storage.limits import fits
from storage.models import StoryAlternate

if TYPE_CHECKING:
    from bot.config import SectionConfig

SUMMARY_LIMIT = 600
TITLE_LIMIT = 300
AUTHOR_LIMIT = 100
# A stated date later than now by more than this is a mistake, not clock skew between the
# newsroom's server and ours; one before EARLIEST_DATE is a placeholder (no news site, and
# no feed format, is older): both are treated as no date at all.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)

# Language codes seen on Kazakh sites that are not ISO 639-1.
_LANGUAGE_ALIASES = {"kz": "kk", "kaz": "kk", "rus": "ru", "eng": "en"}
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}")
# Read only this much of a description: enough text to cut at a sentence.
_SUMMARY_READ_CHARS = SUMMARY_LIMIT * 2


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What normalisation needs to know about the feed an entry came from."""

    feed_url: str  # final URL: relative links resolve against it
    section: str | None  # the feed's own section (fallback)
    language: str | None  # the feed's configured `language`: every item is in it
    categories: dict[str, str] = field(default_factory=dict)  # lower-cased category -> slug
    now: datetime | None = None  # aware UTC; "first seen" and the future clamp
    # The newsroom's editions and the edition a story in another language is shown in
    # (settings.default_edition); none: a story's language is its edition.
    editions: tuple[str, ...] = ()
    default_edition: str | None = None
    # The feed document's own language (<language>, xml:lang, JSON Feed `language`): an
    # item's own language, when it states one, comes first.
    feed_language: str | None = None

    def edition_of(self, language: str | None) -> str | None:
        """The edition a story in `language` belongs to (see Settings.edition_of)."""
        if not self.editions:
            return language
        return language if language in self.editions else self.default_edition


@dataclass(frozen=True, slots=True)
class StoryDraft:
    identity: str  # <= 255 chars, unique per story
    link: str | None  # canonical: fragment and utm_* removed, absolute
    title: str  # plain text
    summary: str  # plain text, paragraphs separated by "\n\n"
    image_url: str | None
    author: str | None
    language: str | None
    section: str | None
    published_at: datetime  # aware UTC
    content_hash: str  # of title + summary: detects corrections
    date_note: str | None = None  # why the stated date was not used (first-seen time instead)
    edition: str | None = None  # the newsroom edition it is shown in (None: its language)
    # Its versions in other editions as its source names them: (edition, canonical link).
    alternates: tuple[tuple[str, str], ...] = ()
    # The feed item's categories as plain text (RSS/Atom <category>, JSON Feed tags): the
    # desk's filters match them as they match the headline.
    categories: tuple[str, ...] = ()


def normalize_entry(entry: ParsedEntry, context: FeedContext) -> StoryDraft | None:
    """The story to store for `entry`, or None when it has no title, summary or link."""
    now = _as_utc(context.now) if context.now is not None else datetime.now(UTC)
    # The feed's configured language, else the item's own, else the feed document's, else
    # the newsroom's: a mixed feed's Kazakh item is Kazakh even in a feed marked Russian.
    language = (
        normalize_language(context.language)
        or normalize_language(entry.language)
        or normalize_language(context.feed_language)
        or context.default_edition
    )
    own, named = _own_link(entry, language)
    canonical = canonical_link(own, context.feed_url)
    link = without_credentials(canonical)
    summary = shorten(
        html_to_text(entry.summary_html, max_chars=_SUMMARY_READ_CHARS),
        SUMMARY_LIMIT,
        at_sentence=True,
    )
    title = _title(entry.title, summary, link)
    if not title:
        return None
    published_at, date_note = _published_at(entry, now)
    edition = context.edition_of(language)
    return StoryDraft(
        # The identity is made of the link as it came (credentials and all), as it always
        # was: stories stored before credentials were removed are still recognised.
        identity=story_identity(entry.guid, canonical, title, summary, base=context.feed_url),
        link=link,
        title=title,
        summary=summary,
        image_url=without_credentials(canonical_link(entry.image_url, context.feed_url)),
        author=_author(entry.author),
        language=language,
        section=_section(entry.categories, context),
        published_at=published_at,
        content_hash=content_hash(title, summary),
        date_note=date_note,
        edition=edition,
        alternates=alternate_editions(named, context, own_edition=edition, own_link=link),
        categories=_plain_categories(entry.categories),
    )


def _own_link(
    entry: ParsedEntry, language: str | None
) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The entry's own link and the versions it names, for an entry whose every link carries
    a hreflang (the parser could not tell which is its own): the one in the story's
    language, else the first. Never another language's when its own is named."""
    if entry.link or not entry.alternates:
        return entry.link, entry.alternates
    chosen = next(
        (pair for pair in entry.alternates if normalize_language(pair[0]) == language),
        entry.alternates[0],
    )
    return chosen[1], tuple(pair for pair in entry.alternates if pair != chosen)


def alternate_editions(
    named: Iterable[tuple[str, str]],
    context: FeedContext,
    *,
    own_edition: str | None,
    own_link: str | None,
) -> tuple[tuple[str, str], ...]:
    """(edition, canonical link) of each named version in another of the newsroom's editions.

    Links are canonicalised as a story's own link is (the same normalisation as story
    identity), so a version stored later is found by its link whatever tracking tags or
    relative form the naming side used. "x-default" and languages that are not editions
    are dropped: they name no version a chat could read, as is a link longer than storage
    holds (storage/limits.py). One link per edition, the first.
    """
    found: dict[str, str] = {}
    for hreflang, href in named:
        language = normalize_language(hreflang)
        if language is None or (context.editions and language not in context.editions):
            continue
        link = without_credentials(canonical_link(href, context.feed_url))
        if link is None or link == own_link or language == own_edition:
            continue
        if not fits(StoryAlternate.link, link):
            continue  # a link cut short leads nowhere; the column could not hold it whole
        found.setdefault(language, link)
    return tuple(found.items())


def normalize_language(language: str | None) -> str | None:
    """Primary language subtag: "ru-RU" -> "ru", "kk_KZ" -> "kk", "en-us" -> "en"."""
    if not language:
        return None
    primary = language.strip().replace("_", "-").split("-", 1)[0].lower()
    primary = _LANGUAGE_ALIASES.get(primary, primary)
    return primary if _LANGUAGE_TAG.fullmatch(primary) else None


def build_category_map(sections: Iterable[SectionConfig]) -> dict[str, str]:
    """Casefolded feed category / slug / section title -> section slug.

    Categories listed explicitly win over slugs, which win over titles, and an earlier
    section wins over a later one: so a section titled "Politics" cannot steal the
    category "Politics" that the config assigns to another section.
    """
    sections = list(sections)
    mapping: dict[str, str] = {}
    for section in sections:
        for category in section.categories:
            _add_key(mapping, category, section.slug)
    for section in sections:
        _add_key(mapping, section.slug, section.slug)
    for section in sections:
        titles = [section.title] if isinstance(section.title, str) else section.title.values()
        for title in titles:
            _add_key(mapping, title, section.slug)
    return mapping


def _add_key(mapping: dict[str, str], key: str, slug: str) -> None:
    folded = key.strip().casefold()
    if folded:
        mapping.setdefault(folded, slug)


def _title(raw_title: str, summary: str, link: str | None) -> str:
    """Plain headline; else the summary's first sentence; else the link itself."""
    title = inline_text(raw_title)
    if title:
        return shorten(title, TITLE_LIMIT)
    if summary:
        return first_sentence(summary, TITLE_LIMIT)
    return link or ""


def _author(raw: str | None) -> str | None:
    if not raw:
        return None
    return shorten(inline_text(raw), AUTHOR_LIMIT) or None


# A feed item's categories kept: the first CATEGORY_COUNT, each at most CATEGORY_LIMIT long
# (feeds have been seen listing a hundred tags; filters only need the words).
CATEGORY_COUNT = 20
CATEGORY_LIMIT = 100


def _plain_categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    """The item's categories as one-line plain text, distinct (case-blind), in feed order."""
    kept: dict[str, str] = {}
    for category in categories:
        text = shorten(inline_text(category), CATEGORY_LIMIT)
        if text:
            kept.setdefault(text.casefold(), text)
        if len(kept) == CATEGORY_COUNT:
            break
    return tuple(kept.values())


def _section(categories: tuple[str, ...], context: FeedContext) -> str | None:
    """First entry category that the config maps to a section, else the feed's section."""
    if categories and context.categories:
        mapping = {key.casefold(): slug for key, slug in context.categories.items()}
        for category in categories:
            slug = mapping.get(inline_text(category).casefold())
            if slug:
                return slug
    return context.section


def _published_at(entry: ParsedEntry, now: datetime) -> tuple[datetime, str | None]:
    """The stated date if plausible, else the first-seen time and why (None: not stated).

    A date in the future (a mistyped year, a wrong time zone) would pin a story to the top of
    every "latest" list, and one before 1990 (a CMS's "0001-01-01" placeholder) would be
    pushed as history: either is treated as missing, as is a date that could not be read.
    """
    note = None
    for stated in (entry.published, entry.updated):
        if stated is None:
            continue
        stated = _as_utc(stated)
        problem = implausible_date(stated, now)
        if problem is None:
            return stated, None
        note = note or f"{stated.isoformat(sep=' ', timespec='minutes')} is {problem}"
    if note is None and entry.unreadable_date:
        note = f"{shorten(inline_text(entry.unreadable_date), 60)!r} is not a readable date"
    return now, note


def implausible_date(moment: datetime, now: datetime) -> str | None:
    """Why an aware `moment` cannot be a story's publication time, or None if it can."""
    if moment < EARLIEST_DATE:
        return f"before {EARLIEST_DATE:%Y}"
    if moment > now + FUTURE_TOLERANCE:
        return "in the future"
    return None


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
