"""Which chats a console user administers: Telegram's word (getChatMember), briefly remembered.

The console's init data proves who the user is, never what they may do: a chat's admin is
whoever Telegram says is one (bot/services/admins.py `Admins.user_manages`). A page makes
several calls a minute, so each (chat, user) answer is kept for at most CACHE_SECONDS: an
admin demoted during a session is refused within that time, and a page costs one Bot API
call per chat a minute, not one per request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from time import monotonic

from bot.services.admins import Admins
from storage import destinations as destination_queries
from storage.db import Database
from storage.models import Destination

# How long Telegram's answer about one (chat, user) is trusted (issue 24: at most 60 s).
CACHE_SECONDS = 60.0
# Answers remembered at most (the oldest forgotten first).
MAX_ANSWERS = 10_000


class ChatAdmins:
    """getChatMember answers cached per (chat, user) for `ttl` seconds."""

    def __init__(
        self,
        database: Database,
        admins: Admins,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = lambda: monotonic(),
    ) -> None:
        self._db = database
        self._admins = admins
        self._ttl = ttl
        self._clock = clock
        # (chat id, user id) -> (manages, when asked)
        self._answers: OrderedDict[tuple[int, int], tuple[bool, float]] = OrderedDict()

    async def manages(self, chat_id: int, kind: str, user_id: int) -> bool:
        """Whether Telegram says the user administers the chat (asked at most `ttl` ago)."""
        key = (chat_id, user_id)
        now = self._clock()
        known = self._answers.get(key)
        if known is not None and now - known[1] < self._ttl:
            return known[0]
        answer = await self._admins.user_manages(chat_id, kind, user_id)
        self._answers[key] = (answer, self._clock())
        self._answers.move_to_end(key)
        while len(self._answers) > MAX_ANSWERS:
            self._answers.popitem(last=False)
        return answer

    async def chats_of(self, user_id: int) -> list[Destination]:
        """The active channels and groups the bot serves (config channels included) that
        the user administers now."""
        async with self._db.sessions() as session:
            candidates = await destination_queries.candidate_channels(session, user_id)
        return [chat for chat in candidates if await self.manages(chat.chat_id, chat.kind, user_id)]

    async def verified(self, chat_id: int, user_id: int) -> Destination | None:
        """The chat if the bot serves it and the user administers it now; None otherwise
        (unknown, inactive, private, or not theirs: the caller does not say which)."""
        async with self._db.sessions() as session:
            chat = await destination_queries.get_by_chat(session, chat_id)
        if chat is None or not chat.active or chat.kind == "private":
            return None
        if not await self.manages(chat.chat_id, chat.kind, user_id):
            return None
        return chat
