"""Related links share the story's subject, never only the agency's boilerplate.

Every story below, in Russian, Kazakh and English, carries the same house sentences (a
closing "details follow" line and a Telegram plug), as a newsroom's feed does. Stories come in
small clusters on one subject, and some stories are on a subject of their own. Related links
are asked for every story, as the sender does when it pushes it, on a fresh database (the
boilerplate is not yet frequent) and on one with thousands of earlier stories (it is).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.services.related import RelatedStories
from storage import stories
from storage.db import Database
from storage.models import Story

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

BOILERPLATE = {
    "ru": " Подробнее — в ближайшее время. Следите за новостями в нашем Telegram-канале.",
    "kk": " Толығырақ кейінірек. Жаңалықтарды Telegram арнамыздан оқыңыз.",
    "en": " Details follow. Follow our Telegram channel for more breaking stories.",
}

# (cluster, title, summary before the boilerplate); a cluster of one is a subject of its own.
# Many feeds give no more than the headline and the house lines, as the empty leads here.
FIXTURES: dict[str, list[tuple[str, str, str]]] = {
    "en": [
        ("vote", "Observers praise the organisation of the vote",
         ""),
        ("economy", "Economy grows 3 percent in ten months",
         ""),
        ("vote", "OSCE observers present preliminary findings",
         "The mission of observers presented its findings on the parliamentary vote."),
        ("wheat", "Farmers gather a record wheat harvest",
         "Farmers in the northern regions gathered 20 million tonnes of wheat."),
        ("chess", "International chess tournament opens in the capital",
         ""),
        ("economy", "Economic growth driven by construction and trade",
         "Construction and trade drove the growth of the national economy this year."),
        ("wheat", "Wheat exports expected to rise after the harvest",
         "Exporters expect shipments of wheat to rise after a record harvest."),
        ("metro", "Second metro line welcomes its first passengers",
         ""),
        ("vote", "Observers report no serious violations",
         "Observers found no serious violations during the parliamentary vote."),
    ],
    "ru": [
        ("elections", "ЦИК подвел итоги выборов в маслихаты",
         ""),
        ("tariffs", "Тарифы на электроэнергию вырастут с января",
         "Министерство энергетики объявило о повышении тарифов на электроэнергию."),
        ("floods", "Паводки угрожают селам Актюбинской области",
         "Талые воды подтопили дороги в трех районах области."),
        ("elections", "Явка на выборах в маслихаты составила 58 процентов",
         "По данным избирательной комиссии, на выборы пришли 58 процентов избирателей."),
        ("theatre", "В Шымкенте открылся новый театр кукол",
         ""),
        ("tariffs", "Минэнерго объяснило рост тарифов",
         "В министерстве энергетики рассказали, почему растут тарифы на электроэнергию."),
        ("floods", "Спасатели эвакуировали жителей из-за паводков",
         "Из подтопленных сел вывезли более двухсот человек."),
        ("boxing", "Боксер завоевал золото чемпионата мира",
         "В финале спортсмен победил соперника из Кубы."),
        ("floods", "Уровень воды в реке Илек снизился после паводков",
         ""),
    ],
    "kk": [
        ("elections", "Мәслихат сайлауының қорытындысы шықты",
         "Орталық сайлау комиссиясы мәслихат депутаттарын сайлаудың қорытындысын жариялады."),
        ("wheat", "Фермерлер бидайдың рекордтық өнімін жинады",
         ""),
        ("theatre", "Шымкентте қуыршақ театры ашылды",
         ""),
        ("elections", "Мәслихат сайлауына сайлаушылардың 58 пайызы қатысты",
         "Орталық комиссия сайлауға қатысқан сайлаушылардың санын жариялады."),
        ("floods", "Көктемгі су тасқыны ауылдарға қауіп төндіреді",
         "Құтқарушылар тасқын суды бөгеу үшін жұмыс істеп жатыр."),
        ("wheat", "Бидай экспорты артады",
         "Рекордтық өнімнен кейін бидай экспорты артады деп күтілуде."),
        ("boxing", "Боксшы әлем чемпионатында алтын алды",
         ""),
        ("floods", "Құтқарушылар су тасқынынан зардап шеккендерді көшірді",
         "Тасқын су басқан ауылдардан екі жүз адам көшірілді."),
    ],
}  # fmt: skip

# Made-up words for the earlier stories: no five-letter stem of a real word above.
SYLLABLES = {
    "en": ["ba", "bo", "bu", "ka", "ko", "ku", "za", "zo", "zu", "yu", "yo", "ya"],
    "ru": ["ба", "бо", "бу", "жа", "жо", "жу", "щу", "щи", "ыр", "эх", "юк", "яш"],
    "kk": ["бұ", "бү", "жұ", "жү", "құ", "қү", "ғұ", "ғү", "ңұ", "ңү", "һұ", "һү"],
}
SECTIONS = ["politics", "economy", "society", "sport"]


@dataclass(frozen=True)
class Draft:
    identity: str
    title: str
    published_at: datetime
    summary: str
    language: str
    section: str | None
    link: str
    image_url: str | None = None
    author: str | None = None
    content_hash: str = "h"
    edition: str | None = None


def fixture_drafts(start: datetime) -> list[Draft]:
    """The fixtures in publication order, languages interleaved, an hour apart."""
    drafts = []
    longest = max(len(items) for items in FIXTURES.values())
    for position in range(longest):
        for language, items in FIXTURES.items():
            if position >= len(items):
                continue
            cluster, title, lead = items[position]
            identity = f"{language}-{cluster}-{position}"
            drafts.append(
                Draft(
                    identity,
                    title,
                    start + timedelta(hours=len(drafts)),
                    (lead + BOILERPLATE[language]).strip(),
                    language,
                    SECTIONS[len(drafts) % len(SECTIONS)],  # sections say nothing here
                    f"https://example.kz/{identity}",
                )
            )
    return drafts


def made_up(rng: random.Random, language: str, length: int) -> str:
    """A sentence of made-up words of three or four of the language's syllables."""
    syllables = SYLLABLES[language]
    return " ".join(
        "".join(rng.choice(syllables) for _ in range(rng.randint(3, 4))) for _ in range(length)
    ).capitalize()


def filler_drafts(count: int, before: datetime) -> list[Draft]:
    """Earlier stories on made-up subjects, with the same boilerplate as every story."""
    rng = random.Random(11)
    drafts = []
    for number in range(count):
        language = ("ru", "kk", "en")[number % 3]
        drafts.append(
            Draft(
                f"filler-{number}",
                made_up(rng, language, 7),
                before - timedelta(minutes=count - number),
                made_up(rng, language, 20) + "." + BOILERPLATE[language],
                language,
                SECTIONS[number % len(SECTIONS)],
                f"https://example.kz/filler-{number}",
            )
        )
    return drafts


async def store(database: Database, drafts: list[Draft]) -> None:
    async with database.sessions.begin() as session:
        await stories.store_stories(session, drafts, feed_id=None, pushable=False, now=NOW)


def cluster_of(identity: str) -> str:
    language, cluster, _ = identity.split("-")
    return f"{language}-{cluster}"


@pytest.fixture(params=[0, 3000], ids=["fresh", "3000-earlier-stories"])
async def newsroom(request: pytest.FixtureRequest, database: Database) -> Database:
    start = NOW - timedelta(days=2)
    if request.param:
        await store(database, filler_drafts(request.param, before=start))
    await store(database, fixture_drafts(start))
    return database


async def shown_links(database: Database) -> dict[str, list[str]]:
    """Each fixture story's "Related" links as identities of the stories they point to."""
    related = RelatedStories(database)
    async with database.sessions() as session:
        found = (
            await session.scalars(
                select(Story).where(~Story.identity.like("filler-%")).order_by(Story.id)
            )
        ).all()
    return {
        story.identity: [pick.identity for pick in await related.related_to(story)]
        for story in found
    }


async def test_related_links_stay_on_the_subject_not_the_boilerplate(newsroom: Database) -> None:
    links = await shown_links(newsroom)
    shown = [(story, pick) for story, picks in links.items() for pick in picks]
    on_subject = [pair for pair in shown if cluster_of(pair[0]) == cluster_of(pair[1])]
    off_subject = sorted(set(shown) - set(on_subject))
    assert len(on_subject) >= 0.9 * len(shown), off_subject
    # And they are shown: every story with an earlier one on its subject links to one.
    sizes: dict[str, int] = {}
    for story in links:  # in publication order
        cluster = cluster_of(story)
        if sizes.get(cluster):
            assert any(cluster_of(pick) == cluster for pick in links[story]), story
        sizes[cluster] = sizes.get(cluster, 0) + 1


async def test_a_story_on_a_subject_of_its_own_has_no_related_block(newsroom: Database) -> None:
    links = await shown_links(newsroom)
    sizes: dict[str, int] = {}
    for story in links:
        sizes[cluster_of(story)] = sizes.get(cluster_of(story), 0) + 1
    singletons = {story: links[story] for story in links if sizes[cluster_of(story)] == 1}
    assert len(singletons) == 6
    assert singletons == {story: [] for story in singletons}
