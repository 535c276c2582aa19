"""Putting a rendered OutgoingMessage on the wire with python-telegram-bot."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.outbound.message import Button, OutgoingMessage
from bot.outbound.render import buttons_as_links

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
# Telegram's answers for a button URL it will not take (a host without a dot, say) that it
# does take as an href: the story goes out with the link in the text instead.
BUTTON_URL_PROBLEMS = ("button_url_invalid", "keyboard button url")


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


# The Bot API's method names are case-insensitive. `deliver` spells them in lower case: PTB
# warns ("Please use Bot.send_message") when `do_api_request` is given a method it wraps.
SEND_PHOTO = "sendphoto"
SEND_MESSAGE = "sendmessage"
CREATE_FORUM_TOPIC = "createforumtopic"


@dataclass(frozen=True, slots=True)
class Sent:
    """What the sender keeps of Telegram's answer."""

    chat_id: int
    message_id: int


@functools.lru_cache(maxsize=256)
def _fields(message: OutgoingMessage) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Bot API fields of a message but its chat: (as a photo, as text), built once.

    Objects go as the JSON text the Bot API takes (PTB passes strings through as they are).
    """
    markup = keyboard(message.buttons)
    common: dict[str, Any] = {
        "parse_mode": ParseMode.HTML.value,
        "disable_notification": message.disable_notification,
    }
    if markup is not None:
        common["reply_markup"] = json.dumps(markup.to_dict())
    photo = {**common, "photo": message.photo_url, "caption": message.text}
    preview = json.dumps(preview_options(message).to_dict())
    text = {**common, "text": message.text, "link_preview_options": preview}
    return photo, text


async def deliver(
    bot: Bot,
    chat_id: int,
    message: OutgoingMessage,
    *,
    paid_broadcast: bool = False,
    rate_limit_args: int | None = None,
    thread_id: int | None = None,
) -> Sent:
    """Send as a photo with caption when the render chose one, else as text; when Telegram
    refuses only a part of it (the photo, a button's URL), without that part (see _fallback).

    Cheap enough for the fan-out: the fields are built once per message (not per chat), and
    Telegram's answer is read for the two ids the outbox records instead of becoming a full
    PTB `Message` (its user, chat, entities and keyboard): a fifth of a send's CPU, which
    paid broadcasts at hundreds of messages a second notice. Telegram's refusals raise PTB's
    errors (RetryAfter, Forbidden, BadRequest, ...) as `Bot.send_message` would.
    `thread_id`: the forum topic to post into (None: the chat itself, a forum's General).
    """
    extra: dict[str, Any] = {"chat_id": chat_id}
    if paid_broadcast:
        extra["allow_paid_broadcast"] = True
    if thread_id is not None:
        extra["message_thread_id"] = thread_id
    while True:
        try:
            return await _send(bot, message, extra, rate_limit_args)
        except BadRequest as exc:
            fallback = _fallback(message, exc.message)
            if fallback is None:
                raise
            message, instead = fallback
            log.info("chat %s refused a message (%s); %s", chat_id, exc.message, instead)


def _fallback(message: OutgoingMessage, error: str) -> tuple[OutgoingMessage, str] | None:
    """What to send instead of `message` that Telegram refused with `error`, and a word on
    it for the log; None when the refusal is about the message as a whole.

    Each fallback sends less (no photo, no URL buttons), so `deliver` tries at most three
    times, and a story is never lost for a part Telegram will not take.
    """
    reason = error.lower()
    if message.photo_url and any(problem in reason for problem in PHOTO_PROBLEMS):
        return replace(message, photo_url=None), "sending as text"
    if any(problem in reason for problem in BUTTON_URL_PROBLEMS):
        as_links = buttons_as_links(message)
        if as_links is not None:
            return as_links, "sending the buttons as links in the text"
    return None


async def _send(
    bot: Bot, message: OutgoingMessage, extra: dict[str, Any], rate_limit_args: int | None
) -> Sent:
    photo, text = _fields(message)
    method, fields = (SEND_PHOTO, photo) if message.photo_url else (SEND_MESSAGE, text)
    answer = await bot.do_api_request(
        method, api_kwargs={**fields, **extra}, rate_limit_args=rate_limit_args
    )
    return Sent(int(answer["chat"]["id"]), int(answer["message_id"]))


# A forum topic's name: 1-128 characters (Bot API, createForumTopic).
TOPIC_NAME_LIMIT = 128


async def create_topic(
    bot: Bot, chat_id: int, name: str, *, rate_limit_args: int | None = None
) -> int:
    """Create a forum topic named `name` (cut to Telegram's limit); its message_thread_id."""
    answer = await bot.do_api_request(
        CREATE_FORUM_TOPIC,
        api_kwargs={"chat_id": chat_id, "name": name[:TOPIC_NAME_LIMIT]},
        rate_limit_args=rate_limit_args,
    )
    return int(answer["message_thread_id"])
