"""Breaking news as text: an editor's /breaking split into its link and its versions per
edition, the CMS's text (one for all, or one per edition), and which version a chat gets.

Pure: the breaking service (bot/services/breaking.py) drafts and counts with it and hands
the fan-out each chat's version as a table (`version_table`), which the composer
(bot/delivery/compose.py) follows when it renders.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from bot.domain.editions import reading_order
from bot.domain.invisible import strip_invisible

LINK = re.compile(r"https?://\S+")
MAX_TEXT = 3000


# `kk: …` at the start of a line: the code (checked against the editions) and the rest.
VERSION_LINE = re.compile(r"^[ \t]*([A-Za-z]{2,3})[ \t]*:[ \t]*(.*)$")


@dataclass(frozen=True, slots=True)
class Draft:
    """Breaking news as typed: `text` is the first version (the whole text when there is one
    version for everyone); `texts` holds each edition's version, in the order given, or is
    None for one version."""

    text: str
    link: str | None
    texts: dict[str, str] | None = None

    def versions(self) -> list[tuple[str | None, str]]:
        """(edition, text) for each version; the edition is None for one version for all."""
        if not self.texts:
            return [(None, self.text)]
        return list(self.texts.items())


def _clean(raw: str) -> str:
    return strip_invisible(raw).strip()


def _split_versions(text: str, editions: Collection[str]) -> dict[str, str] | None:
    """Each edition's version when the text's lines start with edition codes, else None.

    Only a code at the start of a line counts, and only an edition's: "UPDATE: …" or a
    text whose first line names no edition is one version. A line that does not start a
    new version continues the one above it; a code given twice keeps its first version.
    """
    lines = text.splitlines()
    first = VERSION_LINE.match(lines[0]) if lines else None
    if first is None or first.group(1).lower() not in editions:
        return None
    versions: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines:
        match = VERSION_LINE.match(line)
        code = match.group(1).lower() if match else None
        if match and code in editions and code not in versions:
            current = versions.setdefault(code, [match.group(2)])
        else:
            current.append(line)
    texts = {code: "\n".join(parts).strip()[:MAX_TEXT] for code, parts in versions.items()}
    return {code: version for code, version in texts.items() if version} or None


def _take_link(text: str, link: str | None) -> str:
    """The text without the button's link when the text ends with it."""
    return text[: -len(link)].rstrip() if link and text.endswith(link) else text


def split_link(raw: str, editions: Collection[str] = ()) -> Draft:
    """`/breaking <text, optionally with a link>`: the last http(s) URL becomes the button
    (under every version), and lines starting with an edition code (`kk: …`) are versions.

    NUL and other control or invisible characters go, as from feeds and the CMS: they hide
    or reorder text in a chat client and never carry news.
    """
    text = _clean(raw)
    links = LINK.findall(text)
    found = links[-1] if links else None
    link = found.rstrip(".,;)") if found else None
    texts = _split_versions(text, editions)
    if texts is None:
        return Draft(text=_take_link(text, found)[:MAX_TEXT], link=link)
    texts = {code: _take_link(version, found) for code, version in texts.items()}
    texts = {code: version for code, version in texts.items() if version}
    if not texts:
        return Draft(text="", link=link)
    return Draft(text=next(iter(texts.values())), link=link, texts=texts)


def version_for(
    texts: Mapping[str, str] | None, reading: Sequence[str], newsroom_language: str
) -> str | None:
    """Which version a chat gets: its first edition (in `reading` order) that has one, else
    the newsroom's `language` version, else the first given; None for one version for all."""
    if not texts:
        return None
    for edition in (*reading, newsroom_language):
        if edition in texts:
            return edition
    return next(iter(texts))


# Beyond this many newsroom editions the table would be too long to hand to the database
# (2^n reading sets): versions are then picked at send time only.
MAX_TABLE_EDITIONS = 6


@dataclass(frozen=True, slots=True)
class VersionRule:
    """Chats reading exactly `editions` of the newsroom's, with the interface `language`
    (None: one that is none of them), get `version`."""

    editions: frozenset[str]
    language: str | None
    version: str


def version_table(
    texts: Mapping[str, str], newsroom: Sequence[str], newsroom_language: str
) -> list[VersionRule]:
    """`version_for` for every chat there can be, as a table: each set of the newsroom's
    editions a chat may read, each language among them first, then any other language. The
    fan-out hands it to the database, which looks each chat's version up while it queues
    breaking news (so progress per version is a count of rows, not a reading of every chat);
    the rule stays here. Empty when there is nothing to pick (one version for all) or too
    many editions for a table (MAX_TABLE_EDITIONS)."""
    if not texts or len(newsroom) > MAX_TABLE_EDITIONS:
        return []
    table: list[VersionRule] = []
    for size in range(len(newsroom) + 1):
        for chosen in combinations(newsroom, size):
            reads = frozenset(chosen)
            for language in (*chosen, None):
                order = reading_order(reads, language, newsroom)
                version = version_for(texts, order, newsroom_language)
                assert version is not None
                table.append(VersionRule(reads, language, version))
    return table


# Breaking news' text from the CMS: one for every chat, or one per edition ({"kk": "…", "ru": "…"}).
BreakingText = str | dict[str, str]


def first_and_versions(text: BreakingText) -> tuple[str, dict[str, str] | None]:
    """The alert's `text` (the first version) and `texts` (None for one text for all)."""
    if isinstance(text, str):
        return text, None
    return next(iter(text.values())), dict(text)


def delivered_by_version(
    texts: Mapping[str, str], readings: Iterable[Sequence[str]], newsroom_language: str
) -> list[tuple[str, int]]:
    """How many chats got each version, in the order given (a version nobody got shows 0),
    from each chat's reading order."""
    return count_by_version(texts, ((reading, 1) for reading in readings), newsroom_language)


def count_by_version(
    texts: Mapping[str, str], groups: Iterable[tuple[Sequence[str], int]], newsroom_language: str
) -> list[tuple[str, int]]:
    """`delivered_by_version` for chats counted in groups: (reading order, chats) each, as
    the database counts them (storage/breaking_reach.py) so 100k chats are a few rows."""
    counts = dict.fromkeys(texts, 0)
    for reading, chats in groups:
        edition = version_for(texts, reading, newsroom_language)
        if edition is not None:
            counts[edition] += chats
    return list(counts.items())
