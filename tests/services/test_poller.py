"""Polling real feeds over local HTTP into a real database, as a newsroom runs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.setup.core import Core, open_core
from storage import stories as story_queries
from storage.models import Feed, Story
from tests.fakes.feed_server import FeedServer, fixture_bytes
from tests.fakes.rss import Item, rss

SECTIONS = [
    {"slug": "parliament", "title": "Parliament", "categories": ["Parliament", "Парламент"]},
    {"slug": "economy", "title": "Economy", "categories": ["Economy", "Экономика"]},
    {"slug": "politics", "title": "Politics", "categories": ["Politics", "Саясат"]},
]


def settings_for(database_url: str, urls: list[str], **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        sections=SECTIONS,
        feeds=[{"url": url, "section": "politics"} for url in urls],
        fetch_timeout=2.0,
        max_feed_bytes=2 * 1024 * 1024,
        parse_workers=0,
        **extra,
    )


@pytest.fixture
async def core_factory(database_url: str):  # type: ignore[no-untyped-def]
    """Open newsbot's core for a list of feed URLs (a fresh process each time)."""

    def factory(urls: list[str], **extra: Any):  # type: ignore[no-untyped-def]
        return open_core(settings_for(database_url, urls, **extra))

    return factory


async def poll_all(core: Core) -> dict[str, Any]:
    return {outcome.url: outcome for outcome in await core.poller.poll_all()}


async def stored(core: Core) -> list[Story]:
    async with core.database.sessions() as session:
        return list((await session.scalars(select(Story).order_by(Story.id))).all())


async def test_every_format_is_stored_once_across_restarts(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    names = [
        "en_rss2.xml",
        "ru_rss2.xml",
        "kk_rss2.xml",
        "atom.xml",
        "rss1.rdf",
        "rss091.xml",
        "jsonfeed.json",
        "cp1251.xml",
    ]
    urls = [
        feed_server.add(
            f"/{name}",
            fixture_bytes(name),
            content_type="application/feed+json" if name.endswith("json") else "application/xml",
        )
        for name in names
    ]
    async with core_factory(urls) as core:
        outcomes = await poll_all(core)
        first = len(await stored(core))
    assert all(outcome.status == "ok" for outcome in outcomes.values()), outcomes
    assert all(outcome.new > 0 for outcome in outcomes.values())
    async with core_factory(urls) as core:  # a restart, same database
        await poll_all(core)
        assert len(await stored(core)) == first


async def test_not_modified_feed_is_not_parsed_again(feed_server: FeedServer, core_factory) -> None:  # type: ignore[no-untyped-def]
    url = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')
    async with core_factory([url]) as core:
        await poll_all(core)
        parsed: list[bytes] = []
        original = core.extractor.extract

        async def counting(content: bytes, *args: Any) -> Any:
            parsed.append(content)
            return await original(content, *args)

        core.extractor.extract = counting  # type: ignore[method-assign]
        outcome = (await poll_all(core))[url]
    assert feed_server.status_log("/en.xml") == [200, 304]
    assert feed_server.hits("/en.xml")[-1].headers.get("if-none-match") == '"v1"'
    assert outcome.status == "not_modified" and parsed == []


async def test_first_poll_is_backlog_later_stories_are_new(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    old = Item("a1", "Senate meets", now - timedelta(hours=2))
    url = feed_server.add("/f.xml", rss([old]), etag='"1"')
    async with core_factory([url]) as core:
        assert (await poll_all(core))[url].pushable_ids == []
        feed_server.add("/f.xml", rss([Item("a2", "Mazhilis votes", now), old]), etag='"2"')
        outcome = (await poll_all(core))[url]
        stories = await stored(core)
    assert outcome.new == 1 and len(outcome.pushable_ids) == 1
    assert [s.pushable for s in stories] == [False, True]


async def test_corrected_headline_updates_the_stored_story(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    url = feed_server.add("/f.xml", rss([Item("a1", "Senat meets", now)]), etag='"1"')
    async with core_factory([url]) as core:
        await poll_all(core)
        feed_server.add("/f.xml", rss([Item("a1", "Senate meets", now)]), etag='"2"')
        outcome = (await poll_all(core))[url]
        (story,) = await stored(core)
    assert outcome.updated == 1 and story.title == "Senate meets"
    assert story.updated_at > story.first_seen_at


async def test_same_link_in_two_feeds_is_one_story(feed_server: FeedServer, core_factory) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    shared = "https://www.inform.kz/en/shared?utm_source=a#top"
    a = feed_server.add("/a.xml", rss([Item("x1", "Shared", now, link=shared)]))
    b = feed_server.add("/b.xml", rss([Item("y9", "Shared", now, link=shared)]))
    async with core_factory([a, b]) as core:
        await poll_all(core)
        stories = await stored(core)
    assert [s.link for s in stories] == ["https://www.inform.kz/en/shared"]


@pytest.mark.parametrize(
    ("kind", "params", "status"),
    [
        ("status", {"code": 503, "retry_after": "120"}, "http_5xx"),
        ("status", {"code": 404}, "http_4xx"),
        ("delay", {"seconds": 5}, "timeout"),
        ("reset", {}, "connection"),
        ("redirect_loop", {}, "too_many_redirects"),
        ("gzip_bomb", {}, "too_large"),
        ("endless", {}, "too_large"),
        ("html", {}, "not_a_feed"),
        ("empty", {}, "empty_body"),
    ],
)
async def test_hostile_feed_fails_alone_and_backs_off(
    feed_server: FeedServer, core_factory, kind: str, params: dict[str, Any], status: str
) -> None:  # type: ignore[no-untyped-def]
    healthy = feed_server.add("/good.xml", fixture_bytes("en_rss2.xml"))
    bad = feed_server.fail("/bad", kind, **params)
    async with core_factory([healthy, bad], poll_interval=10) as core:
        outcomes = await poll_all(core)
        async with core.database.sessions() as session:
            row = await session.scalar(select(Feed).where(Feed.url == bad))
    assert outcomes[healthy].status == "ok" and outcomes[healthy].new > 0
    assert outcomes[bad].status == status
    assert row is not None and row.consecutive_errors == 1 and row.last_error
    assert row.next_poll_at is not None
    wait = (row.next_poll_at - row.last_fetched_at).total_seconds()  # type: ignore[operator]
    assert wait == (120 if params.get("retry_after") else 10)  # Retry-After wins when longer


async def test_broken_xml_still_yields_its_readable_items(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    url = feed_server.add("/broken.xml", fixture_bytes("broken.xml"))
    async with core_factory([url]) as core:
        outcome = (await poll_all(core))[url]
    assert outcome.status == "ok" and outcome.new >= 1


async def test_removed_feed_stops_being_polled_and_keeps_its_stories(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    a = feed_server.add("/a.xml", fixture_bytes("en_rss2.xml"))
    b = feed_server.add("/b.xml", fixture_bytes("ru_rss2.xml"))
    async with core_factory([a, b]) as core:
        await poll_all(core)
        before = len(await stored(core))
    async with core_factory([a]) as core:
        outcomes = await poll_all(core)
        assert list(outcomes) == [a]
        assert len(await stored(core)) == before


async def test_sections_come_from_categories_across_languages(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    url = feed_server.add("/ru.xml", fixture_bytes("ru_rss2.xml"))
    async with core_factory([url]) as core:
        await poll_all(core)
        stories = await stored(core)
        async with core.database.sessions() as session:
            economy = await story_queries.latest(session, limit=10, section="economy")
    assert {s.section for s in stories} >= {"parliament", "economy"}
    assert economy and all(s.language == "ru" for s in economy)


async def feed_row(core: Core, url: str) -> Feed:
    async with core.database.sessions() as session:
        row = await session.scalar(select(Feed).where(Feed.url == url))
    assert row is not None
    return row


RU_TITLES = [
    "Выборы в сенат",
    "Сенат одобрил закон о бюджете",
    "Ёлку в Астане установят 1 декабря",
]
REPAIRED = "replaced 1 invalid UTF-8 byte sequence(s) with U+FFFD"


async def test_one_bad_byte_keeps_every_russian_item_and_records_the_repair(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    broken = fixture_bytes("ru_invalid_byte.xml")
    url = feed_server.add("/ru.xml", broken, etag='"1"')
    async with core_factory([url], editions=["ru", "en"]) as core:
        before = datetime.now(UTC)
        outcome = (await poll_all(core))[url]
        stories = await stored(core)
        repaired = await feed_row(core, url)
        await poll_all(core)  # 304: nothing read, so the warning stands
        unchanged = await feed_row(core, url)
        feed_server.add("/ru.xml", broken.replace(b"\xd0 ", "о ".encode()), etag='"2"')
        await poll_all(core)  # the newsroom fixed its feed
        clean = await feed_row(core, url)
    assert outcome.status == "ok" and outcome.detail == REPAIRED
    assert [story.title for story in stories] == RU_TITLES
    assert "закон \ufffd о республиканском" in stories[1].summary
    assert repaired.last_warning == REPAIRED and repaired.last_error is None
    assert repaired.last_warning_at is not None and repaired.last_warning_at >= before
    assert unchanged.last_status == "not_modified" and unchanged.last_warning == REPAIRED
    assert clean.last_status == "ok" and clean.last_warning is None
    assert clean.last_warning_at is None


async def test_utf16_feed_with_a_bom_and_no_declaration_is_stored(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    url = feed_server.add("/kk.xml", fixture_bytes("kk_utf16_bom.xml"), content_type="text/xml")
    async with core_factory([url], editions=["kk", "en"]) as core:
        outcome = (await poll_all(core))[url]
        stories = await stored(core)
        row = await feed_row(core, url)
    assert outcome.status == "ok", outcome.detail
    assert [story.title for story in stories] == [
        "Сенат депутаттарының сайлауы өтті",
        "Астанада шырша 1 желтоқсанда орнатылады",
    ]
    assert row.last_warning is None


async def test_implausible_dates_are_first_seen_times_with_the_reason_on_the_feed(
    feed_server: FeedServer, core_factory
) -> None:  # type: ignore[no-untyped-def]
    url = feed_server.add("/archive.xml", fixture_bytes("implausible_dates.xml"))
    async with core_factory([url]) as core:
        before = datetime.now(UTC)
        outcome = (await poll_all(core))[url]
        after = datetime.now(UTC)
        dated, *undated = await stored(core)
        row = await feed_row(core, url)
    assert outcome.status == "ok" and outcome.new == 4
    assert dated.published_at == datetime(2022, 11, 19, 2, 30, tzinfo=UTC)
    assert [story.title for story in undated] == [
        "Election commission publishes turnout",  # "0001 +1400": was stored as the year 1400
        "Astana marathon route announced",  # the year 1
        "New terminal opens at Almaty airport",  # 2032
    ]
    for story in undated:
        assert before <= story.published_at <= after
        assert abs(story.published_at - story.first_seen_at) < timedelta(seconds=5)
    assert row.last_warning == (
        "first-seen time used for 3 item(s) with an implausible date "
        "('Mon, 01 Jan 0001 00:00:00 +1400' is not a readable date, "
        "0001-01-01 00:00+00:00 is before 1990, …)"
    )


def _rss_with_ttl(minutes: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<ttl>{minutes}</ttl><item><title>Senate meets</title>"
        "<link>https://www.inform.kz/en/ttl-1</link></item></channel></rss>"
    ).encode()


async def _wait_seconds(core: Core, url: str) -> float:
    async with core.database.sessions() as session:
        feed = (await session.scalars(select(Feed).where(Feed.url == url))).one()
    assert feed.next_poll_at is not None and feed.last_fetched_at is not None
    return (feed.next_poll_at - feed.last_fetched_at).total_seconds()


async def test_next_poll_follows_the_servers_freshness_within_max_poll_interval(
    feed_server: FeedServer, database_url: str
) -> None:
    body = rss([Item("f1", "Senate meets", datetime.now(UTC) - timedelta(minutes=5))])
    cached = feed_server.add("/cached.xml", body, headers={"Cache-Control": "max-age=300"})
    ttl = feed_server.add("/ttl.xml", _rss_with_ttl(60))  # an hour: more than the cap
    plain = feed_server.add("/plain.xml", body)
    own = feed_server.add("/own.xml", body, headers={"Cache-Control": "max-age=300"})
    settings = settings_for(database_url, [cached, ttl, plain])  # the default interval: 120
    settings.feeds.append(settings.feeds[0].model_copy(update={"url": own, "poll_interval": 30}))
    async with open_core(settings) as core:
        outcomes = await poll_all(core)
        assert {outcome.status for outcome in outcomes.values()} == {"ok"}
        waits = {url: await _wait_seconds(core, url) for url in (cached, ttl, plain, own)}
    assert waits == {cached: 300, ttl: 900, plain: 120, own: 30}


async def test_an_operators_poll_interval_beats_the_servers_hints(
    feed_server: FeedServer, database_url: str
) -> None:
    ttl = feed_server.add("/ttl.xml", _rss_with_ttl(60))
    async with open_core(settings_for(database_url, [ttl], poll_interval=45)) as core:
        await poll_all(core)
        assert await _wait_seconds(core, ttl) == 45


def _rss_in(language: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<language>{language}</language><item><title>Bundestag tagt</title>"
        f"<link>https://www.inform.kz/{language}/1</link></item></channel></rss>"
    ).encode()


async def test_a_feed_in_a_language_that_is_no_edition_is_shown_in_the_default_one(
    feed_server: FeedServer, database_url: str
) -> None:
    german = feed_server.add("/de.xml", _rss_in("de"))
    kazakh = feed_server.add("/kk.xml", _rss_in("kk-KZ"))
    settings = settings_for(database_url, [german, kazakh], editions=["kk", "ru", "en"])
    async with open_core(settings) as core:
        outcomes = await poll_all(core)
        async with core.database.sessions() as session:
            feeds = {feed.url: feed for feed in (await session.scalars(select(Feed))).all()}
        editions = {story.link: story.edition for story in await stored(core)}
    assert outcomes[german].status == "ok"
    assert "1 item(s) in de, which is not an edition: shown in the en edition" in (
        feeds[german].last_warning or ""
    )
    assert feeds[kazakh].last_warning is None
    assert sorted(editions.values()) == ["en", "kk"]  # the newsroom language is en


async def test_a_one_edition_newsroom_is_told_of_a_feed_in_another_language(
    feed_server: FeedServer, database_url: str
) -> None:
    german = feed_server.add("/de.xml", _rss_in("de"))
    async with open_core(settings_for(database_url, [german])) as core:  # editions: ["en"]
        await poll_all(core)
        row = await feed_row(core, german)
        (story,) = await stored(core)
    assert row.last_warning == "1 item(s) in de, which is not an edition: shown in the en edition"
    assert story.edition == "en"


MIXED_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ru"><title>Kazinform</title>
<id>urn:kazinform</id><updated>2026-12-01T08:00:00Z</updated>
<entry xml:lang="kk"><title>Сенат заң қабылдады</title><id>urn:kk-1</id>
  <link href="https://www.inform.kz/kz/senat"/><updated>2026-12-01T08:00:00Z</updated></entry>
<entry><title>Сенат принял закон</title><id>urn:ru-1</id>
  <link href="https://www.inform.kz/ru/senat"/><updated>2026-12-01T08:00:00Z</updated></entry>
</feed>"""

MIXED_JSON = """{"version": "https://jsonfeed.org/version/1.1", "title": "Kazinform",
 "language": "ru", "items": [
  {"id": "kk-2", "url": "https://www.inform.kz/kz/budget", "title": "Бюджет қабылданды",
   "language": "kk", "date_published": "2026-12-01T08:00:00Z"},
  {"id": "ru-2", "url": "https://www.inform.kz/ru/budget", "title": "Бюджет принят",
   "date_published": "2026-12-01T08:00:00Z"}]}"""


async def test_an_item_s_own_language_beats_its_feed_s(
    feed_server: FeedServer, database_url: str
) -> None:
    """A feed marked Russian that carries a Kazakh item: the item goes to the Kazakh edition
    (the feed's language key in the config would override both)."""
    atom = feed_server.add("/mixed.atom", MIXED_ATOM.encode(), content_type="application/atom+xml")
    jsonfeed = feed_server.add("/mixed.json", MIXED_JSON.encode(), content_type="application/json")
    settings = settings_for(database_url, [atom, jsonfeed], editions=["kk", "ru", "en"])
    async with open_core(settings) as core:
        await poll_all(core)
        editions = {story.link: story.edition for story in await stored(core)}
    assert editions == {
        "https://www.inform.kz/kz/senat": "kk",
        "https://www.inform.kz/ru/senat": "ru",
        "https://www.inform.kz/kz/budget": "kk",
        "https://www.inform.kz/ru/budget": "ru",
    }


async def test_a_site_wide_content_language_header_does_not_outvote_the_feed_s_own(
    feed_server: FeedServer, database_url: str
) -> None:
    """feedparser lends the response's Content-Language to every item that states none; a
    Kazakh feed (<language>kk</language>) on a server that says "ru" for the whole site
    stays Kazakh."""
    kazakh = feed_server.add("/kk.xml", _rss_in("kk"), headers={"Content-Language": "ru"})
    settings = settings_for(database_url, [kazakh], editions=["kk", "ru", "en"])
    async with open_core(settings) as core:
        await poll_all(core)
        (story,) = await stored(core)
    assert (story.language, story.edition) == ("kk", "kk")
