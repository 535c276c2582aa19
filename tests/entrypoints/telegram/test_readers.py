"""Readers in a private chat: commands, buttons, languages, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.entrypoints.telegram.conftest import EDITOR, ENGLISH_READER, READER, Newsroom
from tests.fakes.conversation import ask, button_data
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
ITEMS = [
    Item("p1", "Senate Speaker meets TurkPA observers", NOW - timedelta(minutes=30)),
    Item("p2", "Mazhilis approves the budget", NOW - timedelta(minutes=20), category="Economy"),
    Item("p3", "Сенат одобрил закон о выборах", NOW - timedelta(minutes=10)),
]


@pytest.fixture
def feed_urls(feed_server) -> list[str]:  # type: ignore[no-untyped-def]
    return [feed_server.add("/rss/en.xml", rss(ITEMS), etag='"v1"')]


async def test_start_welcomes_in_the_users_language_with_section_buttons(
    newsroom: Newsroom,
) -> None:
    reply = await ask(newsroom.api, READER, "/start")
    assert "Парламент" in str(reply.reply_markup)
    assert button_data(reply) == ["sub:parliament", "sub:economy"]
    english = await ask(newsroom.api, ENGLISH_READER, "/start")
    assert "Parliament" in str(english.reply_markup)
    assert english.text != reply.text


async def test_deep_link_subscribes_straight_away(newsroom: Newsroom) -> None:
    await ask(newsroom.api, ENGLISH_READER, "/start sub_parliament")
    reply = await ask(newsroom.api, ENGLISH_READER, "/subscriptions")
    assert "✅ Parliament" in str(reply.reply_markup)


async def test_latest_section_and_search_list_stories(newsroom: Newsroom) -> None:
    await newsroom.poll()
    latest = await ask(newsroom.api, ENGLISH_READER, "/latest")
    assert latest.text.index("Сенат одобрил") < latest.text.index("TurkPA")
    section = await ask(newsroom.api, ENGLISH_READER, "/section economy")
    assert "budget" in section.text and "TurkPA" not in section.text
    found = await ask(newsroom.api, ENGLISH_READER, "/search сенат")
    assert "Сенат одобрил" in found.text


async def test_unknown_section_lists_the_real_ones(newsroom: Newsroom) -> None:
    reply = await ask(newsroom.api, ENGLISH_READER, "/section sport")
    assert "parliament" in reply.text and "economy" in reply.text
    missing = await ask(newsroom.api, ENGLISH_READER, "/section")
    assert "parliament" in missing.text


async def test_today_lists_todays_stories_in_chronological_order(newsroom: Newsroom) -> None:
    await newsroom.poll()
    reply = await ask(newsroom.api, ENGLISH_READER, "/today")
    assert reply.text.index("TurkPA") < reply.text.index("budget") < reply.text.index("Сенат")


async def test_subscribe_toggle_buttons_check_and_uncheck(newsroom: Newsroom) -> None:
    keyboard = await ask(newsroom.api, ENGLISH_READER, "/subscribe")
    newsroom.api.press_button(ENGLISH_READER, keyboard, "sub:economy")
    await newsroom.api.wait_for(lambda m: m.method == "editMessageReplyMarkup")
    reply = await ask(newsroom.api, ENGLISH_READER, "/subscriptions")
    assert "✅ Economy" in str(reply.reply_markup)
    assert "Economy" in reply.text


async def test_subscribe_and_unsubscribe_by_slug(newsroom: Newsroom) -> None:
    subscribed = await ask(newsroom.api, READER, "/subscribe parliament")
    again = await ask(newsroom.api, READER, "/subscribe parliament")
    assert subscribed.text != again.text
    gone = await ask(newsroom.api, READER, "/unsubscribe parliament")
    assert "Парламент" in gone.text


async def test_language_button_switches_the_interface(newsroom: Newsroom) -> None:
    english = await ask(newsroom.api, ENGLISH_READER, "/help")
    keyboard = await ask(newsroom.api, ENGLISH_READER, "/language")
    newsroom.api.press_button(ENGLISH_READER, keyboard, "lang:kk")
    await newsroom.api.wait_for(lambda m: m.method == "editMessageText")
    kazakh = await ask(newsroom.api, ENGLISH_READER, "/help")
    assert kazakh.text != english.text
    assert "/latest" in kazakh.text


@pytest.mark.parametrize(
    "text",
    [
        "/frobnicate",
        "/latest now please",
        "/search",
        "/search " + "x" * 500,
        "hello there",
        "/section " + "я" * 3000,
    ],
)
async def test_bad_input_gets_a_short_helpful_answer(newsroom: Newsroom, text: str) -> None:
    reply = await ask(newsroom.api, ENGLISH_READER, text)
    assert 0 < len(reply.text) < 1000


async def test_forged_or_stale_button_changes_nothing(newsroom: Newsroom) -> None:
    keyboard = await ask(newsroom.api, ENGLISH_READER, "/subscribe")
    for forged in ["sub:sport", "sub:", "lang:de", "today:x", "zzz", "ch:notanumber"]:
        newsroom.api.press_button(ENGLISH_READER, keyboard, forged)
    await newsroom.api.wait_until(lambda: len(newsroom.api.callback_answers) >= 6)
    reply = await ask(newsroom.api, ENGLISH_READER, "/subscriptions")
    assert "✅" not in str(reply.reply_markup)
    assert all(answer.get("text") for answer in newsroom.api.callback_answers)


async def test_commands_menu_is_published_per_language(newsroom: Newsroom) -> None:
    languages = {key[1] for key in newsroom.api.commands}
    assert {"en", "ru", "kk"} <= languages
    menus = {
        scope: [c["command"] for c in value] for (scope, _), value in newsroom.api.commands.items()
    }
    editor_menu = next(names for scope, names in menus.items() if str(EDITOR.id) in scope)
    reader_menu = next(names for scope, names in menus.items() if "all_private_chats" in scope)
    assert "breaking" in editor_menu and "breaking" not in reader_menu
