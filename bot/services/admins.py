"""Who may manage a channel's or group's topics: always asked of Telegram, at that moment.

Callback data and our own records are never trusted for rights: a forged or replayed button
from someone who is no longer an administrator changes nothing.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from telegram import Bot, ChatMember, ChatMemberAdministrator, ChatMemberOwner
from telegram.error import TelegramError

from storage import channel_rules as desk_queries
from storage import destinations as destination_queries
from storage import topics as topic_queries
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Destination

log = logging.getLogger(__name__)

ACTIVE_STATUSES = (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def may_post(member: ChatMember, kind: str) -> bool:
    """An owner, or an administrator who may post (channels) or manage the chat (groups)."""
    if isinstance(member, ChatMemberOwner):
        return True
    if isinstance(member, ChatMemberAdministrator):
        return bool(member.can_post_messages) if kind == "channel" else True
    return False


class TopicPick(enum.Enum):
    PICKED = "picked"
    NOT_ADMIN = "not_admin"
    CONFIG_MANAGED = "config_managed"


class Admins:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._bot = bot
        self._clock = clock
        # Whether each supergroup seen in an update is a forum, as last written.
        self._forums: dict[int, bool] = {}

    async def saw_supergroup(self, chat_id: int, is_forum: bool) -> None:
        """Telegram says in every update from a supergroup whether it is a forum. A group
        that turned topics on after the bot joined (no membership change tells the bot)
        starts posting into its sections' topics from its next update on; one that turned
        them off goes back to plain posts. Written when it changes, not on every update."""
        if self._forums.get(chat_id) == is_forum:
            return
        async with self._db.writing(), self._db.sessions.begin() as session:
            await topic_queries.set_forum(session, chat_id, is_forum=is_forum)
        self._forums[chat_id] = is_forum

    async def user_manages(self, chat_id: int, kind: str, user_id: int) -> bool:
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.info("rights check in chat %s failed: %s", chat_id, exc)
            return False
        return may_post(member, kind)

    async def bot_can_post(self, chat_id: int, kind: str) -> bool:
        try:
            member = await self._bot.get_chat_member(chat_id, self._bot.id)
        except TelegramError:
            return False
        if kind == "channel":
            return may_post(member, kind)
        return member.status in (*ACTIVE_STATUSES, ChatMember.MEMBER)

    async def manageable_chats(self, user_id: int) -> list[Destination]:
        """Channels and groups where the bot may post AND the user is an admin who may post."""
        async with self._db.sessions() as session:
            candidates = await destination_queries.candidate_channels(session, user_id)
        found: list[Destination] = []
        for chat in candidates:
            if await self.user_manages(chat.chat_id, chat.kind, user_id) and (
                await self.bot_can_post(chat.chat_id, chat.kind)
            ):
                found.append(chat)
        return found

    async def verified_chat(self, chat_id: int, user_id: int) -> Destination | None:
        """The chat if it is registered and active and the user manages it right now."""
        async with self._db.sessions() as session:
            chat = await destination_queries.get_by_chat(session, chat_id)
        if chat is None or not chat.active or chat.kind == "private":
            return None
        if not await self.user_manages(chat.chat_id, chat.kind, user_id):
            return None
        return chat

    async def config_managed(self, chat: Destination) -> bool:
        """Whether the config's [[channels]] declares this chat (its admins may not edit it)."""
        async with self._db.sessions() as session:
            return await desk_queries.is_config_managed(session, chat.id)

    async def bot_joined(self, chat: ChatInfo) -> Destination:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await destination_queries.ensure_destination(session, chat, self._clock())

    async def bot_left(self, chat_id: int, reason: str) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await destination_queries.deactivate(session, chat_id, reason, self._clock())

    async def pick_topic(
        self, chat_id: int, user_id: int, section: str, thread_id: int | None
    ) -> TopicPick:
        """An admin picks the forum topic a section posts into (None: the bot's own again),
        verified with Telegram now; a chat the config manages takes its topics from there."""
        return await self.pick_topics(chat_id, user_id, {section: thread_id})

    async def pick_topics(
        self, chat_id: int, user_id: int, picks: Mapping[str, int | None]
    ) -> TopicPick:
        """Several sections' picks at once (the console's form), as `pick_topic` makes one:
        the admin verified once with Telegram now, every pick stored in one write."""
        chat = await self.verified_chat(chat_id, user_id)
        if chat is None:
            return TopicPick.NOT_ADMIN
        if await self.config_managed(chat):
            return TopicPick.CONFIG_MANAGED
        async with self._db.writing(), self._db.sessions.begin() as session:
            # Only a forum has topics to pick in: it is one, whatever was known before.
            await topic_queries.set_forum(session, chat_id, is_forum=True)
            for section, thread_id in picks.items():
                await topic_queries.pick_topic(session, chat.id, section, thread_id, self._clock())
        return TopicPick.PICKED
