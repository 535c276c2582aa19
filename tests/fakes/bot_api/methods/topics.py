"""Forum topics: which topic a send goes to (refused when deleted or closed), and
createForumTopic with its rights and title checks."""

from __future__ import annotations

from typing import Any

from tests.fakes.bot_api.values import _bad
from tests.fakes.bot_api.world import _ChatState, _Topic


class TopicMethods:
    """A send's ``message_thread_id``, and createForumTopic.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    def _topic_of(self, state: _ChatState, params: dict[str, Any]) -> dict[str, Any]:
        """A send's forum topic (``message_thread_id``) as the message's fields, with
        Telegram's refusals: a topic that is not there (never was, or deleted) or closed."""
        thread = params.get("message_thread_id")
        if thread is None:
            return {}
        topic = state.topics.get(thread) if state.chat.is_forum else None
        if topic is None or topic.deleted:
            raise _bad("message thread not found")
        if topic.closed:
            raise _bad("TOPIC_CLOSED")
        return {"message_thread_id": thread, "is_topic_message": True}

    def _api_create_forum_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._writable_chat(params.get("chat_id"), posting=False)
        if state.chat.type != "supergroup" or not state.chat.is_forum:
            raise _bad("the chat is not a forum")
        if not (
            state.bot_status == "creator"
            or (state.bot_status == "administrator" and state.bot_can_manage_topics)
        ):
            raise _bad("not enough rights to create a topic")
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("TOPIC_TITLE_EMPTY")
        if len(name) > 128:
            raise _bad("TOPIC_TITLE_TOO_LONG")
        # A topic's id is the id of its "topic created" service message.
        thread = self._new_message_id(state)
        state.topics[thread] = _Topic(name)
        self.topics_created.append((state.chat.id, thread, name))
        return {"message_thread_id": thread, "name": name, "icon_color": 7322096}
