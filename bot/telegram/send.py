"""Putting a rendered OutgoingMessage on the wire with python-telegram-bot."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.telegram.render import Button, OutgoingMessage

log = logging.getLogger(__name__)

# Telegram answers these when it cannot fetch or use a photo URL; the story still goes out,
# as text with the article's link preview.
PHOTO_PROBLEMS = (
    "wrong file",
    "failed to get http url content",
    "wrong type of the web page",
    "photo_invalid_dimensions",
    "image_process_failed",
    "webpage_media_empty",
    "wrong remote file",
    "file identifier",
)


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    button.text, url=button.url, callback_data=button.callback_data
                )
                for button in row
            ]
            for row in rows
        ]
    )


def preview_options(message: OutgoingMessage) -> LinkPreviewOptions:
    if message.link_preview_url:
        return LinkPreviewOptions(url=message.link_preview_url, prefer_large_media=True)
    return LinkPreviewOptions(is_disabled=True)


async def send(bot: Bot, chat_id: int, message: OutgoingMessage, **extra: object) -> Message:
    """Send as a photo with caption when the render chose one, else as text."""
    markup = keyboard(message.buttons)
    if message.photo_url:
        try:
            return await bot.send_photo(
                chat_id,
                message.photo_url,
                caption=message.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_notification=message.disable_notification,
                **extra,  # type: ignore[arg-type]
            )
        except BadRequest as exc:
            if not any(problem in exc.message.lower() for problem in PHOTO_PROBLEMS):
                raise
            log.info("photo refused for chat %s (%s); sending as text", chat_id, exc.message)
    return await bot.send_message(
        chat_id,
        message.text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=preview_options(message),
        disable_notification=message.disable_notification,
        **extra,  # type: ignore[arg-type]
    )
