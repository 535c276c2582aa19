"""The editors' desk chat: Approve, Skip and "Edit headline" under each story waiting for
approval, and the editor's reply that becomes the new headline.

A press is decided by the approvals service (Approvals.press, bot/services/approvals.py):
only `editors` decide, judged by the presser (callback_query.from_user) alone; anyone else is
refused and nothing changes. The desk message shown is always the recorded one (approvals.
desk_chat_id/desk_message_id), whatever message a press arrives on.
"""

from __future__ import annotations

import html

from telegram import ForceReply, ReplyParameters, Update, User
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.entrypoints.telegram.handlers.common import PromptGate, reply_plain
from bot.entrypoints.telegram.handlers.presses import Press, Presses, press_of
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.services.approvals import Editor, clean_headline

Context = ContextTypes.DEFAULT_TYPE


def editor_of(user: User) -> Editor:
    """Who decided, as `newsbot stats` and the desk message name them."""
    name = user.full_name + (f" (@{user.username})" if user.username else "")
    return Editor(user.id, name[:255])


class DeskHandlers:
    def __init__(self, services: BotServices) -> None:
        self.s = services
        self.presses = Presses(services)
        self._prompts = PromptGate()

    async def on_press(self, update: Update, context: Context) -> None:
        """ap:<ok|no|hl>:<approval id> - an editor approves, skips or edits the headline
        (decided by the approvals service; asking for the headline is this chat's part)."""
        press = press_of(update)
        t = await self.presses.presser_translator(press)
        approvals, desk = self.s.approvals, self.s.desk_poster
        if approvals is None or desk is None:
            await press.query.answer(t("desk_not_editor"), show_alert=True)
            return

        async def answer(key: str, alert: bool) -> None:
            if alert:
                await press.query.answer(t(key), show_alert=True)
            else:
                await press.query.answer(t(key))

        action = press.callback.arg(0) if press.callback else None
        approval_id = press.callback.int_arg(1) if press.callback else None
        headline = await approvals.press(
            editor_of(press.presser),
            action,
            approval_id,
            desk=desk,
            wake_delivery=self.s.wake_delivery,
            answer=answer,
        )
        if headline is not None:
            await self._ask_headline(press, context, headline.approval.id)
            await press.query.answer(t("desk_headline_asked"))

    async def _ask_headline(self, press: Press, context: Context, approval_id: int) -> None:
        """A prompt in the desk chat, replying to the preview and naming the editor (so
        ForceReply's `selective` opens the reply for them alone)."""
        approvals, desk = self.s.approvals, self.s.desk_poster
        assert approvals is not None and desk is not None
        view = await approvals.view(approval_id)
        assert view is not None
        chat_id, message_id = view.approval.desk_chat_id, view.approval.desk_message_id
        assert chat_id is not None and message_id is not None
        t = await desk.translator()
        mention = (
            f'<a href="tg://user?id={press.presser.id}">'
            f"{html.escape(press.presser.full_name, quote=False)}</a>"
        )
        async with self._prompts.of(chat_id):
            prompt = await context.bot.send_message(
                chat_id,
                f"{mention}, {html.escape(t('desk_headline_prompt'), quote=False)}",
                parse_mode=ParseMode.HTML,
                reply_parameters=ReplyParameters(message_id, allow_sending_without_reply=True),
                reply_markup=ForceReply(selective=True, input_field_placeholder=t("desk_headline")),
            )
            await approvals.ask_headline(
                approval_id, prompt.chat_id, prompt.message_id, editor_of(press.presser)
            )

    async def on_reply(self, update: Update, context: Context) -> None:
        """A reply in a group: the new headline when it answers this editor's prompt; any
        other reply is not the desk's (it returns without a word)."""
        message = update.effective_message
        approvals, desk = self.s.approvals, self.s.desk_poster
        if message is None or message.reply_to_message is None or message.from_user is None:
            return
        if approvals is None or desk is None:
            return
        async with self._prompts.of(message.chat_id):  # a prompt being recorded is waited for
            prompt = await approvals.headline_prompt(
                message.chat_id, message.reply_to_message.message_id
            )
        if prompt is None or prompt.user_id != message.from_user.id:
            return  # not a headline prompt, or not the editor it asked
        t = await desk.translator()
        if not approvals.is_editor(message.from_user.id):
            await reply_plain(update, t("desk_not_editor"))
            return
        headline = clean_headline(message.text or "")
        if not headline:
            await reply_plain(update, t("desk_headline_empty"))
            return
        view = await approvals.set_headline(prompt, headline)
        if view is None:
            await reply_plain(update, t("desk_already_decided"))
            return
        await desk.show(view, t)
        await reply_plain(update, t("desk_headline_set"))
