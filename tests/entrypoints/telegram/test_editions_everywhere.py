"""Inline mode, the digest, /today and /section, and a channel of two editions in a
trilingual newsroom, through the fake Bot API: each chat sees each story group once, in the
first of its editions that has it (its interface language's first, then kk, ru, en).

The stories: the vote in kk, ru and en; the budget (Economy) in ru and en; the steppe
festival in kk only.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from storage import destinations, editions, stories
from storage.models import Story
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    EDITOR,
    ENGLISH_READER,
    READER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.entrypoints.telegram.test_versions import TITLES as LAW
from tests.entrypoints.telegram.test_versions import law, publish, trilingual_settings
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser, SentMessage
from tests.fakes.conversation import ask
from tests.fakes.feed_server import FeedServer
from tests.fakes.stories import Draft

# Two who never opened the bot: one with Telegram in Russian, one in a language that is no
# edition (the newsroom's language's edition, English, is theirs).
RUSSIAN_STRANGER = FakeUser(id=666666661, first_name="Oleg", language_code="ru")
GERMAN_STRANGER = FakeUser(id=666666662, first_name="Jonas", language_code="de")

TITLES: dict[str, dict[str, str]] = {
    "vote": {
        "kk": "Парламент сайлауы өтті",
        "ru": "Парламент: выборы прошли",
        "en": "Parliament vote held",
    },
    "budget": {"ru": "Бюджет принят", "en": "Budget passed"},
    "steppe": {"kk": "Дала фестивалі басталды"},
}
SECTION = {"vote": "parliament", "budget": "economy", "steppe": "parliament"}
ALL_TITLES = {
    title: (event, edition) for event, v in TITLES.items() for edition, title in v.items()
}


def shown(text: str) -> list[tuple[str, str]]:
    """The (event, edition) of every story title in a message, in the order shown."""
    found = [(text.find(title), key) for title, key in ALL_TITLES.items() if title in text]
    return [key for _, key in sorted(found)]


@pytest.fixture
async def trilingual(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, editions=["kk", "ru", "en"])
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield newsroom


async def store_events(newsroom: Newsroom) -> dict[tuple[str, str], int]:
    """The versions, published seconds ago (today on the newsroom's clock), one group per
    event; (event, edition) -> story id."""
    now = datetime.now(UTC).replace(microsecond=0)
    drafts = [
        Draft(
            f"{event}-{edition}",
            title,
            now - timedelta(seconds=3 * index + offset),
            language=edition,
            edition=edition,
            section=SECTION[event],
            link=f"https://www.inform.kz/{edition}/{event}",
        )
        for index, event in enumerate(TITLES)
        for offset, (edition, title) in enumerate(TITLES[event].items())
    ]
    async with newsroom.core.database.sessions.begin() as session:
        result = await stories.store_stories(session, drafts, feed_id=None, pushable=False, now=now)
        ids = {
            (draft.identity.split("-")[0], draft.edition or ""): story_id
            for draft, story_id in zip(drafts, result.new_ids, strict=True)
        }
        for event in TITLES:
            members = [story_id for (e, _), story_id in ids.items() if e == event]
            await session.execute(
                update(Story).where(Story.id.in_(members)).values(group_id=min(members))
            )
    return ids


async def reads(newsroom: Newsroom, chat_id: int, chosen: list[str]) -> None:
    async with newsroom.core.database.sessions.begin() as session:
        chat = await destinations.get_by_chat(session, chat_id)
        assert chat is not None
        await editions.set_editions(session, chat.id, chosen)


# --- inline mode ---------------------------------------------------------------------------


async def inline(api: FakeBotAPI, user: FakeUser, query: str) -> list[str]:
    """The titles the bot offers `user` typing `@bot query`, in order."""
    query_id = api.inline_query(user, query)
    await api.wait_until(lambda: any(a["inline_query_id"] == query_id for a in api.inline_answers))
    answer = next(a for a in api.inline_answers if a["inline_query_id"] == query_id)
    return [result["title"] for result in answer["results"]]


def keys(titles: list[str]) -> set[tuple[str, str]]:
    return {ALL_TITLES[title] for title in titles}


async def test_inline_mode_offers_the_users_editions_each_group_once(
    trilingual: Newsroom,
) -> None:
    api = trilingual.api
    await ask(api, READER, "/start")
    await ask(api, ENGLISH_READER, "/start")
    await store_events(trilingual)
    await reads(trilingual, READER.id, ["kk", "ru"])  # Ivan's private chat reads two
    await reads(trilingual, ENGLISH_READER.id, ["kk"])  # Anna's reads Kazakh only
    # No private chat: the Telegram language's edition; one that is no edition: English.
    assert keys(await inline(api, RUSSIAN_STRANGER, "")) == {("vote", "ru"), ("budget", "ru")}
    assert keys(await inline(api, GERMAN_STRANGER, "")) == {("vote", "en"), ("budget", "en")}
    # A private chat's editions win over the Telegram language; Russian first for Ivan.
    assert keys(await inline(api, READER, "")) == {
        ("vote", "ru"),
        ("budget", "ru"),
        ("steppe", "kk"),
    }
    assert keys(await inline(api, ENGLISH_READER, "")) == {("vote", "kk"), ("steppe", "kk")}
    # A search: the group once, in the first edition that has it.
    assert keys(await inline(api, READER, "парламент")) == {("vote", "ru")}
    assert keys(await inline(api, GERMAN_STRANGER, "parliament")) == {("vote", "en")}
    assert await inline(api, ENGLISH_READER, "parliament") == []


# --- the digest ----------------------------------------------------------------------------


def digest_of(api: FakeBotAPI, user: FakeUser) -> list[tuple[str, str]]:
    (message,) = [m for m in api.messages_to(user.id) if m.text.startswith("<b>")]
    return shown(message.text)


async def test_the_digest_lists_each_group_once_in_the_readers_edition(
    trilingual: Newsroom,
) -> None:
    api = trilingual.api
    for user in (EDITOR, READER, ENGLISH_READER):
        await ask(api, user, "/digest")
    ids = await store_events(trilingual)
    await reads(trilingual, EDITOR.id, ["kk"])
    await reads(trilingual, READER.id, ["kk", "ru"])
    await reads(trilingual, ENGLISH_READER.id, ["en"])
    await trilingual.side.services.newsdesk.record(ids[("steppe", "kk")], "press")
    at = datetime.now(trilingual.core.settings.zone).strftime("%H:%M")
    report = await trilingual.side.digest.run_slot(at)
    assert report.queued == 3
    await trilingual.deliver_all()
    assert sorted(digest_of(api, EDITOR)) == [("steppe", "kk"), ("vote", "kk")]
    assert sorted(digest_of(api, READER)) == [("budget", "ru"), ("steppe", "kk"), ("vote", "ru")]
    assert sorted(digest_of(api, ENGLISH_READER)) == [("budget", "en"), ("vote", "en")]
    assert digest_of(api, READER)[0] == ("steppe", "kk")  # the most engaging first


async def test_a_busy_edition_does_not_crowd_another_out_of_its_digest(
    trilingual: Newsroom,
) -> None:
    """Twelve Kazakh stories everyone engaged with outrank the day's Russian ones: the
    Russian reader's digest still lists the Russian stories (each edition's top is kept)."""
    api = trilingual.api
    for user in (EDITOR, READER):
        await ask(api, user, "/digest")
    await reads(trilingual, EDITOR.id, ["kk"])
    await reads(trilingual, READER.id, ["ru"])
    ids = await store_events(trilingual)
    now = datetime.now(UTC).replace(microsecond=0)
    busy = [
        Draft(f"busy{n}", f"Қазақ жаңалығы {n}", now - timedelta(seconds=n), language="kk",
              edition="kk", link=f"https://www.inform.kz/kk/busy{n}")
        for n in range(12)
    ]  # fmt: skip
    async with trilingual.core.database.sessions.begin() as session:
        result = await stories.store_stories(session, busy, feed_id=None, pushable=False, now=now)
    desk = trilingual.side.services.newsdesk
    for story_id in [*result.new_ids, ids[("vote", "kk")], ids[("steppe", "kk")]]:
        await desk.record(story_id, "press")
    at = datetime.now(trilingual.core.settings.zone).strftime("%H:%M")
    assert (await trilingual.side.digest.run_slot(at)).queued == 2
    await trilingual.deliver_all()
    assert sorted(digest_of(api, READER)) == [("budget", "ru"), ("vote", "ru")]
    (kazakh,) = [m for m in api.messages_to(EDITOR.id) if m.text.startswith("<b>")]
    assert len(re.findall(r"^\d+\. ", kazakh.plain_text, re.M)) == 10  # the top ten, all kk
    assert all(edition == "kk" for _, edition in shown(kazakh.text))


# --- /today and /section for a reader of two editions -------------------------------------


async def test_today_and_section_show_each_group_once_interface_edition_first(
    trilingual: Newsroom,
) -> None:
    api = trilingual.api
    await ask(api, READER, "/start")
    await store_events(trilingual)
    await reads(trilingual, READER.id, ["kk", "ru"])  # newsroom order kk first; Ivan speaks ru
    today = await ask(api, READER, "/today")
    assert sorted(shown(today.text)) == [("budget", "ru"), ("steppe", "kk"), ("vote", "ru")]
    parliament = await ask(api, READER, "/section parliament")
    assert sorted(shown(parliament.text)) == [("steppe", "kk"), ("vote", "ru")]
    economy = await ask(api, READER, "/today economy")
    assert shown(economy.text) == [("budget", "ru")]


# --- a channel of two editions -------------------------------------------------------------


@pytest.fixture
async def feed_newsroom(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    """The kk, ru and en feeds of test_versions (each new item names the other versions by
    hreflang), their backlog polled; a channel added by Dana, reading ru and en."""
    settings = trilingual_settings(tmp_path, fake_api, feed_server)
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        fake_api.add_bot_to_channel(ADMIN, CHANNEL)
        await fake_api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
        readers = newsroom.side.services.readers
        await readers.subscribe(await readers.state(CHANNEL.id, "channel"), "parliament")
        await reads(newsroom, CHANNEL.id, ["ru", "en"])
        await newsroom.poll()  # the backlog: never pushed
        yield newsroom


def url_buttons(message: SentMessage) -> dict[str, str]:
    return {b["text"]: b["url"] for b in message.buttons if "url" in b}


@pytest.mark.parametrize("order", [("kk", "ru", "en"), ("en", "kk", "ru")])
async def test_a_channel_of_two_editions_gets_each_story_once_with_its_versions(
    feed_newsroom: Newsroom, order: tuple[str, ...]
) -> None:
    for edition in order:  # one feed polled and delivered, then the next
        publish(feed_newsroom.feeds, edition)
        await feed_newsroom.poll()
        await feed_newsroom.deliver_all()
    posts = [
        (edition, message)
        for message in feed_newsroom.api.messages_to(CHANNEL.id)
        for edition, title in LAW.items()
        if title in message.text
    ]
    first = next(edition for edition in order if edition in ("ru", "en"))
    assert [edition for edition, _ in posts] == [first]
    read = "Read"  # the channel speaks its adder's language, English
    others = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
    assert url_buttons(posts[0][1]) == {read: law(first)} | {
        others[edition]: law(edition) for edition in LAW if edition != first
    }


# --- a channel or group per edition, each reading its adder's language ---------------------

SERIK = FakeUser(id=777777771, first_name="Serik", language_code="kk")
OLGA = FakeUser(id=777777772, first_name="Olga", language_code="ru")
KAZAKH_CHANNEL = FakeChat(id=-1003000000003, type="channel", title="Kazinform Qazaqsha")
RUSSIAN_GROUP = FakeChat(id=-1003000000004, type="supergroup", title="Новости для своих")
ENGLISH_CHANNEL = FakeChat(id=-1003000000005, type="channel", title="Kazinform abroad")
EDITION_CHATS = {  # chat: (who adds the bot, the edition it reads)
    KAZAKH_CHANNEL: (SERIK, "kk"),
    RUSSIAN_GROUP: (OLGA, "ru"),
    ENGLISH_CHANNEL: (GERMAN_STRANGER, "en"),  # de is no edition: the newsroom's language
}


EARLIER = {  # yesterday's story on the same bill, in each edition
    "kk": "Мәжіліс заң жобасын талқылауды бастады",
    "ru": "Мажилис начал обсуждать законопроект",
    "en": "Mazhilis committee approves budget amendments",
}


async def store_earlier(newsroom: Newsroom) -> None:
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    drafts = [
        Draft(f"earlier-{edition}", title, yesterday, language=edition, edition=edition,
              section="parliament", link=f"https://www.inform.kz/{edition}/earlier")
        for edition, title in EARLIER.items()
    ]  # fmt: skip
    async with newsroom.core.database.sessions.begin() as session:
        await stories.store_stories(session, drafts, feed_id=None, pushable=False, now=yesterday)


@pytest.mark.parametrize("order", [("ru", "kk", "en"), ("en", "ru", "kk")])
async def test_a_chat_per_edition_gets_its_own_version_once_with_links_to_the_others(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, order: tuple[str, ...]
) -> None:
    settings = trilingual_settings(tmp_path, fake_api, feed_server)
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        readers = newsroom.side.services.readers
        for chat, (adder, _) in EDITION_CHATS.items():
            fake_api.add_bot_to_channel(adder, chat)
            await fake_api.wait_for(lambda m, a=adder: m.chat_id == a.id and "/channels" in m.text)
            await readers.subscribe(await readers.state(chat.id, chat.type), "parliament")
        await newsroom.poll()  # the backlog: never pushed
        await store_earlier(newsroom)
        for edition in order:  # the versions arrive one poll apart, in this order
            publish(feed_server, edition)
            await newsroom.poll()
            await newsroom.deliver_all()
        names = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
        for chat, (_, edition) in EDITION_CHATS.items():
            posts = [
                m for m in fake_api.messages_to(chat.id) if any(t in m.text for t in LAW.values())
            ]
            assert [m for m in posts if LAW[edition] in m.text] == posts and len(posts) == 1, chat
            others = {names[other]: law(other) for other in LAW if other != edition}
            assert others.items() <= url_buttons(posts[0]).items()
            # Related: the earlier story on the subject in the chat's own edition, only.
            related = re.findall(r'href="https://www.inform.kz/(\w+)/earlier"', posts[0].text)
            assert related == [edition], (chat, posts[0].text)
