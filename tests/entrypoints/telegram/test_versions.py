"""One story in three editions: each chat gets it once, in an edition it reads.

The kk, ru and en feeds of one newsroom (RSS with <atom:link>, RSS with <xhtml:link>, and
Atom) publish the same events minutes apart, each naming the other versions by hreflang;
or (alternates = "page") their article pages do. Through the feed server and the fake Bot
API, as deployed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.feeds.alternates import PAGE_BYTES
from bot.services.alternates import PageAlternates
from storage import destinations, editions
from storage.models import Story
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    EDITOR,
    ENGLISH_READER,
    READER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeUser
from tests.fakes.conversation import subscribe
from tests.fakes.feed_server import FeedServer

NOW = datetime.now(UTC).replace(microsecond=0)
SITE = "https://www.inform.kz"
TITLES = {
    "kk": "Мәжіліс заң жобасын мақұлдады",
    "ru": "Мажилис одобрил законопроект",
    "en": "Mazhilis approves the bill",
}
BACKLOG = {"kk": "Ескі жаңалық", "ru": "Старая новость", "en": "Old news"}
# Who reads what: Aigerim kk, Ivan ru, Anna en, Dana both ru and en.
READERS: dict[int, tuple[str, ...]] = {
    EDITOR.id: ("kk",),
    READER.id: ("ru",),
    ENGLISH_READER.id: ("en",),
    ADMIN.id: ("ru", "en"),
}


def law(edition: str, site: str = SITE) -> str:
    return f"{site}/{edition}/law"


def _date(minutes_ago: int) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%a, %d %b %Y %H:%M:%S +0000")


def rss_feed(edition: str, prefix: str, *, story: bool, names: bool = True) -> bytes:
    """An RSS edition; its new item names the other versions with `prefix`:link."""
    items = [
        f"<item><title>{BACKLOG[edition]}</title><link>{SITE}/{edition}/old</link>"
        f"<guid>{edition}-old</guid><category>Parliament</category>"
        f"<pubDate>{_date(180)}</pubDate><description>Ескі.</description></item>"
    ]
    if story:
        others = "".join(
            f'<{prefix}:link rel="alternate" hreflang="{other}" href={quoteattr(law(other))}/>'
            for other in TITLES
            if other != edition and names
        )
        items.insert(
            0,
            f"<item><title>{TITLES[edition]}</title><link>{law(edition)}</link>{others}"
            f"<guid>{edition}-law</guid><category>Parliament</category>"
            f"<pubDate>{_date(5)}</pubDate><description>{TITLES[edition]}.</description></item>",
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"'
        ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:xhtml="http://www.w3.org/1999/xhtml">'
        f"<channel><title>Kazinform {edition}</title><link>{SITE}/{edition}/</link>"
        f"<language>{edition}</language>{''.join(items)}</channel></rss>"
    ).encode()


def atom_feed(*, story: bool) -> bytes:
    """The English edition as Atom: the new entry's own link has no hreflang, the others do."""
    stamp = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = [
        f"<entry><title>{BACKLOG['en']}</title><id>urn:en-old</id><updated>{stamp}</updated>"
        f"<published>{(NOW - timedelta(hours=3)).strftime('%Y-%m-%dT%H:%M:%SZ')}</published>"
        f'<link href="{SITE}/en/old"/><category term="Parliament"/></entry>'
    ]
    if story:
        entries.insert(
            0,
            f"<entry><title>{TITLES['en']}</title><id>urn:en-law</id><updated>{stamp}</updated>"
            f'<link rel="alternate" hreflang="ru" href="{law("ru")}?utm_source=atom"/>'
            f'<link rel="alternate" href="{law("en")}"/>'
            f'<link rel="alternate" hreflang="kk" href="{law("kk")}"/>'
            '<category term="Parliament"/></entry>',
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
        f' xml:lang="en"><title>Kazinform en</title><id>urn:kazinform-en</id>'
        f"<updated>{stamp}</updated>{''.join(entries)}</feed>"
    ).encode()


PUBLISH = {
    "kk": lambda story: ("/rss/kk.xml", rss_feed("kk", "atom", story=story)),
    "ru": lambda story: ("/rss/ru.xml", rss_feed("ru", "xhtml", story=story)),
    "en": lambda story: ("/atom/en.xml", atom_feed(story=story)),
}


def publish(feeds: FeedServer, edition: str, *, story: bool = True) -> str:
    path, body = PUBLISH[edition](story)
    return feeds.add(path, body, etag=f'"{edition}-{story}"')


async def _readers(newsroom: Newsroom) -> None:
    """Each reader subscribes to Parliament; Dana then reads two editions."""
    for user_id in READERS:
        user = next(u for u in (EDITOR, READER, ENGLISH_READER, ADMIN) if u.id == user_id)
        await subscribe(newsroom.api, user, "parliament")
    async with newsroom.core.database.sessions.begin() as session:
        for user_id, reads in READERS.items():
            chat = await destinations.get_by_chat(session, user_id)
            assert chat is not None
            await editions.set_editions(session, chat.id, reads)


def _law_messages(api: FakeBotAPI, user: FakeUser) -> list[str]:
    """The versions of the law story a chat was pushed, by edition."""
    return [
        edition
        for message in api.messages_to(user.id)
        for edition, title in TITLES.items()
        if title in message.text
    ]


def trilingual_settings(tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer) -> Settings:
    """A kk, ru and en newsroom whose three feeds (Parliament) are served with their backlog
    only; `publish(feeds, edition)` adds each edition's new story."""
    urls = {edition: publish(feed_server, edition, story=False) for edition in TITLES}
    return newsroom_settings(
        tmp_path,
        fake_api,
        [],
        editions=["kk", "ru", "en"],
        feeds=[
            {"url": url, "section": "parliament", "language": edition}
            for edition, url in urls.items()
        ],
    )


@pytest.fixture
async def trilingual(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    settings = trilingual_settings(tmp_path, fake_api, feed_server)
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        await _readers(newsroom)
        await newsroom.poll()  # backlog: never pushed
        yield newsroom


@pytest.mark.parametrize("order", [("ru", "en", "kk"), ("en", "kk", "ru"), ("kk", "ru", "en")])
async def test_each_chat_gets_the_story_once_in_an_edition_it_reads(
    trilingual: Newsroom, order: tuple[str, ...]
) -> None:
    for edition in order:  # one feed polled and delivered, minutes later the next
        publish(trilingual.feeds, edition)
        await trilingual.poll()
        await trilingual.deliver_all()
    api = trilingual.api
    assert _law_messages(api, EDITOR) == ["kk"]
    assert _law_messages(api, READER) == ["ru"]
    assert _law_messages(api, ENGLISH_READER) == ["en"]
    first_of_dana = next(edition for edition in order if edition in READERS[ADMIN.id])
    assert _law_messages(api, ADMIN) == [first_of_dana]


async def test_the_english_version_never_overwrites_the_russian_story(
    trilingual: Newsroom,
) -> None:
    """The bug: the Russian item's link was its English alternate (feedparser's last), so
    the English story "updated" it: English title, Read button to another language."""
    for edition in ("ru", "en", "kk"):
        publish(trilingual.feeds, edition)
        await trilingual.poll()
        await trilingual.deliver_all()
    async with trilingual.core.database.sessions() as session:
        rows = (
            await session.execute(
                select(Story.edition, Story.title, Story.link, Story.group_id).where(
                    Story.title.in_(TITLES.values())
                )
            )
        ).all()
    assert {row.edition: (row.title, row.link) for row in rows} == {
        edition: (title, law(edition)) for edition, title in TITLES.items()
    }
    assert len({row.group_id for row in rows}) == 1
    (pushed,) = [m for m in trilingual.api.messages_to(READER.id) if TITLES["ru"] in m.text]
    assert pushed.buttons[0]["url"] == law("ru")


# --- alternates = "page": the article pages name the versions ------------------------------


def page(feeds: FeedServer, edition: str) -> str:
    """An article page whose head names every version, among the junk real pages carry."""
    links = "".join(
        f'<link rel="alternate" hreflang="{other}" href="{law(other, feeds.base_url)}">'
        for other in (*TITLES, "x-default")
    )
    body = (
        f"<!DOCTYPE html><html><head><meta charset=utf-8><title>{TITLES[edition]}</title>"
        f"<script>if (a < b && c) {{ document.write('<link rel=x>') }}</script>{links}"
        f'<link rel="canonical" href="{law(edition, feeds.base_url)}"></head>'
        f"<body><p>{TITLES[edition]}<div><span></body>"
    ).encode()
    feeds.fail(f"/{edition}/law", "html", body=body)
    return law(edition, feeds.base_url)


def page_feed(feeds: FeedServer, edition: str, *, story: bool) -> str:
    """An edition whose items name no versions: their pages do."""
    body = rss_feed(edition, "atom", story=story, names=False).replace(
        law(edition).encode(), law(edition, feeds.base_url).encode()
    )
    return feeds.add(f"/page/{edition}.xml", body, etag=f'"{edition}-{story}"')


@pytest.fixture
async def page_newsroom(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    urls = {edition: page_feed(feed_server, edition, story=False) for edition in ("kk", "ru")}
    settings = newsroom_settings(
        tmp_path,
        fake_api,
        [],
        editions=["kk", "ru", "en"],
        feeds=[
            {"url": url, "section": "parliament", "language": edition, "alternates": "page"}
            for edition, url in urls.items()
        ],
    )
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        await _readers(newsroom)
        async with newsroom.core.database.sessions.begin() as session:
            chat = await destinations.get_by_chat(session, ADMIN.id)
            assert chat is not None
            await editions.set_editions(session, chat.id, ("kk", "ru"))
        await newsroom.poll()
        yield newsroom


async def test_a_story_waits_for_its_page_then_goes_once_per_chat(
    page_newsroom: Newsroom,
) -> None:
    newsroom, feeds = page_newsroom, page_newsroom.feeds
    for edition in ("kk", "ru"):
        page(feeds, edition)
        page_feed(feeds, edition, story=True)
        await newsroom.poll()
        await newsroom.deliver_all()
        assert _law_messages(newsroom.api, EDITOR if edition == "kk" else READER) == []
        assert await newsroom.core.page_alternates.run() == 1
        await newsroom.deliver_all()
        assert len(feeds.hits(f"/{edition}/law")) == 1
    assert await newsroom.core.page_alternates.run() == 0  # each page is read once
    assert _law_messages(newsroom.api, EDITOR) == ["kk"]
    assert _law_messages(newsroom.api, READER) == ["ru"]
    assert _law_messages(newsroom.api, ADMIN) == ["kk"]  # reads both: the first version
    assert len(feeds.hits("/kk/law")) == len(feeds.hits("/ru/law")) == 1


async def test_a_story_is_not_kept_waiting_past_the_deadline(page_newsroom: Newsroom) -> None:
    """A crash (or a site too slow) must not hold a story back for ever: the next run after
    the deadline lets it go unread, oldest first."""
    newsroom, feeds = page_newsroom, page_newsroom.feeds
    page(feeds, "kk")
    page_feed(feeds, "kk", story=True)
    await newsroom.poll()
    await newsroom.deliver_all()
    assert _law_messages(newsroom.api, EDITOR) == []
    restarted = PageAlternates(
        newsroom.core.database,
        newsroom.core.poller._fetcher,
        editions=("kk", "ru", "en"),
        default_edition="kk",
        clock=lambda: datetime.now(UTC) + timedelta(minutes=2),
    )
    assert await restarted.run() == 1
    await newsroom.deliver_all()
    assert _law_messages(newsroom.api, EDITOR) == ["kk"]
    assert feeds.hits("/kk/law") == []


async def test_an_unreadable_page_lets_the_story_go(page_newsroom: Newsroom) -> None:
    newsroom, feeds = page_newsroom, page_newsroom.feeds
    feeds.fail("/kk/law", "status", code=404)
    page_feed(feeds, "kk", story=True)
    await newsroom.poll()
    assert await newsroom.core.page_alternates.run() == 1
    await newsroom.deliver_all()
    assert _law_messages(newsroom.api, EDITOR) == ["kk"]


def long_page(feeds: FeedServer, edition: str, *, links_first: bool) -> None:
    """An article page over PAGE_BYTES long, naming its versions at the start or the end."""
    links = "".join(
        f'<link rel="alternate" hreflang="{other}" href="{law(other, feeds.base_url)}">'
        for other in TITLES
    )
    filler = "<!-- " + "x" * (PAGE_BYTES + 1024) + " -->"
    head = links + filler if links_first else filler + links
    body = f"<html><head><title>{TITLES[edition]}</title>{head}</head><body></body></html>"
    feeds.fail(f"/{edition}/law", "html", body=body.encode())


@pytest.mark.parametrize("links_first", [True, False], ids=["named early", "named past 256 KiB"])
async def test_a_long_page_is_read_up_to_its_first_256_kib(
    page_newsroom: Newsroom, links_first: bool
) -> None:
    """Versions named in a long page's head group the story (the cap cuts the page, it does
    not refuse it); versions named only past the first 256 KiB are never read, so each
    edition's story goes on its own."""
    newsroom, feeds = page_newsroom, page_newsroom.feeds
    for edition in ("kk", "ru"):
        long_page(feeds, edition, links_first=links_first)
        page_feed(feeds, edition, story=True)
        await newsroom.poll()
        assert await newsroom.core.page_alternates.run() == 1
        await newsroom.deliver_all()
    # The admin reads kk and ru: one version of one group, or both of two.
    assert _law_messages(newsroom.api, ADMIN) == (["kk"] if links_first else ["kk", "ru"])
