"""Small pieces every handler group shares: replying safely, reading arguments."""

from __future__ import annotations

import asyncio
import html

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

# Longer command arguments are refused with a message rather than processed.
MAX_ARGUMENT_CHARS = 200
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def plain(text: str) -> str:
    """Interface text is plain; it may carry user input, so it is escaped for HTML mode."""
    return html.escape(text, quote=False)


async def reply_html(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


async def reply_plain(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    await reply_html(update, plain(text), markup)


async def edit_html(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the message a button sits on; "not modified" (a double press) is no error."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


def user_language(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


class PromptGate:
    """One chat's asking and answering, in turn. A ForceReply prompt is sent, then recorded
    under the message id Telegram gave it; updates are handled concurrently, so a reply
    taken between the two would find no prompt and be dropped without a word. The asker
    holds the chat's lock from the send to the record; the answer's lookup takes it too."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def of(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())
