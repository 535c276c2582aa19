"""Channel and group admins: the bot being added or removed, /channels, and the toggles of
a chat's topics, breaking news and editions.

Every press re-verifies the presser's rights with Telegram (getChatMember) at that moment.
"""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, Update, User
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.entrypoints.telegram import keyboards
from bot.entrypoints.telegram.handlers.common import edit_html, plain, reply_plain, user_language
from bot.entrypoints.telegram.handlers.presses import press_of
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.outbound.callbacks import Callback
from bot.outbound.i18n import Translator, language_name
from bot.services.readers import ChatState, EditionToggle
from storage.destinations import ChatInfo
from storage.models import Destination

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE

GONE = (ChatMember.LEFT, ChatMember.BANNED)


def can_manage_topics(member: ChatMember) -> bool:
    """May the bot create topics in a forum (its administrator rights; the owner may)?"""
    if member.status == ChatMember.OWNER:
        return True
    return bool(getattr(member, "can_manage_topics", False))


class ChannelHandlers:
    def __init__(self, services: BotServices) -> None:
        self.s = services

    async def _t(self, update: Update) -> Translator:
        user = update.effective_user
        language = (
            await self.s.readers.language_of(user.id, user_language(update)) if user else None
        )
        return self.s.translator(language)

    async def on_membership(self, update: Update, context: Context) -> None:
        """The bot was added to, promoted in, demoted in or removed from a chat."""
        change = update.my_chat_member
        if change is None:
            return
        chat, status = change.chat, change.new_chat_member.status
        if chat.type == Chat.PRIVATE:
            if status in GONE:
                await self.s.admins.bot_left(chat.id, "blocked by the user")
            return
        can_post = status == ChatMember.ADMINISTRATOR or (
            chat.type != Chat.CHANNEL and status == ChatMember.MEMBER
        )
        if not can_post:
            reason = "bot removed" if status in GONE else "bot may no longer post"
            await self.s.admins.bot_left(chat.id, reason)
            return
        await self.s.admins.bot_joined(
            ChatInfo(
                chat_id=chat.id,
                kind=chat.type,
                title=chat.title,
                added_by=change.from_user.id,
                # A channel or group first reads the edition of its adder's language.
                editions=(await self._adders_edition(change.from_user),),
                is_forum=bool(chat.is_forum),
                can_manage_topics=can_manage_topics(change.new_chat_member),
            )
        )
        if change.old_chat_member.status in (*GONE, ChatMember.MEMBER):
            await self._tell_adder(update, context, chat.title or str(chat.id))

    async def _adders_edition(self, adder: User) -> str:
        language = await self.s.readers.language_of(adder.id, adder.language_code)
        return self.s.readers.edition_for(language)

    async def _tell_adder(self, update: Update, context: Context, title: str) -> None:
        """If the person who added the bot has a private chat with it, say how to go on."""
        change = update.my_chat_member
        assert change is not None
        t = await self._t(update)
        try:
            await context.bot.send_message(
                change.from_user.id, plain(t("bot_added_to_channel", title=title))
            )
        except TelegramError as exc:  # they never started the bot: nothing to do
            log.info("could not tell user about the new chat: %s", exc.message)

    async def note_contact(self, update: Update, context: Context) -> None:
        """Any command in a private chat: its user can be told there about their chats."""
        chat = update.effective_chat
        if chat is not None and chat.type == Chat.PRIVATE:
            await self.s.readers.reachable(chat.id, user_language(update))

    async def channels(self, update: Update, context: Context) -> None:
        """The channels and groups this person may manage, verified with Telegram now."""
        t = await self._t(update)
        user = update.effective_user
        if update.effective_chat is None or update.effective_chat.type != Chat.PRIVATE or not user:
            await reply_plain(update, t("channels_none"))
            return
        chats = await self.s.admins.manageable_chats(user.id)
        if not chats:
            await reply_plain(update, t("channels_none"))
            return
        await reply_plain(
            update,
            t("channels_title"),
            keyboards.channel_list(
                (chat.chat_id, chat.title or str(chat.chat_id)) for chat in chats
            ),
        )

    async def _verified(self, update: Update, t: Translator) -> tuple[Destination, Callback] | None:
        press = press_of(update)
        query, callback = press.query, press.callback
        chat_id = callback.int_arg(0) if callback else None
        # The settings screen lives in the admin's private chat: pressed anywhere else (a
        # channel post, a group), the edit would overwrite that chat's message.
        if callback is None or chat_id is None or not press.in_own_private_chat:
            await query.answer(t("stale_button"), show_alert=True)
            return None
        chat = await self.s.admins.verified_chat(chat_id, press.presser.id)
        if chat is None:
            await query.answer(t("not_admin_anymore"), show_alert=True)
            return None
        return chat, callback

    async def _editable(self, update: Update, t: Translator) -> tuple[Destination, Callback] | None:
        """As `_verified`, and refused when the config manages the chat (its source of truth)."""
        verified = await self._verified(update, t)
        if verified is None:
            return None
        if await self.s.admins.config_managed(verified[0]):
            await press_of(update).query.answer(t("channel_config_managed"), show_alert=True)
            return None
        return verified

    async def _state(self, chat: Destination) -> ChatState:
        return await self.s.readers.state(chat.chat_id, chat.kind, chat.title)

    async def _show_settings(self, update: Update, t: Translator, chat: Destination) -> None:
        state = await self._state(chat)
        await edit_html(
            update,
            plain(t("channel_topics_title", title=chat.title or str(chat.chat_id))),
            keyboards.channel_settings(
                chat.chat_id,
                self.s.settings.sections,
                state.sections,
                state.breaking,
                t,
                editions=self.s.readers.editions,
                reading=state.editions,
            ),
        )

    async def on_open(self, update: Update, context: Context) -> None:
        """ch:<chat_id> - a channel's topics and breaking-news toggle."""
        t = await self._t(update)
        verified = await self._verified(update, t)
        if verified is None:
            return
        await update.callback_query.answer()  # type: ignore[union-attr]
        await self._show_settings(update, t, verified[0])

    async def on_section(self, update: Update, context: Context) -> None:
        """cs:<chat_id>:<slug> - toggle one section for that channel or group."""
        t = await self._t(update)
        verified = await self._editable(update, t)
        if verified is None:
            return
        chat, callback = verified
        slug = callback.arg(1)
        if not slug or not self.s.readers.is_section(slug):
            await update.callback_query.answer(t("stale_button"), show_alert=True)  # type: ignore[union-attr]
            return
        now_on = await self.s.readers.toggle(await self._state(chat), slug)
        title = self.s.section_titles(t.language)[slug]
        await update.callback_query.answer(  # type: ignore[union-attr]
            t("subscribed" if now_on else "unsubscribed", section=title)
        )
        await self._show_settings(update, t, chat)

    async def on_breaking(self, update: Update, context: Context) -> None:
        """cb:<chat_id> - switch breaking news on or off for that channel or group."""
        t = await self._t(update)
        verified = await self._editable(update, t)
        if verified is None:
            return
        chat = verified[0]
        state = await self._state(chat)
        await self.s.readers.set_breaking(state, not state.breaking)
        await update.callback_query.answer()  # type: ignore[union-attr]
        await self._show_settings(update, t, chat)

    async def on_edition(self, update: Update, context: Context) -> None:
        """ce:<chat_id>:<code> - toggle one edition for that channel or group (never its last)."""
        t = await self._t(update)
        verified = await self._editable(update, t)
        if verified is None:
            return
        chat, callback = verified
        query = update.callback_query
        assert query is not None
        code = callback.arg(1)
        if not self.s.readers.is_edition(code):
            await query.answer(t("stale_button"), show_alert=True)
            return
        assert code is not None
        outcome = await self.s.readers.toggle_edition(await self._state(chat), code)
        name = language_name(code)
        if outcome is EditionToggle.LAST:
            await query.answer(t("edition_last", edition=name), show_alert=True)
            return
        await query.answer(
            t("edition_on" if outcome is EditionToggle.ON else "edition_off", edition=name)
        )
        await self._show_settings(update, t, chat)

    async def on_reaction_count(self, update: Update, context: Context) -> None:
        """Reactions on the bot's channel posts feed /popular."""
        counts = update.message_reaction_count
        if counts is None:
            return
        total = sum(reaction.total_count for reaction in counts.reactions)
        await self.s.newsdesk.reaction_total(counts.chat.id, counts.message_id, total)
