"""/topic in a forum supergroup: an admin picks the topic a section's stories go to.

Sent inside the topic ("/topic parliament"), it makes that topic the section's; "/topic
parliament off" gives the section back to the bot's own topic. The sender's rights are
verified with Telegram at that moment (bot/services/admins.py). Every update from a
supergroup also says whether it is a forum: a group that turns topics on later is noticed.
"""

from __future__ import annotations

from telegram import Chat, Update
from telegram.ext import ContextTypes

from bot.entrypoints.telegram.handlers.common import reply_plain, user_language
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.services.admins import TopicPick

Context = ContextTypes.DEFAULT_TYPE
OFF = "off"


class TopicHandlers:
    def __init__(self, services: BotServices) -> None:
        self.s = services

    async def observe(self, update: Update, context: Context) -> None:
        """Any update from a supergroup: whether it is a forum now (see Admins.saw_supergroup)."""
        chat = update.effective_chat
        if chat is not None and chat.type == Chat.SUPERGROUP:
            await self.s.admins.saw_supergroup(chat.id, bool(chat.is_forum))

    async def pick(self, update: Update, context: Context) -> None:
        """/topic <section> [off], in a forum's topic: the section's stories go there."""
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or user is None:
            return
        t = self.s.translator(await self.s.readers.language_of(user.id, user_language(update)))
        args = context.args or []
        section = self.s.settings.section(args[0]) if args else None
        thread = message.message_thread_id if message.is_topic_message else None
        off = len(args) > 1 and args[1].lower() == OFF
        if chat.type != Chat.SUPERGROUP or not chat.is_forum or section is None:
            await reply_plain(update, t("topic_usage", sections=self.s.slugs()))
            return
        if thread is None and not off:
            await reply_plain(update, t("topic_usage", sections=self.s.slugs()))
            return
        picked = await self.s.admins.pick_topic(
            chat.id, user.id, section.slug, None if off else thread
        )
        title = section.title_in(t.language)
        match picked:
            case TopicPick.PICKED:
                key = "topic_unpicked" if off else "topic_picked"
                await reply_plain(update, t(key, section=title))
            case TopicPick.CONFIG_MANAGED:
                await reply_plain(update, t("channel_config_managed"))
            case TopicPick.NOT_ADMIN:
                await reply_plain(update, t("group_admins_only"))
