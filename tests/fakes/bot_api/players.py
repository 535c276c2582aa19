"""People playing against the bot: writing, replying, pressing buttons, adding the bot to a
channel or removing it, reacting, inline queries.  Each queues the update Telegram would."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.bot_api.values import FakeChat, FakeUser, SentMessage, _clone
from tests.fakes.bot_api.vocabulary import _BOT_COMMAND_IN_TEXT
from tests.fakes.bot_api.world import _member_json
from tests.fakes.telegram_html import utf16_len


class PlayersMixin:
    """What users and admins do; each method queues the update(s) it causes.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def send_message(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeChat | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """``user`` writes ``text`` (private chat unless ``chat``; in a forum, in the topic
        ``thread_id``); returns the message_id.

        Commands get Telegram's ``bot_command`` entities (offset and length in UTF-16,
        including any ``@botname`` suffix).  In a channel it becomes a ``channel_post``.
        ``reply_to``: the message_id (in that chat) it replies to, as ``reply_to_message``.
        ``chat`` may be another user's private chat (a forged or misrouted reply)."""
        with self._lock:
            self._remember_user(user)
            if chat is None or chat.type == "private":
                state = self._private_state(chat.id if chat is not None else user.id)
                state.started = True
            else:
                state = self._chat_state(chat)
            extra: dict[str, Any] = {"text": text}
            if thread_id is not None:
                extra.update(message_thread_id=thread_id, is_topic_message=True)
            entities = _command_entities(text)
            if entities:
                extra["entities"] = entities
            if reply_to is not None:
                replied = self._messages.get((state.chat.id, reply_to))
                if replied is None:
                    raise ValueError(f"no message {reply_to} in chat {state.chat.id} to reply to")
                replied = _clone(replied)
                replied.pop("reply_to_message", None)
                extra["reply_to_message"] = replied
            return self._queue_message(state, user.to_api(), extra)["message_id"]

    def answer_at_once(
        self, predicate: Callable[[SentMessage], bool], user: FakeUser, text: str
    ) -> None:
        """When the bot next sends a message matching ``predicate``, ``user``'s reply with
        ``text`` is queued and the send's answer held back ANSWER_AT_ONCE_HOLD seconds: the
        bot gets the reply before it knows the message it replies to (for races between
        asking and recording the question)."""
        with self._lock:
            self._answers_at_once.append((predicate, user, text))

    def reply_to(self, user: FakeUser, message: SentMessage, text: str) -> int:
        """``user`` replies with ``text`` to a message the bot sent (in that message's chat,
        as a ForceReply answer is); returns the reply's message_id."""
        with self._lock:
            self._remember_user(user)
            original = self._messages.get((message.chat_id, message.message_id))
            if original is None:
                raise ValueError(f"message {message.chat_id}/{message.message_id} not found")
            state = self._find_chat(message.chat_id)
            replied = _clone(original)
            replied.pop("reply_to_message", None)
            extra = {"text": text, "reply_to_message": replied}
            return self._queue_message(state, user.to_api(), extra)["message_id"]

    def press_button(
        self, user: FakeUser, message: SentMessage | dict[str, Any], callback_data: str
    ) -> str:
        """``user`` presses an inline button with ``callback_data`` under a message the bot
        sent; returns the callback query id.  Like Telegram (see the Bot API note on
        ``CallbackQuery.data``), the data is not checked against the keyboard: a modified
        client can send anything, and the bot must cope."""
        with self._lock:
            self._remember_user(user)
            if isinstance(message, SentMessage):
                key = (message.chat_id, message.message_id)
                fallback = message.message
            else:
                key = (message["chat"]["id"], message["message_id"])
                fallback = message
            current = self._messages.get(key)
            if current is None:
                if key in self.deleted:
                    raise ValueError(f"message {key} was deleted: nothing to press")
                current = fallback
            query_id = str(next(self._query_ids))
            self._callback_queries[query_id] = time.monotonic()
            self._enqueue(
                "callback_query",
                {
                    "id": query_id,
                    "from": user.to_api(),
                    "message": copy.deepcopy(current),
                    "chat_instance": str(abs(hash((key[0], self.bot_id))) % 10**18),
                    "data": callback_data,
                },
            )
            return query_id

    def add_bot_to_channel(
        self,
        admin: FakeUser,
        channel: FakeChat,
        *,
        can_post: bool = True,
        admin_status: str = "creator",
        can_manage_topics: bool = False,
    ) -> None:
        """``admin`` makes the bot an administrator of ``channel`` (any non-private chat):
        queues ``my_chat_member`` (old status -> administrator) and registers the chat with
        ``admin`` as its ``admin_status`` for getChatMember/getChatAdministrators.
        ``can_manage_topics``: the bot may create topics (a forum supergroup)."""
        with self._lock:
            self._remember_user(admin)
            state = self._chat_state(channel, bot_status_if_new="left")
            old = self._bot_member(state)
            state.bot_status = "administrator"
            state.bot_can_post = can_post
            state.bot_can_manage_topics = can_manage_topics
            state.members[admin.id] = _member_json(admin.to_api(), admin_status, state.chat)
            self._enqueue(
                "my_chat_member",
                {
                    "chat": state.chat.to_api(),
                    "from": admin.to_api(),
                    "date": int(time.time()),
                    "old_chat_member": old,
                    "new_chat_member": self._bot_member(state),
                },
            )

    def remove_bot_from_chat(
        self, actor: FakeUser, chat: FakeChat, *, kicked: bool = False
    ) -> None:
        """``actor`` removes the bot: ``my_chat_member`` to ``left`` (or ``kicked``); sends
        then answer 403 ("bot is not a member of"/"bot was kicked from" the chat)."""
        with self._lock:
            self._remember_user(actor)
            state = self._chat_state(chat)
            old = self._bot_member(state)
            state.bot_status = "kicked" if kicked else "left"
            self._enqueue(
                "my_chat_member",
                {
                    "chat": state.chat.to_api(),
                    "from": actor.to_api(),
                    "date": int(time.time()),
                    "old_chat_member": old,
                    "new_chat_member": self._bot_member(state),
                },
            )

    def react(self, chat: FakeChat, message_id: int, counts: dict[str, int]) -> None:
        """Queue a ``message_reaction_count`` update (emoji -> total count).  A key
        ``"custom:<id>"`` is a custom emoji.  Not delivered unless allowed_updates asks."""
        reactions = []
        for key, total in counts.items():
            if key.startswith("custom:"):
                kind = {"type": "custom_emoji", "custom_emoji_id": key.removeprefix("custom:")}
            else:
                kind = {"type": "emoji", "emoji": key}
            reactions.append({"type": kind, "total_count": total})
        with self._lock:
            state = self._chat_state(chat)
            self._enqueue(
                "message_reaction_count",
                {
                    "chat": state.chat.to_api(),
                    "message_id": message_id,
                    "date": int(time.time()),
                    "reactions": reactions,
                },
            )

    def inline_query(self, user: FakeUser, query: str) -> str:
        """``user`` types ``@bot query``; returns the inline query id."""
        with self._lock:
            self._remember_user(user)
            query_id = str(next(self._query_ids))
            self._inline_queries[query_id] = time.monotonic()
            self._enqueue(
                "inline_query",
                {
                    "id": query_id,
                    "from": user.to_api(),
                    "query": query,
                    "offset": "",
                    "chat_type": "sender",
                },
            )
            return query_id

    def choose_inline_result(self, user: FakeUser, result_id: str, query: str) -> None:
        """``user`` picks inline result ``result_id`` (a ``chosen_inline_result`` update)."""
        with self._lock:
            self._remember_user(user)
            self._enqueue(
                "chosen_inline_result",
                {"result_id": result_id, "from": user.to_api(), "query": query},
            )


def _command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities the way Telegram marks them in a user's message."""
    entities = []
    for match in _BOT_COMMAND_IN_TEXT.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities
