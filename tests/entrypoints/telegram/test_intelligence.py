"""/popular follows what readers do; /today is the newsroom's day, not UTC's."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.newsdesk import Newsdesk, day_bounds
from bot.services.related import RelatedStories
from storage import stories
from storage.db import Database
from tests.entrypoints.telegram.conftest import CHANNEL, ENGLISH_READER, Newsroom
from tests.fakes.conversation import ask
from tests.fakes.rss import Item, rss

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def feed_urls(feed_server) -> list[str]:  # type: ignore[no-untyped-def]
    old = [Item("base", "Archive story", NOW - timedelta(hours=5))]
    return [feed_server.add("/rss/en.xml", rss(old), etag='"v1"')]


async def test_reactions_on_channel_posts_rank_popular_stories(newsroom: Newsroom) -> None:
    from storage import destinations

    newsroom.api.add_bot_to_channel(ENGLISH_READER, CHANNEL)
    await newsroom.api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id and "/channels" in m.text)
    async with newsroom.core.database.sessions.begin() as session:
        channel = await destinations.get_by_chat(session, CHANNEL.id)
        assert channel is not None
        await destinations.subscribe(session, channel.id, "parliament", NOW)
    await newsroom.poll()
    newsroom.feeds.add(
        "/rss/en.xml",
        rss(
            [
                Item("quiet", "Quiet committee hearing", NOW - timedelta(minutes=3)),
                Item("loved", "Astana wins the bid", NOW - timedelta(minutes=2)),
            ]
        ),
        etag='"v2"',
    )
    await newsroom.poll()
    await newsroom.deliver_all()
    loved = next(m for m in newsroom.api.messages_to(CHANNEL.id) if "bid" in m.text)
    before = await ask(newsroom.api, ENGLISH_READER, "/popular")  # /latest-style reads count
    await ask(newsroom.api, ENGLISH_READER, "/latest")
    await ask(newsroom.api, ENGLISH_READER, "/search quiet committee")
    ranked = await ask(newsroom.api, ENGLISH_READER, "/popular")
    assert ranked.text.index("Quiet") < ranked.text.index("bid")  # searched, so read twice
    assert before.text != ranked.text or "Quiet" in before.text
    newsroom.api.react(CHANNEL, loved.message_id, {"👍": 40, "🔥": 12})
    await newsroom.api.wait_until(lambda: not newsroom.api.pending_updates())
    await asyncio.sleep(0.3)  # the reaction update is handled concurrently
    reply = await ask(newsroom.api, ENGLISH_READER, "/popular")
    assert reply.text.index("bid") < reply.text.index("Quiet")


@dataclass(frozen=True)
class Draft:
    identity: str
    title: str
    published_at: datetime
    link: str | None = None
    summary: str = ""
    image_url: str | None = None
    author: str | None = None
    language: str | None = "en"
    section: str | None = "parliament"
    content_hash: str = "h"
    edition: str | None = None


async def test_today_starts_at_the_newsrooms_midnight_not_utcs(database: Database) -> None:
    # 00:30 in Almaty (UTC+5) on 20 Nov is 19:30 UTC on 19 Nov.
    now = datetime(2025, 11, 20, 0, 30, tzinfo=ALMATY).astimezone(UTC)
    before_midnight = datetime(2025, 11, 19, 23, 50, tzinfo=ALMATY)
    after_midnight = datetime(2025, 11, 20, 0, 10, tzinfo=ALMATY)
    async with database.sessions.begin() as session:
        await stories.store_stories(
            session,
            [
                Draft("a", "Yesterday in Almaty", before_midnight),
                Draft("b", "Today in Almaty", after_midnight),
            ],
            feed_id=None,
            pushable=True,
            now=now,
        )
    desk = Newsdesk(database, ALMATY, RelatedStories(database), clock=lambda: now)
    page = await desk.timeline()
    assert [s.title for s in page.stories] == ["Today in Almaty"]
    assert day_bounds(page.day, ALMATY)[0] == datetime(2025, 11, 19, 19, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------
# Search, related, inline mode, /today and the digest through the fake Bot API.

RU_KK = [
    Draft("ru1", "Итоги выборов в Мажилис", NOW - timedelta(hours=3), language="ru",
          link="https://example.kz/ru1"),
    Draft("ru2", "ЦИК назвал дату выборов", NOW - timedelta(hours=2), language="ru",
          link="https://example.kz/ru2", section="economy"),
    Draft("kk1", "Мәжіліс сайлауы өтті", NOW - timedelta(hours=1), language="kk",
          link="https://example.kz/kk1"),
    Draft("kk2", "Ғылым және өнер: Үкімет шешімі", NOW - timedelta(minutes=30), language="kk",
          link="https://example.kz/kk2"),
]  # fmt: skip


async def store_drafts(newsroom: Newsroom, drafts: list[Draft]) -> dict[str, int]:
    from sqlalchemy import select

    from storage.models import Story

    async with newsroom.core.database.sessions.begin() as session:
        await stories.store_stories(session, drafts, feed_id=None, pushable=False, now=NOW)
        rows = (await session.execute(select(Story.identity, Story.id))).all()
    return dict(rows)


async def test_search_matches_russian_and_kazakh_inflections(newsroom: Newsroom) -> None:
    from tests.entrypoints.telegram.conftest import READER

    await store_drafts(newsroom, RU_KK)
    reply = await ask(newsroom.api, READER, "/search выборы")
    assert "Итоги выборов" in reply.text and "ЦИК назвал" in reply.text
    assert "сайлауы" not in reply.text
    kazakh = await ask(newsroom.api, READER, "/search сайлау")
    assert "Мәжіліс сайлауы өтті" in kazakh.text and "выборов" not in kazakh.text
    letters = await ask(newsroom.api, READER, "/search ҮКІМЕТ ғылымы")
    assert "Ғылым және өнер" in letters.text
    nothing = await ask(newsroom.api, READER, "/search ''\"*")
    assert "Итоги" not in nothing.text


async def test_inline_mode_offers_matches_and_counts_picks(newsroom: Newsroom) -> None:
    ids = await store_drafts(newsroom, RU_KK)
    api = newsroom.api
    started = asyncio.get_running_loop().time()
    query_id = api.inline_query(ENGLISH_READER, "выборов")
    await api.wait_until(lambda: any(a["inline_query_id"] == query_id for a in api.inline_answers))
    assert asyncio.get_running_loop().time() - started < 1.0
    answer = next(a for a in api.inline_answers if a["inline_query_id"] == query_id)
    results = answer["results"]
    assert {r["id"] for r in results} == {f"s{ids['ru1']}", f"s{ids['ru2']}"}
    article = results[0]
    assert article["type"] == "article"
    assert "<b>" in article["input_message_content"]["message_text"]
    # An empty query offers today's popular stories; a pick counts as engagement.
    api.choose_inline_result(ENGLISH_READER, f"s{ids['kk2']}", "")
    api.choose_inline_result(ENGLISH_READER, "forged-id", "")
    api.choose_inline_result(ENGLISH_READER, "s999999", "")
    await api.wait_until(lambda: not api.pending_updates())
    await asyncio.sleep(0.3)
    empty_id = api.inline_query(ENGLISH_READER, "")
    await api.wait_until(lambda: any(a["inline_query_id"] == empty_id for a in api.inline_answers))
    popular = next(a for a in api.inline_answers if a["inline_query_id"] == empty_id)
    assert popular["results"][0]["id"] == f"s{ids['kk2']}"


async def test_related_button_lists_earlier_stories_on_the_subject(newsroom: Newsroom) -> None:
    from tests.entrypoints.telegram.conftest import READER

    drafts = [
        Draft("a", "Мажилис: выборы и итоги голосования", NOW - timedelta(hours=5),
              language="ru", link="https://example.kz/a"),
        Draft("b", "Погода в Астане", NOW - timedelta(hours=4), language="ru",
              link="https://example.kz/b"),
        Draft("c", "Итоги голосования на выборах в Мажилис", NOW - timedelta(hours=1),
              language="ru", link="https://example.kz/c"),
    ]  # fmt: skip
    ids = await store_drafts(newsroom, drafts)
    anchor = await ask(newsroom.api, READER, "/latest")
    before = len(newsroom.api.messages_to(READER.id))
    newsroom.api.press_button(READER, anchor, f"rel:{ids['c']}")
    replies = await newsroom.api.wait_for(lambda m: m.chat_id == READER.id, count=before + 1)
    assert "Мажилис: выборы и итоги голосования" in replies[-1].text
    assert "Погода" not in replies[-1].text
    newsroom.api.press_button(READER, anchor, "rel:99999999")
    await newsroom.api.wait_until(lambda: len(newsroom.api.callback_answers) >= 2)
    assert newsroom.api.callback_answers[-1].get("show_alert")
    reply = await ask(newsroom.api, READER, "/popular")
    assert reply.text.index("Итоги голосования на выборах") < reply.text.index("Погода")


async def test_today_through_the_handler_across_midnight_paged(newsroom: Newsroom) -> None:
    # 00:30 in Almaty (UTC+5) on 20 Nov; stories from 23:00 the day before to 00:25.
    now = datetime(2025, 11, 20, 0, 30, tzinfo=ALMATY).astimezone(UTC)
    newsroom.side.services.newsdesk._clock = lambda: now
    start = datetime(2025, 11, 19, 23, 0, tzinfo=ALMATY)
    drafts = [
        Draft(f"t{n}", f"Story number {n}", start + timedelta(minutes=5 * n),
              link=f"https://example.kz/t{n}", section="economy" if n % 2 else "parliament")
        for n in range(18)
    ]  # fmt: skip
    await store_drafts(newsroom, drafts)
    reply = await ask(newsroom.api, ENGLISH_READER, "/today")
    # 23:00..23:55 is yesterday; 00:00..00:25 are today's six stories, one page.
    assert "Story number 11" not in reply.text
    assert "Story number 12" in reply.text and "Story number 17" in reply.text
    assert "20 November" in reply.text and "00:00" in reply.text
    assert "#economy" in reply.text and "#parliament" in reply.text
    section = await ask(newsroom.api, ENGLISH_READER, "/today economy")
    assert "Story number 13" in section.text and "Story number 12" not in section.text
    # A busier day pages: 40 stories after midnight, ten a page.
    later = datetime(2025, 11, 20, 0, 40, tzinfo=ALMATY)
    await store_drafts(
        newsroom,
        [
            Draft(
                f"u{n}",
                f"Late story {n}",
                later + timedelta(minutes=n),
                link=f"https://example.kz/u{n}",
            )
            for n in range(40)
        ],
    )
    now = datetime(2025, 11, 20, 2, 0, tzinfo=ALMATY).astimezone(UTC)
    paged = await ask(newsroom.api, ENGLISH_READER, "/today")
    data = [b["callback_data"] for row in paged.reply_markup["inline_keyboard"] for b in row]
    assert data == ["today:0", "today:1"]
    newsroom.api.press_button(ENGLISH_READER, paged, "today:1")
    edited = await newsroom.api.wait_for(
        lambda m: (
            m.chat_id == ENGLISH_READER.id
            and "Late story 4" in m.text
            and m.method.startswith("edit")
        )
    )
    assert "Story number" not in edited[-1].text


async def test_digest_opt_in_sends_each_slot_once_even_after_a_restart(
    newsroom: Newsroom,
) -> None:
    from bot.services.digest import Digest, add_digest_jobs
    from storage import digests
    from tests.entrypoints.telegram.conftest import READER

    ids = await store_drafts(newsroom, RU_KK)
    on = await ask(newsroom.api, READER, "/digest")
    assert "включён" in on.text
    off = await ask(newsroom.api, ENGLISH_READER, "/digest")
    await ask(newsroom.api, ENGLISH_READER, "/digest")  # on, then off again
    assert "is on" in off.text
    side = newsroom.side
    await side.services.newsdesk.record(ids["kk1"], "press")

    def digest() -> Digest:  # a fresh instance is what a restarted process has
        return Digest(newsroom.core.database, newsroom.core.settings)

    # Two slots due now on the newsroom's clock (this minute and the one before).
    clock = datetime.now(ALMATY)
    morning, evening_at = (clock - timedelta(minutes=1)).strftime("%H:%M"), clock.strftime("%H:%M")
    first = await digest().run_slot(morning)
    assert (first.queued, first.already) == (1, 0)
    await newsroom.deliver_all()
    message = newsroom.api.messages_to(READER.id)[-1]
    assert "Хроника главных событий" in message.text
    assert message.text.index("Итоги выборов") < message.text.index("Мәжіліс сайлауы")
    again = await digest().run_slot(morning)
    assert (again.queued, again.already) == (0, 1)
    evening = await digest().run_slot(evening_at)
    assert evening.queued == 1
    await newsroom.deliver_all()
    sent = [m for m in newsroom.api.messages_to(READER.id) if m.text.startswith("<b>")]
    assert len(sent) == 2
    for digest_message in sent:  # the heading counts the stories as Russian does
        heading = re.search(
            r"Хроника главных событий: (\d+) (сюжетов|сюжета|сюжет)\b", digest_message.plain_text
        )
        assert heading is not None, digest_message.plain_text[:80]
        listed = len(re.findall(r"^\d+\. ", digest_message.plain_text, re.M))
        assert int(heading.group(1)) == listed and heading.group(2) == "сюжета"
    assert newsroom.api.messages_to(ENGLISH_READER.id)[-1].text.count("Timeline") == 0
    async with newsroom.core.database.sessions() as session:
        rows = await digests.slot_deliveries(session, first.slot)
    assert [(row.status, row.message_id is not None) for row in rows] == [("sent", True)]
    # Scheduled on the newsroom's clock, one job per configured time.
    settings = newsroom.core.settings.model_copy(update={"digest_times": ["08:00", "20:00"]})
    add_digest_jobs(newsroom.scheduler, digest(), settings)
    jobs = {job.id: job for job in newsroom.scheduler.get_jobs()}
    assert {"digest-08:00", "digest-20:00"} <= set(jobs)
    assert str(jobs["digest-08:00"].trigger.timezone) == "Asia/Almaty"


def test_related_button_and_digest_render() -> None:
    from bot.outbound.i18n import Catalogues
    from bot.outbound.lists import render_digest
    from bot.outbound.render import related_button

    t = Catalogues.load().translator("kk")
    button = related_button(123456789012, t)
    assert button.callback_data == "rel:123456789012" and button.text == "Тақырыптас"
    from types import SimpleNamespace

    common = {"summary": "", "image_url": None, "section": "parliament", "language": "kk"}
    late = SimpleNamespace(id=2, title="Кешкі жаңалық", published_at=NOW, link=None, **common)
    early = SimpleNamespace(
        id=1, title="Таңғы <жаңалық>", published_at=NOW - timedelta(hours=3), link=None, **common
    )
    message = render_digest(
        "20 қараша. Басты оқиғалар хроникасы",
        [late, early],  # type: ignore[list-item]
        t=t,
        zone=ALMATY,
        section_titles={"parliament": "Парламент"},
    )
    assert message.text.index("Таңғы &lt;жаңалық&gt;") < message.text.index("Кешкі")
    assert message.disable_notification and "#parliament" in message.text
