"""Lists by edition in storage: each group once, in the reader's first edition that has it;
engagement on any version counts for the group; related links stay in the story's edition."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from storage import engagement, search, stories
from storage.db import Database
from storage.models import ReactionCount, Story
from tests.fakes.stories import NOW, draft, store

EVENTS = {
    # event: (kk title, ru title, en title or None), minutes ago
    "vote": (("Парламент сайлауы өтті", "Парламентские выборы прошли", "Parliament vote held"), 50),
    "budget": (("Бюджет қабылданды", "Бюджет принят парламентом", "Budget passed"), 40),
    "steppe": (("Дала фестивалі басталды", None, None), 30),
}  # fmt: skip


async def _trilingual(database: Database) -> dict[str, int]:
    """Each event's versions, one group per event (the kk version's id): keys `vote-kk`..."""
    drafts = []
    for event, (titles, minutes) in EVENTS.items():
        for edition, title in zip(("kk", "ru", "en"), titles, strict=True):
            if title is not None:
                drafts.append(
                    draft(f"{event}-{edition}", title, minutes, language=edition, edition=edition)
                )
    ids = await store(database, *drafts)
    async with database.sessions.begin() as session:
        for event in EVENTS:
            members = [ids[key] for key in ids if key.startswith(f"{event}-")]
            await session.execute(
                update(Story).where(Story.id.in_(members)).values(group_id=ids[f"{event}-kk"])
            )
    return ids


def _keys(ids: dict[str, int], found: list[Story]) -> list[str]:
    names = {story_id: key for key, story_id in ids.items()}
    return [names[story.id] for story in found]


async def test_latest_shows_each_group_once_in_the_first_edition(database: Database) -> None:
    ids = await _trilingual(database)
    async with database.sessions() as session:
        russian = await stories.latest(session, limit=10, editions=("ru",))
        both = await stories.latest(session, limit=10, editions=("ru", "kk"))
        kazakh_first = await stories.latest(session, limit=10, editions=("kk", "ru"))
        english = await stories.latest(session, limit=10, section="parliament", editions=("en",))
    assert _keys(ids, russian) == ["budget-ru", "vote-ru"]
    assert _keys(ids, both) == ["steppe-kk", "budget-ru", "vote-ru"]
    assert _keys(ids, kazakh_first) == ["steppe-kk", "budget-kk", "vote-kk"]
    assert _keys(ids, english) == ["budget-en", "vote-en"]


async def test_the_timeline_pages_and_counts_groups(database: Database) -> None:
    ids = await _trilingual(database)
    start, end = NOW - timedelta(hours=2), NOW
    async with database.sessions() as session:
        day = await stories.published_between(session, start, end, editions=("en", "kk"))
        page = await stories.published_between(
            session, start, end, editions=("en", "kk"), limit=1, offset=1
        )
        counted = await stories.count_published_between(session, start, end, editions=("en", "kk"))
    assert _keys(ids, day) == ["vote-en", "budget-en", "steppe-kk"]
    assert _keys(ids, page) == ["budget-en"]
    assert counted == 3


async def test_search_keeps_to_the_editions_each_group_once(database: Database) -> None:
    ids = await _trilingual(database)
    async with database.sessions() as session:
        found = await stories.search(session, ["бюджет"], limit=10, editions=("ru", "kk"))
        elsewhere = await stories.search(session, ["parliament"], limit=10, editions=("kk",))
    assert _keys(ids, found) == ["budget-ru"]
    assert elsewhere == []


async def test_popular_counts_engagement_on_any_version(database: Database) -> None:
    ids = await _trilingual(database)
    async with database.sessions.begin() as session:
        await engagement.record(session, ids["vote-ru"], "press", NOW)  # 2 points
        for key in ("budget-kk", "budget-kk", "budget-en"):  # 3 points, none in Russian
            await engagement.record(session, ids[key], "read", NOW)
    async with database.sessions() as session:
        since = NOW - timedelta(hours=2)
        russian = await engagement.popular(
            session, since=since, now=NOW, limit=10, editions=("ru",)
        )
        english = await engagement.popular(
            session, since=since, now=NOW, limit=10, editions=("en", "ru")
        )
    assert _keys(ids, russian) == ["budget-ru", "vote-ru"]
    assert _keys(ids, english) == ["budget-en", "vote-en"]


async def test_reactions_on_one_version_lift_the_group_for_every_edition(
    database: Database,
) -> None:
    """Reactions on the Kazakh channel's post of the vote outweigh a press on the Russian
    budget story: a Russian reader's /popular has the vote first, in Russian."""
    ids = await _trilingual(database)
    async with database.sessions.begin() as session:
        await engagement.record(session, ids["budget-ru"], "press", NOW)  # 2 points
        session.add(  # 2 reactions on the kk post, reported by Telegram: 6 points
            ReactionCount(
                chat_id=-1001, message_id=7, story_id=ids["vote-kk"], total=2, updated_at=NOW
            )
        )
    async with database.sessions() as session:
        russian = await engagement.popular(
            session, since=NOW - timedelta(hours=2), now=NOW, limit=10, editions=("ru",)
        )
    assert _keys(ids, russian) == ["vote-ru", "budget-ru"]


async def test_related_links_stay_in_the_story_s_edition(database: Database) -> None:
    # The Kazakh edition's story is in Russian (its feed's `language` is kk): same language,
    # another edition, so not a link for a reader of the Russian one.
    ids = await store(
        database,
        draft("old-ru", "Парламент обсудил бюджетный кодекс", 90, language="ru", edition="ru"),
        draft("old-kk", "Парламент изучил бюджетный кодекс", 80, language="ru", edition="kk"),
        draft("new-ru", "Парламент принял бюджетный кодекс", 10, language="ru", edition="ru"),
    )
    async with database.sessions() as session:
        story = (await stories.get_stories(session, [ids["new-ru"]]))[0]
        related = await search.related_to(session, story)
    assert [found.id for found in related] == [ids["old-ru"]]


async def test_popular_finds_an_edition_s_stories_below_many_of_another(
    database: Database,
) -> None:
    # More Russian-only stories out-read the one English story than /popular first reads
    # leaders of every edition: an English reader still gets theirs, a Russian the best.
    russian = [draft(f"ru-{n}", f"Новость номер {n}", 60, language="ru", edition="ru")
               for n in range(150)]  # fmt: skip
    ids = await store(database, *russian, draft("en", "News", 60, language="en", edition="en"))
    async with database.sessions.begin() as session:
        for n in range(150):
            for _ in range(2 if n else 3):
                await engagement.record(session, ids[f"ru-{n}"], "read", NOW)
        await engagement.record(session, ids["en"], "read", NOW)
    async with database.sessions() as session:
        since = NOW - timedelta(hours=2)
        english = await engagement.popular(session, since=since, now=NOW, limit=1, editions=("en",))
        both = await engagement.popular(
            session, since=since, now=NOW, limit=2, editions=("en", "ru")
        )
    assert _keys(ids, english) == ["en"]
    assert _keys(ids, both)[0] == "ru-0"
