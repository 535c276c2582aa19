"""Button presses: who pressed, where the button sits, and what the press may do there.

A callback query is authorised by its presser (`callback_query.from_user`) alone. The message
a button sits on proves nothing: every post the bot makes in a channel carries
`sender_chat == chat`, and a modified client replays any callback data on any message the bot
sent. So:
- a press that changes a chat (its sections, its language) counts only in the presser's own
  private chat, or in a group or channel where Telegram says, at that moment (getChatMember),
  that the presser administers it;
- a press that merely shows something (a section, a page of /today, related stories) acts in
  place only in the presser's private chat, or on the bot's reply to the presser in a group;
  anywhere else (a channel post, a pushed story in a group, someone else's reply) the presser
  gets the answer privately and the chat sees nothing;
- a press that manages something by its own callback data (/channels, /breaking) counts only
  in the presser's private chat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.entrypoints.telegram.handlers.common import NO_PREVIEW
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.outbound.callbacks import Callback, parse_callback
from bot.outbound.i18n import Translator

log = logging.getLogger(__name__)

# answerCallbackQuery shows at most 200 characters (Bot API).
ALERT_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Press:
    """One callback query, with what the handlers need of it."""

    query: CallbackQuery
    presser: User
    # The chat of the message the button sits on; None for a message sent in inline mode
    # (or one too old for Telegram to include).
    chat: Chat | None
    message: Message | None
    callback: Callback | None

    @property
    def in_own_private_chat(self) -> bool:
        return (
            self.chat is not None
            and self.chat.type == Chat.PRIVATE
            and self.chat.id == self.presser.id
        )


def press_of(update: Update) -> Press:
    query = update.callback_query
    assert query is not None, "a button handler got an update without a callback query"
    message = query.message if isinstance(query.message, Message) else None
    return Press(
        query=query,
        presser=query.from_user,
        chat=message.chat if message is not None else None,
        message=message,
        callback=parse_callback(query.data),
    )


class Presses:
    """The rules above, asked of Telegram where they need its word."""

    def __init__(self, services: BotServices) -> None:
        self.s = services

    async def presser_translator(self, press: Press) -> Translator:
        """The presser's own language: their private chat's, else their Telegram's."""
        language = await self.s.readers.language_of(press.presser.id, press.presser.language_code)
        return self.s.translator(language)

    async def may_change_chat(self, press: Press) -> bool:
        """May this press change the chat the button sits in?"""
        if press.chat is None:
            return False
        if press.chat.type == Chat.PRIVATE:
            return press.in_own_private_chat
        return await self.s.admins.user_manages(press.chat.id, press.chat.type, press.presser.id)

    async def may_show_here(self, press: Press) -> bool:
        """May this press show something in the chat the button sits in?"""
        if press.in_own_private_chat:
            return True
        if press.chat is None or press.message is None:
            return False
        if press.chat.type not in (Chat.GROUP, Chat.SUPERGROUP):
            return False  # a channel post is read by every subscriber
        asked = press.message.reply_to_message
        if asked is None:
            return False  # a pushed story, not a reply: nobody in the group asked for it
        if asked.from_user is not None and asked.from_user.id == press.presser.id:
            return True
        if asked.sender_chat is not None and asked.sender_chat.id == press.chat.id:
            # Asked by an anonymous administrator: any administrator Telegram vouches for.
            return await self.s.admins.user_manages(
                press.chat.id, press.chat.type, press.presser.id
            )
        return False

    async def show_privately(
        self,
        press: Press,
        context: ContextTypes.DEFAULT_TYPE,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        alert: str,
    ) -> None:
        """Send `text` (HTML) to the presser's private chat and say so; without one (or when
        Telegram refuses it), answer with `alert` (plain text) instead. The chat the button
        sits in sees nothing."""
        t = await self.presser_translator(press)
        if await self.s.readers.has_private_chat(press.presser.id):
            try:
                await context.bot.send_message(
                    press.presser.id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                )
            except Forbidden:
                log.info("presser %s blocked the bot; answering in an alert", press.presser.id)
            except TelegramError as exc:
                log.info("private answer to %s failed: %s", press.presser.id, exc.message)
            else:
                await press.query.answer(t("sent_privately"))
                return
        hint = t("open_private_chat", bot=f"@{context.bot.username}")
        body = alert.strip()
        if len(body) + len(hint) + 2 > ALERT_LIMIT:
            body = body[: max(0, ALERT_LIMIT - len(hint) - 3)].rstrip() + "…"
        await press.query.answer(f"{body}\n\n{hint}" if body else hint, show_alert=True)
