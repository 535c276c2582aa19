"""Which earlier stories are "Related" to a story: the scoring, as pure values and functions.

A story's distinctive five-letter stems (bot/domain/words.py), never those frequent across
recent stories, make the query for candidates (storage/search.py reads them from the
full-text index); each candidate scores by the stems the two stories share (headline words
weigh most; sentences both summaries have word for word, the agency's boilerplate, nothing),
and those above a minimum are ranked by score, the same section, then recency, skipping
duplicates of the story or of a pick.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.domain.words import fold, folded_stems, ordered_stems, stems

# A story shows up to this many "Related" links.
MAX_RELATED = 3
# Words of the story that make the related-stories query: any of its headline's rare stems,
# or two of its other stems.
RELATED_TITLE_TERMS = 5
RELATED_PAIRED_TERMS = 5
# What a stem both stories share weighs: in both headlines, in one headline, in both summaries.
# A related story scores at least RELATED_MIN_SCORE: one headline word the two headlines
# share, a word of one headline and another word, or three words of the summaries.
TITLE_IN_TITLE = 3.0
TITLE_IN_SUMMARY = 2.0
SUMMARY_IN_SUMMARY = 1.0
RELATED_MIN_SCORE = 3.0
SUMMARY_PREFIX = 400

# Stems in more than this share of recent stories are too common to say what one is about.
COMMON_SHARE = 0.003
COMMON_MIN_COUNT = 15
# A headline stem alone finds candidates only when rarer than this (5 of 5,000 stories): its
# posting list stays short at any size; a more frequent one finds them paired with another.
RARE_SHARE = 0.001
RARE_MIN_COUNT = 5

# Where a sentence ends: its mark, then a space or the end of the text.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


class Subject(Protocol):
    """What ranking reads of the story it finds related stories for (a stored story has it)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def link(self) -> str | None: ...
    @property
    def section(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class StemFrequencies:
    """In how many of a sample of recent stories each stem occurs.

    A stem found in every tenth story ("президент", a house phrase) says little about a
    story's subject and costs the most to look up (its posting list is the longest), so
    related-story queries are built from a story's rarest stems instead.
    """

    counts: dict[str, int]
    sample: int
    # The stems is_common calls common, once: ranking checks every word of 60 candidates.
    common: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        limit = max(COMMON_MIN_COUNT, COMMON_SHARE * self.sample)
        common = frozenset(stem for stem, count in self.counts.items() if count > limit)
        object.__setattr__(self, "common", common)

    def count(self, stem: str) -> int:
        return self.counts.get(stem, 0)

    def is_rare(self, stem: str) -> bool:
        return self.count(stem) <= max(RARE_MIN_COUNT, RARE_SHARE * self.sample)

    def is_common(self, stem: str) -> bool:
        """In over 0.3% of the sample (15 of 5,000 stories), and never under 15 stories, so a
        small newsroom's sample calls little common."""
        return stem in self.common


def count_stems(texts: Iterable[tuple[str, str]]) -> StemFrequencies:
    """The stem frequencies of a sample of stories, each a (title, summary): every stem of
    its headline and of its summary's first SUMMARY_PREFIX characters counts once."""
    counts: dict[str, int] = {}
    sample = 0
    for title, summary in texts:
        sample += 1
        for stem in stems(title) | stems(summary[:SUMMARY_PREFIX]):
            counts[stem] = counts.get(stem, 0) + 1
    return StemFrequencies(counts, sample)


def related_terms(
    story: Subject, frequencies: StemFrequencies | None = None
) -> tuple[list[str], list[str]]:
    """The story's distinctive stems the index looks candidates up by: those that find
    candidates alone (rare headline stems) and those that find them in pairs (the other
    headline stems, then the summary's), never stems common across recent stories.

    A common stem weighs nothing in ranking (a house phrase, a dateline, the newsroom's
    name), so a story found only through it could never be shown; and it has the longest
    posting list. Not simply the rarest either: a one-off word (a typo, a passing name) is
    rarer than the words naming the subject, which recur in the stories that follow it.
    """
    title = _distinctive(ordered_stems(story.title), frequencies)[:RELATED_TITLE_TERMS]
    summary = [
        stem
        for stem in _distinctive(ordered_stems(story.summary[:SUMMARY_PREFIX]), frequencies)
        if stem not in title
    ]
    rare = [stem for stem in title if frequencies is None or frequencies.is_rare(stem)]
    paired = ([stem for stem in title if stem not in rare] + summary)[:RELATED_PAIRED_TERMS]
    return rare, paired


def _distinctive(ordered: list[str], frequencies: StemFrequencies | None) -> list[str]:
    if frequencies is None or not frequencies.sample:
        return ordered
    return [stem for stem in ordered if not frequencies.is_common(stem)]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What ranking reads from a possible related story: no full row, no ORM identity."""

    id: int
    title: str
    summary: str
    link: str | None
    section: str | None
    published_at: datetime


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A story's distinctive stems as ranking compares them: its headline's, and its
    summary's sentence by sentence (each keyed by its text), read once per ranking."""

    title: frozenset[str]
    sentences: dict[str, frozenset[str]]
    summary: frozenset[str]

    def summary_without(self, boilerplate: set[str]) -> frozenset[str]:
        if not boilerplate:
            return self.summary
        kept = (found for key, found in self.sentences.items() if key not in boilerplate)
        return frozenset().union(*kept)


def _parse(title: str, summary: str, frequencies: StemFrequencies | None) -> _Parsed:
    common = frequencies.common if frequencies is not None else frozenset()

    def distinctive(folded: str) -> frozenset[str]:
        return frozenset(folded_stems(folded) - common)

    sentences: dict[str, frozenset[str]] = {}
    for part in _SENTENCE_END.split(fold(summary)):
        key = " ".join(part.split())  # spacing aside, word for word
        if key:
            sentences[key] = sentences.get(key, frozenset()) | distinctive(part)
    return _Parsed(distinctive(fold(title)), sentences, frozenset().union(*sentences.values()))


def _score(own: _Parsed, theirs: _Parsed) -> float:
    """How much two stories' subjects overlap: their shared distinctive stems, weighted by
    where they stand (TITLE_IN_TITLE ...).

    A sentence both summaries have word for word is the agency's boilerplate ("Details
    follow."), never the subject, even on a young database where it is not yet frequent.
    """
    boilerplate = own.sentences.keys() & theirs.sentences.keys()
    own_all = own.title | own.summary_without(boilerplate)
    their_all = theirs.title | theirs.summary_without(boilerplate)
    score = 0.0
    for stem in own_all & their_all:
        in_titles = (stem in own.title) + (stem in theirs.title)
        score += (SUMMARY_IN_SUMMARY, TITLE_IN_SUMMARY, TITLE_IN_TITLE)[in_titles]
    return score


def related_score(
    story: Subject, candidate: Candidate, frequencies: StemFrequencies | None = None
) -> float:
    """The weighted overlap of the two stories' subjects (see _score)."""
    own = _parse(story.title, story.summary[:SUMMARY_PREFIX], frequencies)
    return _score(own, _parse(candidate.title, candidate.summary, frequencies))


def rank_related(
    story: Subject,
    candidates: Sequence[Candidate],
    limit: int = MAX_RELATED,
    frequencies: StemFrequencies | None = None,
) -> list[Candidate]:
    """The candidates most like `story` scoring at least RELATED_MIN_SCORE, then the same
    section, then the newest; never the story itself or a duplicate of it or of a pick."""
    own = _parse(story.title, story.summary[:SUMMARY_PREFIX], frequencies)
    scored: list[tuple[float, datetime, int, Candidate]] = []
    for candidate in candidates:
        if candidate.id == story.id or not candidate.link:
            continue
        score = _score(own, _parse(candidate.title, candidate.summary, frequencies))
        if score < RELATED_MIN_SCORE:
            continue
        bonus = 1.5 if candidate.section and candidate.section == story.section else 0.0
        scored.append((score + bonus, candidate.published_at, candidate.id, candidate))
    scored.sort(key=lambda item: (-item[0], -item[1].timestamp(), -item[2]))
    return _distinct(story, [candidate for *_, candidate in scored], limit)


def _distinct(story: Subject, ranked: Sequence[Candidate], limit: int) -> list[Candidate]:
    """The best-ranked stories, skipping any with the title or link of the story or a pick."""
    seen_titles = {fold(story.title).strip()}
    seen_links = {story.link} if story.link else set()
    picked: list[Candidate] = []
    for candidate in ranked:
        title = fold(candidate.title).strip()
        if title in seen_titles or candidate.link in seen_links:
            continue
        seen_titles.add(title)
        seen_links.add(candidate.link)
        picked.append(candidate)
        if len(picked) == limit:
            break
    return picked
