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

Related stories: which of a story's stems to look candidates up by, and how the candidates
score and rank, is decided in bot/domain/related.py; here are the queries, which map rows
to its `Candidate` and `StemFrequencies` values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.related import (
    MAX_RELATED,
    SUMMARY_PREFIX,
    Candidate,
    StemFrequencies,
    count_stems,
    rank_related,
    related_terms,
)
from bot.domain.words import STEM_LENGTH, fold, words
from storage.models import Story

# Searches rank the newest this-many matches; related stories score this many candidates.
SEARCH_WINDOW = 1000
RELATED_WINDOW = 60
# Stem frequencies are counted over this many of the newest stories.
FREQUENCY_SAMPLE = 5000


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


async def stem_frequencies(
    session: AsyncSession, sample: int = FREQUENCY_SAMPLE
) -> StemFrequencies:
    """Stem document frequencies over the newest `sample` stories (one indexed read)."""
    query = select(Story.title, Story.summary).order_by(Story.id.desc()).limit(sample)
    return count_stems((await session.execute(query)).all())


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
    rare_stems, paired_stems = related_terms(story, frequencies)
    rare = [Term(stem, prefix=True) for stem in rare_stems]
    paired = [Term(stem, prefix=True) for stem in paired_stems]
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


async def related_to(
    session: AsyncSession,
    story: Story,
    *,
    limit: int = MAX_RELATED,
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
