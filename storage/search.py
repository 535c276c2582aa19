"""Full-text search and related stories, behind one interface for SQLite and PostgreSQL.

The index (migration 0003) is SQLite FTS5 (unicode61, diacritics folded) or a PostgreSQL
'simple' tsvector with a GIN index. Neither has a Kazakh stemmer, and Russian stemming would
not help Kazakh, so inflections meet through prefixes: every query word of five letters or
more is cut to its first five ("выборы" -> "выбор*" finds "выборов", "сайлау" -> "сайла*"
finds "сайлауы"), which both engines answer from the index (FTS5 has a prefix index for
exactly five characters; PostgreSQL a second vector of every word cut to five characters,
`stories_fts_stems`, migration 0004, where a stem is one exact key).

Ranking work is bounded so a query costs the same on a thousand stories as on millions: the
engines first take the newest matching ids (streamed from the index in id order, which is
storage order and nearly publication order), and only that window is scored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.words import STEM_LENGTH, fold, folded_stems, ordered_stems, stems, words
from storage.models import Story

# Searches rank the newest this-many matches; related stories score this many candidates.
SEARCH_WINDOW = 1000
RELATED_WINDOW = 60
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
FREQUENCY_SAMPLE = 5000
# A headline stem alone finds candidates only when rarer than this (5 of 5,000 stories): its
# posting list stays short at any size; a more frequent one finds them paired with another.
RARE_SHARE = 0.001
RARE_MIN_COUNT = 5

# Where a sentence ends: its mark, then a space or the end of the text.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True, slots=True)
class Term:
    """One query word: `prefix` terms match every word that starts with `value`."""

    value: str
    prefix: bool

    def fts5(self) -> str:
        return f'"{self.value}"*' if self.prefix else f'"{self.value}"'

    def tsquery(self) -> str:
        # Only letters and digits reach here, so quoting cannot be broken out of.
        return f"'{self.value}':*" if self.prefix else f"'{self.value}'"

    def stems_tsquery(self) -> str | None:
        """The term against PostgreSQL's `stories_fts_stems` (each lexeme cut to its first
        five characters): a five-letter stem is one exact key there, a shorter prefix or word
        matches as before. None for a long exact word (a number), which only the full
        vector can tell apart from a longer one."""
        if len(self.value) >= STEM_LENGTH:
            return f"'{self.value}'" if self.prefix else None
        return self.tsquery()


def search_terms(query_words: Sequence[str]) -> list[Term]:
    """Query words as index terms: long words by their stem, others as typed (3+ as prefix)."""
    terms: list[Term] = []
    for word in (w for raw in query_words for w in words(raw)):
        if len(word) >= STEM_LENGTH and not word.isdigit():
            term = Term(word[:STEM_LENGTH], prefix=True)
        else:
            term = Term(word, prefix=len(word) >= 3 and not word.isdigit())
        if term not in terms:
            terms.append(term)
    return terms


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


async def stem_frequencies(
    session: AsyncSession, sample: int = FREQUENCY_SAMPLE
) -> StemFrequencies:
    """Stem document frequencies over the newest `sample` stories (one indexed read)."""
    query = select(Story.title, Story.summary).order_by(Story.id.desc()).limit(sample)
    counts: dict[str, int] = {}
    rows = (await session.execute(query)).all()
    for title, summary in rows:
        for stem in stems(title) | stems(summary[:SUMMARY_PREFIX]):
            counts[stem] = counts.get(stem, 0) + 1
    return StemFrequencies(counts, len(rows))


def related_terms(
    story: Story, frequencies: StemFrequencies | None = None
) -> tuple[list[Term], list[Term]]:
    """The story's distinctive stems as prefix terms for the index: those that find
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
    return [Term(stem, prefix=True) for stem in rare], [Term(stem, prefix=True) for stem in paired]


def _distinctive(ordered: list[str], frequencies: StemFrequencies | None) -> list[str]:
    if frequencies is None or not frequencies.sample:
        return ordered
    return [stem for stem in ordered if not frequencies.is_common(stem)]


def _any_term_or_two(
    alone: Sequence[Term], paired: Sequence[Term], joiner: str, either: str, render: str
) -> str:
    """An expression matching stories with any of the `alone` terms or two of the `paired`
    ones ("" when there are none)."""
    rendered = [getattr(term, render)() for term in paired]
    pairs = [f"({a}{joiner}{b})" for a, b in combinations(rendered, 2)]
    return either.join([getattr(term, render)() for term in alone] + pairs)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# --------------------------------------------------------------------------- search


async def search(
    session: AsyncSession,
    query_words: Sequence[str],
    *,
    limit: int,
    language: str | None = None,
    editions: Sequence[str] | None = None,
    fuzzy: bool = True,
) -> list[Story]:
    """Stories matching every word, best matches first, then newest (of `editions` only,
    when given).

    On PostgreSQL with pg_trgm, a query the index cannot match (a misspelling) falls back to
    headline similarity, within FUZZY_BUDGET_MS (unless `fuzzy` is off: the caller asks
    `similar` itself, once for several tries).
    """
    terms = search_terms(query_words)
    if not terms:
        return []
    if _dialect(session) == "postgresql":
        found = await _search_postgres(session, terms, limit, language, editions)
        if not found and fuzzy:
            found = await _similar_headlines(
                session, " ".join(query_words), limit, language, editions
            )
        return found
    return await _search_sqlite(session, terms, limit, language, editions)


def _editions_clause(column: str, editions: Sequence[str] | None) -> tuple[str, dict[str, Any]]:
    """`AND <column> IN (...)` with one bound parameter per edition ("" for every edition)."""
    if editions is None:
        return "", {}
    if not editions:
        return " AND 1 = 0", {}
    names = [f"edition_{place}" for place in range(len(editions))]
    clause = f" AND {column} IN ({', '.join(':' + name for name in names)})"
    return clause, dict(zip(names, editions, strict=True))


async def _stories_in_order(session: AsyncSession, ids: Sequence[int]) -> list[Story]:
    if not ids:
        return []
    rows = (await session.scalars(select(Story).where(Story.id.in_(list(ids))))).all()
    by_id = {story.id: story for story in rows}
    return [by_id[story_id] for story_id in ids if story_id in by_id]


_SQLITE_SEARCH = """
    SELECT s.id FROM (
        SELECT rowid AS id, bm25(stories_fts, 3.0, 1.0) AS score FROM stories_fts
        WHERE stories_fts MATCH :match ORDER BY rowid DESC LIMIT :window
    ) AS m JOIN stories AS s ON s.id = m.id
    WHERE (:language IS NULL OR s.language = :language){editions}
    ORDER BY m.score, s.published_at DESC, s.id DESC
    LIMIT :limit
    """


async def _search_sqlite(
    session: AsyncSession,
    terms: Sequence[Term],
    limit: int,
    language: str | None,
    editions: Sequence[str] | None = None,
) -> list[Story]:
    match = " AND ".join(term.fts5() for term in terms)
    clause, params = _editions_clause("s.edition", editions)
    params |= {"match": match, "window": SEARCH_WINDOW, "language": language, "limit": limit}
    ids = (await session.scalars(text(_SQLITE_SEARCH.format(editions=clause)), params)).all()
    return await _stories_in_order(session, ids)


_POSTGRES_SEARCH = """
    SELECT m.id FROM (
        SELECT id, published_at, stories_fts FROM stories
        WHERE {condition}
          AND (CAST(:language AS varchar) IS NULL OR language = :language){editions}
        ORDER BY id DESC LIMIT :window
    ) AS m
    ORDER BY ts_rank(m.stories_fts, to_tsquery('simple', :query)) DESC,
             m.published_at DESC, m.id DESC
    LIMIT :limit
"""
_STEMS_MATCH = "stories_fts_stems @@ to_tsquery('simple', :stems)"
_EXACT_MATCH = "stories_fts @@ to_tsquery('simple', :exact)"


async def _search_postgres(
    session: AsyncSession,
    terms: Sequence[Term],
    limit: int,
    language: str | None,
    editions: Sequence[str] | None = None,
) -> list[Story]:
    """Matching goes through the stems index (exact keys: an AND skips through a frequent
    stem instead of collecting every story that has it); ranking reads the full vector."""
    params: dict[str, Any] = {
        "query": " & ".join(term.tsquery() for term in terms),
        "window": SEARCH_WINDOW,
        "language": language,
        "limit": limit,
    }
    conditions = []
    stems = [stem for stem in (term.stems_tsquery() for term in terms) if stem is not None]
    if stems:
        conditions.append(_STEMS_MATCH)
        params["stems"] = " & ".join(stems)
    if len(stems) < len(terms):
        conditions.append(_EXACT_MATCH)
        params["exact"] = " & ".join(t.tsquery() for t in terms if t.stems_tsquery() is None)
    clause, edition_params = _editions_clause("edition", editions)
    params |= edition_params
    statement = text(_POSTGRES_SEARCH.format(condition=" AND ".join(conditions), editions=clause))
    ids = (await session.scalars(statement, params)).all()
    return await _stories_in_order(session, ids)


_HAS_TRIGRAMS = text("SELECT to_regclass('stories_fts_trgm') IS NOT NULL")
_SET_TIMEOUT = text("SELECT set_config('statement_timeout', :timeout, true)")
# The misspelling fallback's share of a /search reply; PostgreSQL's "query_canceled".
FUZZY_BUDGET_MS = 20
QUERY_CANCELED = "57014"
_POSTGRES_SIMILAR = text(
    """
    SELECT id FROM stories
    WHERE lower(title) % :query
      AND (CAST(:language AS varchar) IS NULL OR language = :language)
      AND (CAST(:every_edition AS boolean) OR edition IN :editions)
    ORDER BY CASE WHEN edition IN :preferred THEN 0 ELSE 1 END,
             similarity(lower(title), :query) DESC, published_at DESC
    LIMIT :limit
    """
).bindparams(
    bindparam("editions", expanding=True, type_=Story.edition.type),
    bindparam("preferred", expanding=True, type_=Story.edition.type),
)


async def similar(
    session: AsyncSession,
    query_words: Sequence[str],
    *,
    limit: int,
    editions: Sequence[str] | None = None,
    preferred: Sequence[str] = (),
) -> list[Story]:
    """Headlines like the words (PostgreSQL with pg_trgm; elsewhere none), those of the
    `preferred` editions first: one pass, one FUZZY_BUDGET_MS, for a search that tried
    several sets of editions (see `search`'s `fuzzy`)."""
    if _dialect(session) != "postgresql" or not search_terms(query_words):
        return []
    return await _similar_headlines(
        session, " ".join(query_words), limit, None, editions, preferred
    )


async def _similar_headlines(
    session: AsyncSession,
    query: str,
    limit: int,
    language: str | None,
    editions: Sequence[str] | None = None,
    preferred: Sequence[str] = (),
) -> list[Story]:
    """Headlines like the query (pg_trgm), when the extension could be installed.

    Similarity has no index bound: at a million stories a misspelling made of common
    trigrams rechecks a hundred thousand headlines (seconds of database time). The query
    gets FUZZY_BUDGET_MS; past it, nothing is found rather than the reply (and every other
    query on the database) waiting.
    """
    if not await session.scalar(_HAS_TRIGRAMS):
        return []
    params = {
        "query": fold(query),
        "language": language,
        "limit": limit,
        "every_edition": editions is None,
        "editions": list(editions or ()),
        # An empty IN list is spelt as a never-true comparison; "" is no edition's code.
        "preferred": list(preferred) or [""],
    }
    previous = await session.scalar(text("SELECT current_setting('statement_timeout')"))
    try:
        async with session.begin_nested():
            await session.execute(_SET_TIMEOUT, {"timeout": f"{FUZZY_BUDGET_MS}ms"})
            ids = (await session.scalars(_POSTGRES_SIMILAR, params)).all()
            await session.execute(_SET_TIMEOUT, {"timeout": previous})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
            raise
        return []  # the savepoint's rollback restored the timeout too
    return await _stories_in_order(session, ids)


# --------------------------------------------------------------------------- related


_SQLITE_RELATED = text(
    """
    SELECT s.id, s.title, substr(s.summary, 1, :summary_prefix) AS summary, s.link, s.section,
           s.published_at
    FROM (
        SELECT rowid AS id FROM stories_fts
        WHERE stories_fts MATCH :match AND rowid < :before
        ORDER BY rowid DESC LIMIT :window
    ) AS m JOIN stories AS s ON s.id = m.id
    WHERE s.published_at <= :published
      AND (:language IS NULL OR s.language = :language)
      AND (:edition IS NULL OR s.edition = :edition)
    """
)

_POSTGRES_RELATED = text(
    """
    SELECT s.id, s.title, substr(s.summary, 1, :summary_prefix) AS summary, s.link, s.section,
           s.published_at
    FROM stories AS s
    WHERE s.stories_fts_stems @@ to_tsquery('simple', :match) AND s.id < :before
      AND s.published_at <= :published
      AND (CAST(:language AS varchar) IS NULL OR s.language = :language)
      AND (CAST(:edition AS varchar) IS NULL OR s.edition = :edition)
    ORDER BY s.id DESC LIMIT :window
    """
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """What ranking reads from a possible related story: no full row, no ORM identity."""

    id: int
    title: str
    summary: str
    link: str | None
    section: str | None
    published_at: datetime


async def related_candidates(
    session: AsyncSession,
    story: Story,
    frequencies: StemFrequencies | None = None,
    *,
    alone: bool = False,
) -> list[Candidate]:
    """Earlier stories in the story's edition sharing two of its distinctive stems (a rare
    headline stem pairs with any other), or with `alone` one of its rare headline stems
    (index): between them, what a related story needs to reach RELATED_MIN_SCORE, bar a
    single shared headline word that is not rare.

    "Earlier" is stored before it (a smaller id: ids follow storage order) and published no
    later; the newest such matches are the pool, which keeps the cost flat at any size.
    """
    rare, paired = related_terms(story, frequencies)
    singles, pairs = (rare, []) if alone else ([], rare + paired)
    if _dialect(session) == "postgresql":
        # Related terms are five-letter stems: exact keys of the stems index.
        statement = _POSTGRES_RELATED
        match = _any_term_or_two(singles, pairs, " & ", " | ", "stems_tsquery")
    else:
        statement = _SQLITE_RELATED
        match = _any_term_or_two(singles, pairs, " AND ", " OR ", "fts5")
    if not match:
        return []
    params: dict[str, Any] = {
        "match": match,
        "before": story.id,
        "window": RELATED_WINDOW,
        "published": story.published_at,
        # Within the story's edition (a reader of it reads the links); by language only for
        # a row from before editions.
        "edition": story.edition,
        "language": story.language if story.edition is None else None,
        "summary_prefix": SUMMARY_PREFIX,
    }
    published_type = Story.published_at.type
    statement = statement.bindparams(bindparam("published", type_=published_type))
    statement = statement.columns(published_at=published_type)
    return [Candidate(*row) for row in (await session.execute(statement, params)).all()]


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
    story: Story, candidate: Candidate, frequencies: StemFrequencies | None = None
) -> float:
    """The weighted overlap of the two stories' subjects (see _score)."""
    own = _parse(story.title, story.summary[:SUMMARY_PREFIX], frequencies)
    return _score(own, _parse(candidate.title, candidate.summary, frequencies))


def rank_related(
    story: Story,
    candidates: Sequence[Candidate],
    limit: int = 3,
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


def _distinct(story: Story, ranked: Sequence[Candidate], limit: int) -> list[Candidate]:
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


async def related_to(
    session: AsyncSession,
    story: Story,
    *,
    limit: int = 3,
    frequencies: StemFrequencies | None = None,
) -> list[Story]:
    """Up to `limit` earlier stories on the same subject, best first (index-backed).

    Stories sharing two of its stems come first; only when fewer than `limit` of them rank
    are those sharing a single rare headline word asked for too. A rare word alone brings
    in every story that has it (PostgreSQL reads each of them to keep the newest: the
    costliest part of the query), and one shared word is the weakest sign of a shared
    subject, so the pool it adds is needed only when the pairs found too little.
    """
    candidates = await related_candidates(session, story, frequencies)
    ranked = rank_related(story, candidates, limit, frequencies)
    if len(ranked) < limit:
        known = {candidate.id for candidate in candidates}
        more = await related_candidates(session, story, frequencies, alone=True)
        more = [candidate for candidate in more if candidate.id not in known]
        if more:
            ranked = rank_related(story, candidates + more, limit, frequencies)
    return await _stories_in_order(session, [candidate.id for candidate in ranked])
