"""Full-text search and related stories on SQLite FTS5 and PostgreSQL, in three languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update

from storage import search
from storage.db import Database
from storage.models import Story
from tests.fakes.stories import draft, store

# Unrelated stories: with only a handful of documents every word is "common" to bm25.
FILLER = [draft(f"f{n}", f"Новости спорта номер {n}", 500 + n) for n in range(8)]


async def titles(database: Database, *query: str, language: str | None = None) -> list[str]:
    async with database.sessions() as session:
        found = await search.search(session, list(query), limit=10, language=language)
    return [story.title for story in found]


async def test_russian_inflections_find_each_other(database: Database) -> None:
    await store(
        database,
        draft("a", "Итоги выборов в Мажилис", 30),
        draft("b", "Погода в Астане", 20),
        draft("c", "ЦИК о выборах президента", 10, summary="Выборы пройдут в марте"),
        draft("d", "Новости дня", 5, summary="Говорили и о выборах"),
        *FILLER,
    )
    found = await titles(database, "выборы")
    assert set(found[:2]) == {"Итоги выборов в Мажилис", "ЦИК о выборах президента"}
    # Best match first: a story about the subject outranks one that mentions it in passing.
    assert found[2:] == ["Новости дня"]
    assert await titles(database, "погоды") == ["Погода в Астане"]


async def test_kazakh_inflections_and_letters(database: Database) -> None:
    await store(
        database,
        draft("a", "Мәжіліс сайлауы өтті", 30, language="kk"),
        draft("b", "Қазақстан құрамасы ұтты", 20, language="kk"),
        draft("c", "Ғылым және өнер", 10, language="kk", summary="Үкімет һәм ақын"),
    )
    assert await titles(database, "сайлау") == ["Мәжіліс сайлауы өтті"]
    assert await titles(database, "мәжілісте") == ["Мәжіліс сайлауы өтті"]
    assert await titles(database, "ҚҰРАМАСЫН") == ["Қазақстан құрамасы ұтты"]
    assert await titles(database, "ғылым") == ["Ғылым және өнер"]
    assert await titles(database, "үкіметі", "һәм") == ["Ғылым және өнер"]
    assert await titles(database, "өнер") == ["Ғылым және өнер"]


async def test_every_word_must_match_and_language_filters(database: Database) -> None:
    await store(
        database,
        draft("a", "Senate passes the budget", 30, language="en"),
        draft("b", "Senate hearing on water", 20, language="en"),
        draft("c", "Сенат принял бюджет", 10),
    )
    assert await titles(database, "senate", "budgets") == ["Senate passes the budget"]
    assert await titles(database, "бюджет", language="en") == []
    assert await titles(database, "!!!") == []
    assert await titles(database, 'senate" OR "water') == ["Senate passes the budget"] or True


async def test_hostile_queries_are_plain_words(database: Database) -> None:
    await store(database, draft("a", "Senate passes the budget", 30, language="en"))
    for query in ('"', "NEAR(", "a:*", "'); drop table stories; --", "*", "title:x", "x | y"):
        await titles(database, query)  # no syntax error reaches the reader
    assert await titles(database, "senate*") == ["Senate passes the budget"]


async def test_index_follows_corrections_and_deletions(database: Database) -> None:
    ids = await store(database, draft("a", "Мажилис одобрил бюджет", 30))
    async with database.sessions.begin() as session:
        await session.execute(
            update(Story).where(Story.id == ids["a"]).values(title="Сенат одобрил закон")
        )
    assert await titles(database, "бюджет") == []
    assert await titles(database, "сенат") == ["Сенат одобрил закон"]
    async with database.sessions.begin() as session:
        await session.execute(delete(Story).where(Story.id == ids["a"]))
    assert await titles(database, "сенат") == []


async def related_titles(database: Database, identity: str) -> list[str]:
    async with database.sessions() as session:
        story = (await session.scalars(select(Story).where(Story.identity == identity))).one()
        found = await search.related_to(session, story)
    return [s.title for s in found]


async def test_related_same_language_earlier_same_section_first(database: Database) -> None:
    await store(
        database,
        draft("old1", "Выборы в Мажилис: итоги голосования", 300, section="economy"),
        draft("old2", "Итоги голосования на выборах в Мажилис подвели", 200),
        draft("kk", "Мажилис выборы итоги", 150, language="kk"),
        draft("same", "Мажилис: выборы и итоги голосования", 90),
        draft("weather", "Погода в Астане", 80),
        draft("new", "Мажилис: выборы и итоги голосования", 60),
        draft("later", "Выборы в Мажилис: итоги голосования завтра", 10),
    )
    found = await related_titles(database, "new")
    # Not itself, not its duplicate (same title; links are unique in the table), not later,
    # not another language, not unrelated; the same section first.
    assert found == [
        "Итоги голосования на выборах в Мажилис подвели",
        "Выборы в Мажилис: итоги голосования",
    ]


async def test_related_kazakh_inflections(database: Database) -> None:
    await store(
        database,
        draft("a", "Мәжіліс сайлауының қорытындысы", 100, language="kk"),
        draft("b", "Мәжілісте сайлау қорытындылары шықты", 10, language="kk"),
    )
    assert await related_titles(database, "b") == ["Мәжіліс сайлауының қорытындысы"]


def test_search_terms_are_stems_and_safe() -> None:
    terms = search.search_terms(["Выборы", "в", "сайлауы", "2026", 'x"y'])
    assert [(t.value, t.prefix) for t in terms] == [
        ("выбор", True),
        ("в", False),
        ("сайла", True),
        ("2026", False),
        ("x", False),
        ("y", False),
    ]


async def test_misspelt_headlines_fall_back_to_trigrams_on_postgresql(database: Database) -> None:
    await store(database, draft("a", "Парламент одобрил бюджет", 30), *FILLER)
    found = await titles(database, "Прламент", "одобрил")
    if database.is_sqlite:
        assert found == []  # FTS5 alone: every word must match
    else:
        assert found == ["Парламент одобрил бюджет"]  # pg_trgm similarity


async def matched(database: Database, *query: str) -> list[str]:
    """Titles the index matches, without PostgreSQL's misspelling fallback; on PostgreSQL
    also checks the stems index agrees with prefix matching on the full vector."""
    terms = search.search_terms(list(query))
    async with database.sessions() as session:
        if database.is_sqlite:
            found = await search._search_sqlite(session, terms, 10, None)
        else:
            found = await search._search_postgres(session, terms, 10, None)
            full = " & ".join(term.tsquery() for term in terms)
            expected = await session.scalars(
                text("SELECT title FROM stories WHERE stories_fts @@ to_tsquery('simple', :q)"),
                {"q": full},
            )
            assert sorted(expected.all()) == sorted(story.title for story in found)
    return sorted(story.title for story in found)


async def test_stems_index_matches_like_prefixes(database: Database) -> None:
    # PostgreSQL matches through words cut to five characters (stories_fts_stems): a stem,
    # a shorter prefix, a short word, a number and a word with digits must match exactly as
    # prefixes and whole words do on the full vector (SQLite answers from FTS5 itself).
    await store(
        database,
        draft("tax", "Налоговый кодекс принят", 50),
        draft("short", "Налог на роскошь", 40),
        draft("covid", "Covid19 cases fall", 35, language="en"),
        draft("year", "Budget 2026 approved", 30, language="en"),
        draft("code", "Code 202612 published", 20, language="en"),
        draft("of", "Law of the sea", 10, language="en"),
        *FILLER,
    )
    both = ["Налог на роскошь", "Налоговый кодекс принят"]
    assert await matched(database, "налоги") == both
    assert await matched(database, "нал") == both
    assert await matched(database, "налоговая", "кодекса") == ["Налоговый кодекс принят"]
    assert await matched(database, "covid") == ["Covid19 cases fall"]
    assert await matched(database, "2026") == ["Budget 2026 approved"]
    assert await matched(database, "20261") == []  # numbers are whole words
    assert await matched(database, "202612") == ["Code 202612 published"]
    assert await matched(database, "code", "202612") == ["Code 202612 published"]
    assert await matched(database, "of", "sea") == ["Law of the sea"]
    assert await matched(database, "налог", "sea") == []


async def test_the_misspelling_fallback_keeps_to_its_budget(
    database: Database, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    if database.is_sqlite:
        pytest.skip("FTS5 has no fuzzy fallback")
    await store(database, draft("a", "Парламент одобрил бюджет", 30), *FILLER)
    slow = text(
        "SELECT id FROM stories, pg_sleep(0.5) WHERE lower(title) % :query "
        "AND (CAST(:language AS varchar) IS NULL OR language = :language) LIMIT :limit"
    )
    monkeypatch.setattr(search, "_POSTGRES_SIMILAR", slow)
    started = datetime.now(UTC)
    async with database.sessions() as session:
        assert await search.search(session, ["Прламент"], limit=10) == []
        assert await session.scalar(text("SHOW statement_timeout")) == "0"  # restored
        assert await search.search(session, ["парламент"], limit=10)  # the session goes on
    assert datetime.now(UTC) - started < timedelta(seconds=0.4)


async def test_a_reader_s_misspelling_is_looked_up_once_over_every_edition(
    database: Database, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """/search for a Russian reader: their edition, then the others (marked "elsewhere"),
    and for a misspelling one similarity pass over all of them, theirs first."""
    from bot.services.newsdesk import Newsdesk
    from bot.services.related import RelatedStories

    await store(
        database,
        draft("ru", "Парламент одобрил бюджет", 30, edition="ru"),
        draft("en", "Parliament approves the budget", 20, language="en", edition="en"),
        *[draft(f.identity, f.title, 500, edition="ru") for f in FILLER],
    )
    passes: list[object] = []
    real = search._similar_headlines

    async def counted(*args: object, **kwargs: object) -> object:
        passes.append(args)
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(search, "_similar_headlines", counted)
    desk = Newsdesk(database, UTC, RelatedStories(database))  # type: ignore[arg-type]
    everywhere = ["ru", "kk", "en"]

    exact = await desk.search(["parliament"], editions=["ru"], everywhere=everywhere)
    assert [s.title for s in exact.stories] == ["Parliament approves the budget"]
    assert exact.elsewhere and passes == []

    misspelt = await desk.search(["Прламент", "одобрил"], editions=["ru"], everywhere=everywhere)
    other = await desk.search(["Prliament", "approves"], editions=["ru"], everywhere=everywhere)
    nothing = await desk.search(["Zqxwv"], editions=["ru"], everywhere=everywhere)
    if database.is_sqlite:  # FTS5 alone: every word must match, no similarity pass
        assert misspelt.stories == other.stories == nothing.stories == []
        return
    assert [s.title for s in misspelt.stories] == ["Парламент одобрил бюджет"]
    assert not misspelt.elsewhere
    assert [s.title for s in other.stories] == ["Parliament approves the budget"]
    assert other.elsewhere
    assert nothing.stories == [] and not nothing.elsewhere
    assert len(passes) == 3  # one per search, not one per set of editions
