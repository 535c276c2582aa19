"""A chat's channel settings in its admin's private chat: /channels -> the chat -> Settings.

Switches flip at a press; a text setting is asked for with a question the admin answers by
replying (ForceReply); the answer is previewed on the newest story the chat would get with
it and saved only on Confirm. Every press and every answer that may change the chat is
verified with Telegram (getChatMember of that person, at that moment), as the /channels
toggles are (channels.py); a chat the config manages refuses every change.
"""

from __future__ import annotations

import logging

from telegram import ForceReply, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.domain.channel_rules import DeskSettings
from bot.entrypoints.telegram import keyboards
from bot.entrypoints.telegram.handlers.channels import ChannelHandlers
from bot.entrypoints.telegram.handlers.common import PromptGate, edit_html, plain
from bot.entrypoints.telegram.handlers.presses import press_of
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.outbound.i18n import Translator
from bot.outbound.send import deliver
from bot.services.channel_settings import (
    APPROVAL,
    FILTERS,
    FORMAT_SWITCHES,
    FORMAT_TEXTS,
    QUIET_MODE,
    ROUNDUP,
    SWITCHES,
    TEXT_SETTINGS,
    Preview,
    SettingRefused,
    Value,
    current,
)
from storage.models import Destination
from storage.prompts import SettingPrompt

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE

# A value shown on the Settings screen is cut here (the screen is one message).
SHOWN_VALUE = 120
# Settings whose preview is a story (pace settings change when, not what or how).
STORY_PREVIEW = FILTERS + FORMAT_TEXTS


def _label(t: Translator, name: str) -> str:
    return t(f"desk_setting_{name}")


def _shown(t: Translator, setting: str, value: Value) -> str:
    if setting == "template" and isinstance(value, str):
        return t("desk_own_template", lines=value.count("\n") + 1)
    if isinstance(value, list):
        value = ", ".join(value)
    if value is None or value == "":
        return t("desk_not_set")
    text = str(value).replace("\n", " ")
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "…"


def settings_text(t: Translator, title: str, settings: DeskSettings, managed: bool) -> str:
    """The Settings screen (HTML): every text setting's value; the switches are buttons."""
    lines = [t("desk_settings_title", title=title)]
    if managed:
        lines.append(t("channel_config_managed"))
    lines.append("")
    for name in TEXT_SETTINGS:
        lines.append(f"{_label(t, name)}: {_shown(t, name, current(settings, name))}")
    return plain("\n".join(lines))


class ChannelSettingsHandlers(ChannelHandlers):
    """The Settings screen's buttons, its questions and the answers to them."""

    def __init__(self, services: BotServices) -> None:
        super().__init__(services)
        self._prompts = PromptGate()

    def _switches(self, t: Translator, settings: DeskSettings) -> list[tuple[str, str, bool]]:
        look = settings.format
        found = [(name, _label(t, name), bool(getattr(look, name))) for name in FORMAT_SWITCHES]
        mode = settings.pace.quiet_mode
        found.append((QUIET_MODE, t(f"desk_quiet_{mode}"), mode == "hold"))
        found.append((ROUNDUP, _label(t, ROUNDUP), settings.pace.roundup))
        if self.s.channel_settings.approval_offered:
            found.append((APPROVAL, _label(t, APPROVAL), settings.approval))
        return found

    async def _show(self, update: Update, t: Translator, chat: Destination) -> None:
        settings = await self.s.channel_settings.settings_of(chat.id)
        texts = [(name, _label(t, name), bool(current(settings, name))) for name in TEXT_SETTINGS]
        await edit_html(
            update,
            settings_text(t, chat.title or str(chat.chat_id), settings, settings.managed_by_config),
            keyboards.settings_screen(chat.chat_id, self._switches(t, settings), texts, t),
        )

    async def _name(self, update: Update, t: Translator, allowed: tuple[str, ...]) -> str | None:
        """The setting a button names (its second argument), if it is one of `allowed`."""
        callback = press_of(update).callback
        name = callback.arg(1) if callback else None
        if name not in allowed:
            await press_of(update).query.answer(t("stale_button"), show_alert=True)
            return None
        return name

    async def on_settings(self, update: Update, context: Context) -> None:
        """st:<chat_id> - the chat's channel settings."""
        t = await self._t(update)
        verified = await self._verified(update, t)
        if verified is None:
            return
        await press_of(update).query.answer()
        await self._show(update, t, verified[0])

    async def on_switch(self, update: Update, context: Context) -> None:
        """sw:<chat_id>:<switch> - flip a switch (approval only with a desk chat)."""
        t = await self._t(update)
        verified = await self._editable(update, t)
        offered = SWITCHES if self.s.channel_settings.approval_offered else SWITCHES[:-1]
        if verified is None or (name := await self._name(update, t, offered)) is None:
            return
        chat = verified[0]
        settings = await self.s.channel_settings.toggle(chat.id, name)
        await press_of(update).query.answer(self._switched(t, name, settings))
        await self._show(update, t, chat)

    def _switched(self, t: Translator, name: str, settings: DeskSettings) -> str:
        if name == QUIET_MODE:
            return t(f"desk_quiet_{settings.pace.quiet_mode}")
        if name == ROUNDUP:
            on = settings.pace.roundup
        else:
            on = settings.approval if name == APPROVAL else getattr(settings.format, name)
        return t("desk_switch_on" if on else "desk_switch_off", setting=_label(t, name))

    async def on_clear(self, update: Update, context: Context) -> None:
        """sx:<chat_id>:<setting> - clear a text setting."""
        t = await self._t(update)
        verified = await self._editable(update, t)
        if verified is None or (name := await self._name(update, t, TEXT_SETTINGS)) is None:
            return
        await self.s.channel_settings.clear(verified[0].id, name)
        await press_of(update).query.answer(t("desk_cleared", setting=_label(t, name)))
        await self._show(update, t, verified[0])

    async def on_ask(self, update: Update, context: Context) -> None:
        """sp:<chat_id>:<setting> - ask for a text setting; the reply to the question is it."""
        t = await self._t(update)
        verified = await self._editable(update, t)
        if verified is None or (name := await self._name(update, t, TEXT_SETTINGS)) is None:
            return
        chat, presser = verified[0], press_of(update).presser
        now = current(await self.s.channel_settings.settings_of(chat.id), name)
        question = "\n\n".join(
            (
                t("desk_prompt", setting=_label(t, name), title=chat.title or str(chat.chat_id)),
                t(f"desk_hint_{name}"),
                t("desk_now", value=_shown(t, name, now)),
            )
        )
        async with self._prompts.of(presser.id):
            sent = await context.bot.send_message(
                presser.id,
                plain(question),
                reply_markup=ForceReply(input_field_placeholder=_label(t, name)[:64]),
            )
            await self.s.channel_settings.ask(
                chat_id=presser.id,
                message_id=sent.message_id,
                user_id=presser.id,
                destination_id=chat.id,
                setting=name,
            )
        await press_of(update).query.answer()

    async def on_reply(self, update: Update, context: Context) -> None:
        """A reply in a private chat: the answer to a setting's question, if it is one.

        Other replies (the editors' headlines, stray ones) go on to the next handler group."""
        message = update.message
        if message is None or message.reply_to_message is None or message.from_user is None:
            return
        async with self._prompts.of(message.chat.id):  # a question being recorded is waited for
            prompt = await self.s.channel_settings.prompt(
                message.chat.id, message.reply_to_message.message_id
            )
        if prompt is None:
            return
        try:
            await self._answered(update, context, prompt, message.text or "")
        except Exception as exc:  # the one error handler answers; no other group does
            await context.application.process_error(update, exc)
        raise ApplicationHandlerStop

    async def _answered(
        self, update: Update, context: Context, prompt: SettingPrompt, text: str
    ) -> None:
        message = update.message
        assert message is not None and message.from_user is not None
        t = await self._t(update)
        if message.from_user.id != prompt.user_id:
            await message.reply_text(plain(t("desk_prompt_not_yours")))
            return
        chat = await self.s.admins.verified_chat(prompt.target_chat_id, prompt.user_id)
        if chat is None:
            await message.reply_text(plain(t("not_admin_anymore")))
            return
        if await self.s.admins.config_managed(chat):
            await message.reply_text(plain(t("channel_config_managed")))
            return
        label = _label(t, prompt.setting)
        try:
            preview = await self.s.channel_settings.answer(prompt, text)
        except SettingRefused as exc:
            reason = exc.reason or t(f"desk_hint_{prompt.setting}")
            await message.reply_text(plain(t("desk_refused", setting=label, reason=reason)))
            return
        await self._preview(context, message.chat.id, prompt, preview)
        value = current(preview.settings, prompt.setting)
        lines = [t("desk_confirm", setting=label, value=_shown(t, prompt.setting, value))]
        if prompt.setting in STORY_PREVIEW:
            lines.append(t("desk_preview_above" if preview.message else "desk_nothing_matches"))
        await message.reply_text(
            plain("\n\n".join(lines)), reply_markup=keyboards.confirm_setting(prompt.message_id, t)
        )

    async def _preview(
        self, context: Context, chat_id: int, prompt: SettingPrompt, preview: Preview
    ) -> None:
        """The story as the chat would get it with the new setting, sent to the admin."""
        if prompt.setting not in STORY_PREVIEW or preview.message is None:
            return
        try:
            await deliver(context.bot, chat_id, preview.message)
        except TelegramError as exc:  # the question and its buttons still go out
            log.info("setting preview to %s failed: %s", chat_id, exc.message)

    async def on_decision(self, update: Update, context: Context) -> None:
        """sk:<ok|no>:<message_id> - save or drop the answer to that question."""
        press = press_of(update)
        t = await self._t(update)
        callback = press.callback
        decision = callback.arg(0) if callback else None
        message_id = callback.int_arg(1) if callback else None
        if decision not in ("ok", "no") or message_id is None or not press.in_own_private_chat:
            await press.query.answer(t("stale_button"), show_alert=True)
            return
        prompt = await self.s.channel_settings.prompt(press.presser.id, message_id)
        if prompt is None or prompt.user_id != press.presser.id or prompt.value is None:
            await press.query.answer(t("desk_prompt_closed"), show_alert=True)
            return
        label = _label(t, prompt.setting)
        if decision == "no":
            await self.s.channel_settings.cancel(prompt)
            await press.query.answer()
            await edit_html(update, plain(t("desk_cancelled", setting=label)))
            return
        chat = await self.s.admins.verified_chat(prompt.target_chat_id, press.presser.id)
        if chat is None:
            await press.query.answer(t("not_admin_anymore"), show_alert=True)
            return
        if await self.s.admins.config_managed(chat):
            await press.query.answer(t("channel_config_managed"), show_alert=True)
            return
        if await self.s.channel_settings.confirm(prompt) is None:
            await press.query.answer(t("desk_prompt_closed"), show_alert=True)
            return
        await press.query.answer(t("desk_saved", setting=label))
        title = chat.title or str(chat.chat_id)
        await edit_html(update, plain(t("desk_saved_in", setting=label, title=title)))
