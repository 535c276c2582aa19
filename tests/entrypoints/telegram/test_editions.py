"""Which editions a chat reads (/editions, deep links, a channel's settings) and the buttons
under a pushed story that lead to its versions in the other editions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage import destinations, editions
from storage.models import Story
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    ENGLISH_READER,
    READER,
    STRANGER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.fakes.conversation import ask, button_data, subscribe
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

GROUP = FakeChat(id=-1002000000002, type="supergroup", title="Newsroom readers")
NOW = datetime.now(UTC).replace(microsecond=0)
EARLIER = NOW - timedelta(hours=3)
EDITIONS = ["kk", "ru", "en"]
BACKLOG = {
    "kk": Item("kk-old", "Сенат төрағасы ТүркПА бақылаушыларымен кездесті", EARLIER),
    "ru": Item("ru-old", "Спикер Сената встретился с наблюдателями", EARLIER),
    "en": Item("en-old", "Senate Speaker meets CIS IPA observers", EARLIER),
}
FRESH = {
    "kk": Item("kk-new", "Мәжіліс бюджетті мақұлдады", NOW - timedelta(minutes=5)),
    "ru": Item("ru-new", "Мажилис одобрил бюджет", NOW - timedelta(minutes=5)),
    "en": Item("en-new", "Mazhilis approves the budget", NOW - timedelta(minutes=5)),
}


@pytest.fixture
async def newsroom(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    """A newsroom in three editions, one feed each (the backlog only, so far)."""
    feeds = [
        {
            "url": feed_server.add(f"/rss/{code}.xml", rss([BACKLOG[code]], language=code)),
            "section": "parliament",
            "language": code,
        }
        for code in EDITIONS
    ]
    settings = newsroom_settings(tmp_path, fake_api, [], feeds=feeds, editions=EDITIONS)
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield newsroom


async def _reads(newsroom: Newsroom, chat_id: int) -> set[str]:
    async with newsroom.core.database.sessions() as session:
        destination = await destinations.get_by_chat(session, chat_id)
        assert destination is not None
        return await editions.editions_of(session, destination.id)


async def _sections(newsroom: Newsroom, chat_id: int) -> set[str]:
    async with newsroom.core.database.sessions() as session:
        destination = await destinations.get_by_chat(session, chat_id)
        assert destination is not None
        return await destinations.sections_of(session, destination.id)


async def _press(newsroom: Newsroom, user: FakeUser, message, data: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    api = newsroom.api
    before = len(api.callback_answers)
    api.press_button(user, message, data)
    await api.wait_until(lambda: len(api.callback_answers) > before)
    return api.callback_answers[-1]


async def _publish(newsroom: Newsroom, *codes: str) -> dict[str, int]:
    """The fresh story in these editions, polled (not yet sent): {edition: story id}."""
    await newsroom.poll()  # the backlog, never pushed
    for code in codes:
        body = rss([FRESH[code], BACKLOG[code]], language=code)
        newsroom.feeds.add(f"/rss/{code}.xml", body, etag='"v2"')
    await newsroom.poll()
    async with newsroom.core.database.sessions() as session:
        rows = await session.execute(
            select(Story.edition, Story.id).where(Story.identity.like("%-new%"))
        )
        return {edition: story_id for edition, story_id in rows.all()}


async def _group(newsroom: Newsroom, story_ids: list[int]) -> None:
    """The stories are versions of one story (as hreflang alternates would make them)."""
    async with newsroom.core.database.sessions.begin() as session:
        await session.execute(
            update(Story).where(Story.id.in_(story_ids)).values(group_id=story_ids[0])
        )


async def test_editions_are_toggles_in_their_own_languages_and_the_last_stays_on(
    newsroom: Newsroom,
) -> None:
    keyboard = await ask(newsroom.api, ENGLISH_READER, "/editions")
    assert button_data(keyboard) == ["ed:kk", "ed:ru", "ed:en"]
    markup = str(keyboard.reply_markup)
    assert "✅ English" in markup and "▫️ Қазақша" in markup and "▫️ Русский" in markup
    answer = await _press(newsroom, ENGLISH_READER, keyboard, "ed:ru")
    assert "Русский" in answer["text"] and not answer.get("show_alert")
    edited = await newsroom.api.wait_for(lambda m: m.method == "editMessageReplyMarkup")
    assert "✅ Русский" in str(edited[-1].reply_markup)
    assert await _reads(newsroom, ENGLISH_READER.id) == {"en", "ru"}
    await _press(newsroom, ENGLISH_READER, keyboard, "ed:en")
    assert await _reads(newsroom, ENGLISH_READER.id) == {"ru"}
    refused = await _press(newsroom, ENGLISH_READER, keyboard, "ed:ru")
    assert refused["show_alert"] and "Русский" in refused["text"] and "one" in refused["text"]
    assert await _reads(newsroom, ENGLISH_READER.id) == {"ru"}
    stale = await _press(newsroom, ENGLISH_READER, keyboard, "ed:de")
    assert stale["show_alert"]
    assert await _reads(newsroom, ENGLISH_READER.id) == {"ru"}


async def test_editions_with_a_code_switches_an_unknown_code_lists_them_language_keeps_them(
    newsroom: Newsroom,
) -> None:
    assert "/editions" in (await ask(newsroom.api, READER, "/help")).text
    assert await _reads(newsroom, READER.id) == {"ru"}  # a Russian interface reads ru first
    switched = await ask(newsroom.api, READER, "/editions KK")
    assert "Қазақша" in switched.text
    assert await _reads(newsroom, READER.id) == {"kk"}
    unknown = await ask(newsroom.api, READER, "/editions de")
    assert "de" in unknown.text
    assert all(f"{code} (" in unknown.text for code in EDITIONS)
    assert await _reads(newsroom, READER.id) == {"kk"}
    keyboard = await ask(newsroom.api, READER, "/language")  # the interface only
    newsroom.api.press_button(READER, keyboard, "lang:en")
    await newsroom.api.wait_for(lambda m: m.method == "editMessageText")
    assert "What I can do" in (await ask(newsroom.api, READER, "/help")).text
    assert await _reads(newsroom, READER.id) == {"kk"}
    menus = [[c["command"] for c in menu] for menu in newsroom.api.commands.values()]
    assert menus and all("editions" in names for names in menus)


async def test_a_russian_interface_reader_follows_the_kazakh_sites_subscribe_link(
    newsroom: Newsroom,
) -> None:
    newsroom.api.send_message(READER, "/start kk-sub_parliament")
    # "news in Қазақша", "subscribed to Парламент", then the welcome
    replies = await newsroom.api.wait_for(lambda m: m.chat_id == READER.id, count=3)
    assert await _reads(newsroom, READER.id) == {"kk"}
    assert await _sections(newsroom, READER.id) == {"parliament"}
    assert "Қазақша" in replies[0].text and "Парламент" in replies[1].text
    welcome = replies[2]
    assert "✅ Парламент" in str(welcome.reply_markup)  # the interface stays Russian
    newsroom.api.send_message(STRANGER, "/start ru")  # the edition alone
    await newsroom.api.wait_for(lambda m: m.chat_id == STRANGER.id, count=2)
    assert await _reads(newsroom, STRANGER.id) == {"ru"}
    assert await _sections(newsroom, STRANGER.id) == set()
    newsroom.api.send_message(ENGLISH_READER, "/start sub_parliament")  # still works alone
    await newsroom.api.wait_for(lambda m: m.chat_id == ENGLISH_READER.id, count=2)
    assert await _reads(newsroom, ENGLISH_READER.id) == {"en"}
    assert await _sections(newsroom, ENGLISH_READER.id) == {"parliament"}
    await _publish(newsroom, "kk", "ru")
    await newsroom.deliver_all()
    texts = [m.text for m in newsroom.api.messages_to(READER.id)]
    assert any("Мәжіліс бюджетті" in text for text in texts)
    assert not any("Мажилис одобрил" in text for text in texts)


async def test_in_a_group_only_administrators_choose_its_editions(newsroom: Newsroom) -> None:
    api = newsroom.api
    api.add_bot_to_channel(ADMIN, GROUP)
    api.set_member(GROUP, READER, "member")
    # The bot has taken its addition (registered the group in its adder's language) before a
    # member writes there: updates from two users are handled concurrently.
    await api.wait_for(lambda m: m.chat_id == ADMIN.id and GROUP.title in m.text, timeout=10)
    before = len(api.messages_to(GROUP.id))
    api.send_message(READER, "/editions ru", chat=GROUP)
    await api.wait_for(lambda m: m.chat_id == GROUP.id, count=before + 1)
    assert await _reads(newsroom, GROUP.id) == {"en"}  # its adder's language
    api.send_message(ADMIN, "/editions kk", chat=GROUP)
    await api.wait_for(lambda m: m.chat_id == GROUP.id, count=before + 2)
    assert await _reads(newsroom, GROUP.id) == {"kk"}


async def test_a_channels_edition_toggles_are_verified_on_every_press(newsroom: Newsroom) -> None:
    api = newsroom.api
    await ask(api, ADMIN, "/start")
    api.add_bot_to_channel(ADMIN, CHANNEL)
    await api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
    listing = await ask(api, ADMIN, "/channels")
    await _press(newsroom, ADMIN, listing, f"ch:{CHANNEL.id}")
    settings = (await api.wait_for(lambda m: m.method == "editMessageText"))[-1]
    toggles = [f"ce:{CHANNEL.id}:{code}" for code in EDITIONS]
    assert all(data in button_data(settings) for data in toggles)
    assert "✅ English" in str(settings.reply_markup)
    answer = await _press(newsroom, ADMIN, listing, f"ce:{CHANNEL.id}:kk")
    assert "Қазақша" in answer["text"]
    assert await _reads(newsroom, CHANNEL.id) == {"en", "kk"}
    edited = (await api.wait_for(lambda m: m.method == "editMessageText", count=2))[-1]
    assert "✅ Қазақша" in str(edited.reply_markup)
    await _press(newsroom, ADMIN, listing, f"ce:{CHANNEL.id}:en")
    refused = await _press(newsroom, ADMIN, listing, f"ce:{CHANNEL.id}:kk")
    assert refused["show_alert"] and "Қазақша" in refused["text"]
    assert await _reads(newsroom, CHANNEL.id) == {"kk"}
    # Someone who does not administer the channel, forging the press in their own chat.
    own = await ask(api, STRANGER, "/channels")
    refused = await _press(newsroom, STRANGER, own, f"ce:{CHANNEL.id}:ru")
    assert refused["show_alert"]
    api.set_member(CHANNEL, ADMIN, "member")  # demoted: the next press is refused too
    refused = await _press(newsroom, ADMIN, listing, f"ce:{CHANNEL.id}:ru")
    assert refused["show_alert"]
    assert await _reads(newsroom, CHANNEL.id) == {"kk"}


def _url_buttons(message) -> dict[str, str]:  # type: ignore[no-untyped-def]
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["url"] for row in rows for button in row if "url" in button}


async def test_a_pushed_story_links_to_its_versions_in_each_language(newsroom: Newsroom) -> None:
    api = newsroom.api
    await subscribe(api, READER, "parliament")  # reads ru
    await subscribe(api, ENGLISH_READER, "parliament")  # reads en
    await ask(api, ADMIN, "/start")
    api.add_bot_to_channel(ADMIN, CHANNEL)  # reads en, its adder's language
    await api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
    readers = newsroom.side.services.readers
    await readers.subscribe(await readers.state(CHANNEL.id, "channel"), "parliament")
    story = await _publish(newsroom, "kk", "ru", "en")
    await _group(newsroom, [story["en"], story["kk"], story["ru"]])
    await newsroom.deliver_all()
    (russian,) = [m for m in api.messages_to(READER.id) if "Мажилис одобрил" in m.text]
    assert _url_buttons(russian) == {
        "Читать": "https://www.inform.kz/ru/ru-new",
        "Қазақша": "https://www.inform.kz/kk/kk-new",
        "English": "https://www.inform.kz/en/en-new",
    }
    for chat_id in (ENGLISH_READER.id, CHANNEL.id):
        (english,) = [m for m in api.messages_to(chat_id) if "Mazhilis approves" in m.text]
        assert _url_buttons(english) == {
            "Read": "https://www.inform.kz/en/en-new",
            "Қазақша": "https://www.inform.kz/kk/kk-new",
            "Русский": "https://www.inform.kz/ru/ru-new",
        }
