"""Editors: /breaking with an exact preview, Confirm or Cancel, then a delivery report;
/console and the console's menu button (with `console_url`)."""

from __future__ import annotations

import re

from telegram import Chat, Update
from telegram.ext import ContextTypes

from bot.domain.breaking import split_link
from bot.entrypoints.telegram import keyboards
from bot.entrypoints.telegram.console_entry import set_console_button
from bot.entrypoints.telegram.handlers.common import (
    edit_html,
    plain,
    reply_html,
    reply_plain,
    user_language,
)
from bot.entrypoints.telegram.handlers.presses import press_of
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.outbound.i18n import Translator
from bot.outbound.render import render_breaking
from bot.outbound.reports import render_failure_reasons
from bot.outbound.send import deliver

Context = ContextTypes.DEFAULT_TYPE

# "/breaking" (or "/breaking@bot") and the space or line break after it.
COMMAND = re.compile(r"^\S*\s?")


def _label(edition: str) -> str:
    """A version's label in the preview: the language's own name and its code."""
    name = keyboards.LANGUAGE_NAMES.get(edition)
    return f"{name} · {edition}" if name else edition


class EditorHandlers:
    def __init__(self, services: BotServices) -> None:
        self.s = services

    async def _t(self, update: Update) -> Translator:
        user = update.effective_user
        language = (
            await self.s.readers.language_of(user.id, user_language(update)) if user else None
        )
        return self.s.translator(language)

    async def breaking(self, update: Update, context: Context) -> None:
        """Draft breaking news and show the editor exactly what subscribers will get."""
        t = await self._t(update)
        user, chat, message = update.effective_user, update.effective_chat, update.effective_message
        if (
            user is None
            or chat is None
            or message is None
            or not self.s.breaking.is_editor(user.id)
        ):
            await reply_plain(update, t("breaking_not_editor"))
            return
        if chat.type != Chat.PRIVATE:
            await reply_plain(update, t("breaking_not_editor"))
            return
        # The text starts after the command's first space or line break: a draft in
        # versions puts its first `kk: …` on the line after /breaking.
        raw = COMMAND.sub("", message.text or "", count=1)
        draft = split_link(raw, self.s.settings.editions)
        if not draft.text:
            await reply_plain(update, t("breaking_needs_text"))
            return
        # Registered like any reader's chat, so the later report speaks the editor's language.
        await self.s.readers.state(chat.id, chat.type, user_language=user_language(update))
        alert = await self.s.breaking.draft(user.id, chat.id, draft)
        # Each version exactly as its readers get it, labelled when there are several.
        for edition, text in draft.versions():
            label = _label(edition) if edition else None
            await deliver(context.bot, chat.id, render_breaking(text, draft.link, t=t, label=label))
        await reply_plain(
            update, t("breaking_preview_title"), keyboards.confirm_breaking(alert.id, t)
        )

    async def failures(self, update: Update, context: Context) -> None:
        """/failures - deliveries that failed in the last day, by Telegram's reason."""
        t = await self._t(update)
        user = update.effective_user
        if not self.s.breaking.is_editor(user.id if user else None):
            await reply_plain(update, t("breaking_not_editor"))
            return
        reasons = await self.s.breaking.recent_failures()
        if not reasons:
            await reply_plain(update, t("failures_none"))
            return
        await reply_html(
            update, plain(t("failures_title")) + "\n" + render_failure_reasons(reasons, t)
        )

    async def console(self, update: Update, context: Context) -> None:
        """/console - the console's button (registered only with `console_url`). Its web_app
        button works in private chats only; part 2 opens the console to channel admins."""
        url = self.s.settings.console_url
        if url is None:
            return
        t = await self._t(update)
        user, chat = update.effective_user, update.effective_chat
        if chat is None or chat.type != Chat.PRIVATE:
            await reply_plain(update, t("console_private_only"))
            return
        if not self.s.breaking.is_editor(user.id if user else None):
            await reply_plain(update, t("console_not_editor"))
            return
        await reply_plain(update, t("console_open"), keyboards.open_console(url, t))

    async def console_menu(self, update: Update, context: Context) -> None:
        """/start from an editor (a handler group after the welcome): the console's menu
        button again, in the language the chat now has. Start-up's attempt fails for an
        editor who had never started the bot; this is when they can get it."""
        user, url = update.effective_user, self.s.settings.console_url
        if user is None or url is None or not self.s.breaking.is_editor(user.id):
            return
        t = await self._t(update)
        await set_console_button(context.bot, user.id, url, t("console_button"))

    async def on_decision(self, update: Update, context: Context) -> None:
        """bk:ok:<id> / bk:no:<id> - only an editor's press counts, and only once."""
        press = press_of(update)
        query, callback = press.query, press.callback
        t = await self._t(update)
        alert_id = callback.int_arg(1) if callback else None
        decision = callback.arg(0) if callback else None
        if not self.s.breaking.is_editor(press.presser.id):
            await query.answer(t("breaking_not_editor"), show_alert=True)
            return
        # The draft's buttons live in the editor's private chat; pressed on any other message
        # (a channel post), the report would overwrite that message.
        if alert_id is None or decision not in ("ok", "no") or not press.in_own_private_chat:
            await query.answer(t("stale_button"), show_alert=True)
            return
        if decision == "no":
            cancelled = await self.s.breaking.cancel(alert_id)
            await query.answer()
            await edit_html(
                update, plain(t("breaking_cancelled" if cancelled else "breaking_already_handled"))
            )
            return
        queued = await self.s.breaking.confirm(alert_id)
        await query.answer()
        if queued is None:
            await edit_html(update, plain(t("breaking_already_handled")))
            return
        await edit_html(update, plain(t("breaking_sending", chats=t.plural("chats_count", queued))))
        self.s.wake_delivery()
