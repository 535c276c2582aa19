"""The console's ways in from Telegram: editors get its menu button (at start-up and at
/start) and /console answers them with a web_app button; anyone else is refused politely, a
group is sent to the private chat; without `console_url` none of it exists."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.outbound.i18n import Catalogues
from tests.entrypoints.telegram.conftest import (
    EDITOR,
    READER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.fakes.conversation import ask
from tests.fakes.feed_server import FeedServer

CONSOLE_URL = "https://news.example.org/console/"
GROUP = FakeChat(id=-1002000000002, type="supergroup", title="Newsroom readers")
SECOND_EDITOR = FakeUser(id=666666666, first_name="Erlan", language_code="ru")
T = Catalogues.load()


def _web_app(url: str, text: str) -> dict[str, object]:
    return {"type": "web_app", "text": text, "web_app": {"url": url}}


def _editors_menu(api: FakeBotAPI, chat_id: int, language: str = "") -> list[str]:
    scope = json.dumps({"type": "chat", "chat_id": chat_id}, sort_keys=True, separators=(",", ":"))
    return [command["command"] for command in api.commands[(scope, language)]]


@pytest.fixture
async def console_newsroom(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    settings = newsroom_settings(
        tmp_path, fake_api, feed_urls, console_url=CONSOLE_URL, http_port=8080
    )
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield newsroom


async def test_editors_get_the_console_menu_button_at_start_up(
    console_newsroom: Newsroom,
) -> None:
    api = console_newsroom.api
    # In the newsroom's language until the editor's chat has one of its own.
    assert api.menu_buttons == {EDITOR.id: _web_app(CONSOLE_URL, "Console")}
    assert "console" in _editors_menu(api, EDITOR.id)
    assert "console" in _editors_menu(api, EDITOR.id, "kk")
    readers_menu = api.commands[('{"type":"all_private_chats"}', "")]
    assert "console" not in [command["command"] for command in readers_menu]


async def test_console_answers_an_editor_with_a_web_app_inline_button(
    console_newsroom: Newsroom,
) -> None:
    reply = await ask(console_newsroom.api, EDITOR, "/console")
    t = T.translator("kk")
    assert reply.text == t("console_open")
    # An inline web_app button: Telegram gives the Mini App signed init data only from
    # these (and the menu button), never from a reply keyboard's.
    assert reply.reply_markup == {
        "inline_keyboard": [[{"text": t("console_button"), "web_app": {"url": CONSOLE_URL}}]]
    }


async def test_a_reader_is_refused_politely(console_newsroom: Newsroom) -> None:
    reply = await ask(console_newsroom.api, READER, "/console")
    assert reply.text == T.translator("ru")("console_not_editor")
    assert reply.reply_markup is None
    await ask(console_newsroom.api, READER, "/start")
    assert READER.id not in console_newsroom.api.menu_buttons


async def test_in_a_group_the_console_is_sent_to_the_private_chat(
    console_newsroom: Newsroom,
) -> None:
    api = console_newsroom.api
    api.register_chat(GROUP)
    api.send_message(EDITOR, "/console", chat=GROUP)
    replies = await api.wait_for(lambda m: m.chat_id == GROUP.id)
    assert replies[-1].text == T.translator("kk")("console_private_only")
    assert replies[-1].reply_markup is None


async def test_without_console_url_there_is_no_console(newsroom: Newsroom) -> None:
    api = newsroom.api
    assert api.menu_buttons == {}
    assert "console" not in _editors_menu(api, EDITOR.id)
    reply = await ask(api, EDITOR, "/console")
    assert reply.text == T.translator("kk")("unknown_command")
    await ask(api, EDITOR, "/start")
    assert not [name for name, _ in api.requests if name == "setChatMenuButton"]


async def test_an_editor_who_never_started_the_bot_gets_the_button_at_start(
    tmp_path: Path,
    feed_server: FeedServer,
    feed_urls: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram refuses the menu button of a user who never wrote to the bot (400): one
    line in the log, the other editors still get theirs, and /start sets it later."""
    with FakeBotAPI(strict_private_chats=True) as api:
        api.send_message(SECOND_EDITOR, "/help")  # this editor has started the bot
        settings = newsroom_settings(
            tmp_path,
            api,
            feed_urls,
            console_url=CONSOLE_URL,
            http_port=8080,
            editors=[EDITOR.id, SECOND_EDITOR.id],
        )
        with caplog.at_level(logging.WARNING, logger="bot.entrypoints.telegram.console_entry"):
            async with running_newsroom(settings, api, feed_server):
                refusals = [r.getMessage() for r in caplog.records if "console" in r.getMessage()]
                assert refusals == [
                    f"could not set the console menu button for {EDITOR.id}: User not found"
                ]
                assert api.menu_buttons == {SECOND_EDITOR.id: _web_app(CONSOLE_URL, "Console")}
                await ask(api, EDITOR, "/start")
                await api.wait_until(lambda: EDITOR.id in api.menu_buttons)
                # Now in the language of the editor's chat, registered by /start.
                assert api.menu_buttons[EDITOR.id] == _web_app(
                    CONSOLE_URL, T.translator("kk")("console_button")
                )
