"""The console's ways in from Telegram (docs/console.md): the editors' menu button and the
button /console answers with, both opening `console_url` as a Mini App.

Both are web_app buttons, which Telegram opens with signed init data (the console's only
sign-in): the menu button of an editor's private chat, and an inline keyboard button (Telegram
allows those in private chats only). A web_app button of a reply keyboard would open the
console with empty init data, so none is ever used. Without `console_url` nothing here runs:
no menu button is set and /console is not a command (application.py).
"""

from __future__ import annotations

import logging

from telegram import Bot, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot.entrypoints.telegram.handlers.services import BotServices

log = logging.getLogger(__name__)


async def set_console_button(bot: Bot, chat_id: int, url: str, text: str) -> bool:
    """The console as `chat_id`'s menu button. Telegram refuses a user who never started the
    bot (400) or who blocked it (403): one log line, and the caller goes on."""
    try:
        await bot.set_chat_menu_button(
            chat_id=chat_id, menu_button=MenuButtonWebApp(text, WebAppInfo(url))
        )
    except TelegramError as exc:
        log.warning("could not set the console menu button for %s: %s", chat_id, exc.message)
        return False
    return True


async def publish_console_buttons(bot: Bot, services: BotServices) -> None:
    """At start-up: each editor's menu button, named in the language of their chat (the
    newsroom's until they choose one). An editor refused now gets it at their /start."""
    url = services.settings.console_url
    if url is None:
        return
    for editor_id in services.settings.editors:
        language = await services.readers.language_of(editor_id, None)
        text = services.translator(language)("console_button")
        await set_console_button(bot, editor_id, url, text)
