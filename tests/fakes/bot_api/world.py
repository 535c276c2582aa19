"""The fake's world: chats and who is in them (members, the bot's own status and rights,
forum topics), users, stored messages and the queue of updates the bot will get.

Tests set the world up here (register a chat, block a user, migrate a group); the Bot API
methods and the playing users read and change the same state."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.bot_api.values import FakeChat, FakeUser
from tests.fakes.bot_api.vocabulary import DEFAULT_UPDATE_TYPES


@dataclass
class _ChatState:
    chat: FakeChat
    bot_status: str = "member"  # creator/administrator/member/left/kicked (non-private)
    bot_can_post: bool = True
    blocked: bool = False  # private chats: the user blocked the bot
    started: bool = False  # private chats: the user has written to the bot
    migrated_to: int | None = None
    members: dict[int, dict[str, Any]] = field(default_factory=dict)  # ChatMember JSON
    next_message_id: int = 1
    bot_can_manage_topics: bool = False  # forums: the bot's administrator right
    topics: dict[int, _Topic] = field(default_factory=dict)  # forums: by message_thread_id


@dataclass
class _Topic:
    name: str
    closed: bool = False
    deleted: bool = False


class WorldMixin:
    """Setting up the world, and the helpers every other part uses to read and change it.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def register_chat(
        self,
        chat: FakeChat,
        *,
        bot_status: str | None = None,
        can_post: bool = True,
        admins: Iterable[FakeUser] = (),
    ) -> None:
        """Make a chat exist.  The bot is an administrator of channels, a member of groups
        unless ``bot_status`` says otherwise; ``admins`` become administrators."""
        with self._lock:
            state = self._chat_state(chat)
            if bot_status is None:
                bot_status = "administrator" if chat.type == "channel" else "member"
            state.bot_status = bot_status
            state.bot_can_post = can_post
            for admin in admins:
                self._remember_user(admin)
                state.members[admin.id] = _member_json(admin.to_api(), "administrator", chat)

    def register_group(
        self, chat_id: int, *, title: str | None = None, supergroup: bool = False
    ) -> FakeChat:
        """Shortcut: a (super)group with the bot as a plain member."""
        chat = FakeChat(chat_id, "supergroup" if supergroup else "group", title)
        self.register_chat(chat)
        return chat

    def add_topic(self, chat: FakeChat, name: str) -> int:
        """A person creates a topic in the forum ``chat``; its message_thread_id."""
        with self._lock:
            state = self._chat_state(chat)
            thread = self._new_message_id(state)
            state.topics[thread] = _Topic(name)
            return thread

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        """An admin closes a topic: sends into it answer 400 TOPIC_CLOSED."""
        with self._lock:
            self._chats[chat_id].topics[thread_id].closed = True

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """An admin deletes a topic: sends into it answer 400 "message thread not found"."""
        with self._lock:
            self._chats[chat_id].topics[thread_id].deleted = True

    def topics(self, chat_id: int) -> dict[int, str]:
        """The forum's open topics, message_thread_id -> name."""
        with self._lock:
            state = self._chats.get(chat_id)
            found = state.topics.items() if state else ()
            return {t: topic.name for t, topic in found if not (topic.closed or topic.deleted)}

    def set_member(
        self,
        chat: FakeChat,
        user: FakeUser,
        status: str,
        *,
        can_post_messages: bool | None = None,
        can_manage_chat: bool = True,
        can_manage_topics: bool | None = None,
    ) -> None:
        """Set what getChatMember answers for ``user`` in ``chat`` (creator, administrator,
        member, restricted, left or kicked).  Using the bot's own id changes the bot
        (``can_manage_topics``: its right to create topics in a forum)."""
        if status not in {"creator", "administrator", "member", "restricted", "left", "kicked"}:
            raise ValueError(f"unknown chat member status {status!r}")
        with self._lock:
            state = self._chat_state(chat)
            if user.id == self.bot_id:
                state.bot_status = status
                if can_post_messages is not None:
                    state.bot_can_post = can_post_messages
                if can_manage_topics is not None:
                    state.bot_can_manage_topics = can_manage_topics
                return
            self._remember_user(user)
            state.members[user.id] = _member_json(
                user.to_api(),
                status,
                state.chat,
                can_post_messages=can_post_messages,
                can_manage_chat=can_manage_chat,
                can_manage_topics=bool(can_manage_topics),
            )

    def block(self, chat_id: int) -> None:
        """From now on sends to ``chat_id`` answer 403 (user blocked the bot / bot kicked)."""
        with self._lock:
            state = self._chats.get(chat_id)
            if state is None:
                if chat_id < 0:
                    raise ValueError(f"chat {chat_id} is unknown: register_chat() it first")
                state = self._private_state(chat_id)
            if state.chat.type == "private":
                state.blocked = True
            else:
                state.bot_status = "kicked"

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block` for a private chat."""
        with self._lock:
            state = self._chats.get(chat_id)
            if state is not None:
                state.blocked = False

    def migrate(self, chat_id: int, new_chat_id: int, *, actor: FakeUser | None = None) -> None:
        """Upgrade group ``chat_id`` to supergroup ``new_chat_id``: sends to the old id then
        answer 400 with ``migrate_to_chat_id``.  With ``actor``, also queue the service
        messages Telegram sends (``migrate_to_chat_id``/``migrate_from_chat_id``)."""
        with self._lock:
            old = self._chats.get(chat_id)
            if old is None:
                old = self._chat_state(FakeChat(chat_id, "group"))
            new_chat = FakeChat(new_chat_id, "supergroup", old.chat.title, old.chat.username)
            new = self._chat_state(new_chat)
            new.bot_status, new.bot_can_post = old.bot_status, old.bot_can_post
            new.members = copy.deepcopy(old.members)
            old.migrated_to = new_chat_id
            if actor is not None:
                self._remember_user(actor)
                sender = actor.to_api()
                self._queue_message(old, sender, {"migrate_to_chat_id": new_chat_id})
                self._queue_message(new, sender, {"migrate_from_chat_id": chat_id})

    def register_file_id(self, file_id: str) -> None:
        """Make ``file_id`` a file Telegram knows (sendPhoto rejects unknown ids)."""
        with self._lock:
            self._file_ids.add(file_id)

    def set_allowed_updates(self, allowed: Iterable[str] | None) -> None:
        """Pretend an earlier getUpdates set ``allowed_updates`` (None/[] = default)."""
        with self._lock:
            self._allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES

    def _remember_user(self, user: FakeUser) -> None:
        self._users[user.id] = user

    def _bot_api_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _chat_state(self, chat: FakeChat, *, bot_status_if_new: str | None = None) -> _ChatState:
        """The state of ``chat``, created on first mention (the bot then is an admin of a
        channel, a member of a group, unless ``bot_status_if_new`` says otherwise)."""
        state = self._chats.get(chat.id)
        if state is None:
            if chat.type == "private":
                return self._private_state(chat.id)
            default = "administrator" if chat.type == "channel" else "member"
            state = _ChatState(chat, bot_status=bot_status_if_new or default)
            self._chats[chat.id] = state
        elif state.chat != chat and chat.type != "private":
            state.chat = chat
        return state

    def _private_state(self, user_id: int) -> _ChatState:
        state = self._chats.get(user_id)
        if state is None:
            user = self._users.get(user_id)
            state = _ChatState(
                FakeChat(
                    user_id,
                    "private",
                    user.first_name if user else None,
                    user.username if user else None,
                )
            )
            self._chats[user_id] = state
        return state

    def _chat_json(self, state: _ChatState) -> dict[str, Any]:
        if state.chat.type == "private":
            user = self._users.get(state.chat.id)
            data = state.chat.to_api(first_name=user.first_name if user else None)
            if user is not None and user.last_name:
                data["last_name"] = user.last_name
            return data
        return state.chat.to_api()

    def _bot_member(self, state: _ChatState) -> dict[str, Any]:
        return _member_json(
            self._bot_api_user(),
            state.bot_status,
            state.chat,
            can_post_messages=state.bot_can_post,
            can_manage_topics=state.bot_can_manage_topics,
            bot=True,
        )

    def _new_message_id(self, state: _ChatState) -> int:
        message_id = state.next_message_id
        state.next_message_id += 1
        return message_id

    def _queue_message(
        self, state: _ChatState, sender: dict[str, Any], extra: dict[str, Any]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._new_message_id(state),
            "date": int(time.time()),
            "chat": self._chat_json(state),
        }
        if state.chat.type == "channel":
            message["sender_chat"] = state.chat.to_api()
            kind = "channel_post"
        else:
            message["from"] = sender
            kind = "message"
        message.update(extra)
        self._messages[(state.chat.id, message["message_id"])] = message
        self._enqueue(kind, copy.deepcopy(message))
        return message

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), kind: payload}
        if kind not in self._allowed:
            # Telegram decides at creation time, with the allowed_updates then in force.
            self.dropped_updates.append(update)
            return
        self._updates.append(update)
        self._notify()

    def _notify(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_pollers)

    def _wake_pollers(self) -> None:
        for event in list(self._poll_waiters):
            event.set()


def _member_json(
    user: dict[str, Any],
    status: str,
    chat: FakeChat,
    *,
    can_post_messages: bool | None = None,
    can_manage_chat: bool = True,
    can_manage_topics: bool = False,
    bot: bool = False,
) -> dict[str, Any]:
    """A ChatMember object of the given status with every field PTB requires."""
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        data: dict[str, Any] = {
            "status": "administrator",
            "user": user,
            "can_be_edited": bot,
            "is_anonymous": False,
            "can_manage_chat": can_manage_chat,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": not bot,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": True,
            "can_edit_stories": True,
            "can_delete_stories": True,
        }
        if chat.type == "channel":
            data["can_post_messages"] = True if can_post_messages is None else can_post_messages
            data["can_edit_messages"] = True
        else:
            data["can_pin_messages"] = True
            if chat.type == "supergroup":
                data["can_manage_topics"] = can_manage_topics
        return data
    if status == "member":
        return {"status": "member", "user": user}
    if status == "restricted":
        flags = (
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_send_messages",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_manage_topics",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_edit_tag",
        )
        return {
            "status": "restricted",
            "user": user,
            "is_member": True,
            "until_date": 0,
            **dict.fromkeys(flags, False),
        }
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    return {"status": "left", "user": user}
