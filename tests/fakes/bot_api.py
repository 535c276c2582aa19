"""A fake Telegram Bot API server on real loopback HTTP, strict where Telegram is strict.

Why a server and not a mock: the bot under test runs the real python-telegram-bot stack
(``Application``/``ExtBot``/``HTTPXRequest``), so its request encoding, error mapping
(``BadRequest``, ``Forbidden``, ``RetryAfter``, ``ChatMigrated``...), retries and polling
loop are exercised exactly as in production.  Point PTB at ``f"{fake.base_url}/bot"``.

Why its own thread and event loop: tests use pytest-asyncio loops of any scope (and
benchmarks use none); a server living on its own loop in a daemon thread works with all
of them and keeps answering while a test's loop is blocked in synchronous code.

Why strict: the fake is how we prove the bot is correct.  It rejects what Telegram rejects
(bad HTML, over-long text counted in UTF-16, bad buttons, unknown chats, flood limits,
blocked users, migrated groups, stale callback queries) with Telegram's error texts, so a
bug that would only show in production shows here.

Also runnable standalone for benchmarks::

    python -m tests.fakes.bot_api --port 8081 --rate 30 --paid-rate 1000

which prints its URL and serves a small control API under ``/_control/`` (stats, sent
messages, playing users, chaos) so another process can drive and inspect it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import inspect
import itertools
import json
import math
import random
import re
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import web

from tests.fakes.telegram_html import HTMLParseError, parse_html, utf16_len

__all__ = [
    "ApiError",
    "FakeBotAPI",
    "FakeChat",
    "FakeUser",
    "SentMessage",
    "Upload",
]

ChatType = Literal["private", "group", "supergroup", "channel"]


def _words(*chunks: str) -> frozenset[str]:
    """A set of names written as space-separated words (keeps long tables readable)."""
    return frozenset(" ".join(chunks).split())


# Update types Telegram delivers when allowed_updates was never set (or set to []).
ALL_UPDATE_TYPES = _words(
    "message edited_message channel_post edited_channel_post business_connection ",
    "business_message edited_business_message deleted_business_messages inline_query ",
    "chosen_inline_result callback_query shipping_query pre_checkout_query ",
    "purchased_paid_media poll poll_answer my_chat_member chat_member ",
    "chat_join_request chat_boost removed_chat_boost message_reaction ",
    "message_reaction_count",
)
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

# Methods that create a message: flood limits and injected failures apply to these.
SEND_METHODS = _words(
    "sendMessage sendPhoto sendDocument sendVideo sendAnimation sendAudio sendVoice ",
    "sendMediaGroup copyMessage forwardMessage",
)
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})
# How long a send that queued an answer_at_once reply holds back its own answer.
ANSWER_AT_ONCE_HOLD = 0.3

# How form-encoded values (PTB sends non-upload requests as form data whose values are
# JSON-dumped unless they are strings) are turned back into typed values, like Telegram
# does from its own knowledge of each parameter's type.
_INT_FIELDS = _words(
    "message_id user_id offset limit timeout cache_time from_chat_id ",
    "message_thread_id until_date max_connections reply_to_message_id",
)
_BOOL_FIELDS = _words(
    "disable_notification protect_content allow_paid_broadcast ",
    "allow_sending_without_reply disable_web_page_preview show_alert ",
    "drop_pending_updates is_personal has_spoiler show_caption_above_media ",
    "for_channels only_if_banned revoke",
)
_JSON_FIELDS = _words(
    "reply_markup entities caption_entities link_preview_options allowed_updates ",
    "commands scope results reply_parameters button media reaction message_ids",
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice ",
    "upload_document choose_sticker find_location record_video_note ",
    "upload_video_note",
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_BOT_COMMAND_IN_TEXT = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


# --------------------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeUser:
    """A human playing against the bot.  Their private chat with the bot has id == ``id``."""

    id: int
    first_name: str
    language_code: str | None = "en"
    username: str | None = None
    last_name: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The ``User`` object Telegram would put in updates."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def private_chat(self) -> FakeChat:
        """The user's private chat with the bot."""
        return FakeChat(id=self.id, type="private", title=None, username=self.username)


@dataclass(frozen=True)
class FakeChat:
    """A chat the bot can be in.  Groups, supergroups and channels have negative ids."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    # A supergroup with topics (Telegram's ``is_forum``): sends may name a topic.
    is_forum: bool = False

    def to_api(self, *, first_name: str | None = None) -> dict[str, Any]:
        """The ``Chat`` object Telegram would embed in messages and updates."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = first_name or self.title or f"User {self.id}"
        else:
            data["title"] = self.title or f"Chat {self.id}"
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class Upload:
    """A file the bot uploaded in a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        return f"Upload({self.field!r}, {self.filename!r}, {len(self.data)} bytes)"


@dataclass
class SentMessage:
    """One successful message-creating or message-editing call, as the fake recorded it.

    ``text`` is the raw parameter as sent (HTML tags and all); for media it mirrors the
    caption (``""`` when there is none) so ``"word" in m.text`` works for every message.
    ``plain_text`` is what the reader sees (tags removed, entities decoded).
    ``reply_markup`` is the *current* markup the call set (``None`` removes it).
    """

    chat_id: int
    message_id: int
    method: str
    text: str
    caption: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    disable_notification: bool
    link_preview_options: dict[str, Any] | None
    photo: str | None
    time: float
    plain_text: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    # The forum topic the message went to (None: the chat itself, a forum's General).
    message_thread_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    message: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """All inline keyboard buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        """The callback_data of every callback button, in order."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the control API."""
        data = asdict(self)
        data.pop("message")
        data["params"] = _jsonable(self.params)
        return data


class ApiError(Exception):
    """An error answer: HTTP status == ``error_code``, like Telegram."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Upload):
        return repr(value)
    return value


# --------------------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------------------


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


@dataclass
class _Chaos:
    status: int
    ratio: float
    latency: tuple[float, float]
    retry_after: int | None
    remaining: int | None
    methods: frozenset[str]
    rng: random.Random


def _flood_wait(events: deque[float], now: float, limit: int, seconds: float) -> float:
    """Seconds until one more event fits "at most ``limit`` per ``seconds``" (0 = now).

    ``events`` are ascending timestamps; the window is full exactly when the
    ``limit``-th most recent event is still inside it."""
    if len(events) < limit:
        return 0.0
    wait = events[-limit] + seconds - now
    return wait if wait > 0 else 0.0


def _clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), several times quicker than
    ``copy.deepcopy``: the send path copies each message a few times."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    return value


def _busiest(times: list[float], seconds: float) -> int:
    """The most events in any ``seconds``-long window (``times`` ascending)."""
    busiest = start = 0
    for end, at in enumerate(times):
        while times[start] <= at - seconds:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


def _rate_window(rate: float, burst: int = 1) -> tuple[int, float]:
    """(events, seconds) admitting ``rate`` events/s on average in bursts of ``burst``."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    if burst > 1:
        return burst, burst / rate
    seconds = max(1.0, 1.0 / rate)
    return max(1, round(rate * seconds)), seconds


# --------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------


class FakeBotAPI:
    """The fake server.  Thread-safe: call its sync methods from any thread or loop."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-token",
        bot_username: str = "newsbot_test_bot",
        bot_id: int = 999000,
        bot_name: str = "Newsbot Test",
        rate_limit_global: float | None = None,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 1,
        group_per_minute: int = 20,
        enforce_rate_limits: bool = False,
        paid_rate: float = 1000.0,
        host: str = "127.0.0.1",
        port: int = 0,
        callback_query_ttl: float = 15.0,
        strict_private_chats: bool = False,
        strict_ampersand: bool = True,
        seed: int | None = None,
    ) -> None:
        """Configure (but do not start) the fake.

        ``rate_limit_global`` is messages/s across all chats (None = unlimited);
        ``per_chat_rate``/``per_chat_burst`` limit a private chat, ``group_per_minute`` a
        group, supergroup or channel.  Limits only apply with ``enforce_rate_limits``.
        ``allow_paid_broadcast=true`` lifts the global cap to ``paid_rate`` for that send.
        ``strict_private_chats`` answers 403 "bot can't initiate conversation with a user"
        for users who never wrote to the bot (off by default: any positive id is a user).
        ``strict_ampersand`` rejects a bare ``&`` in HTML (Telegram tolerates it; see
        :mod:`tests.fakes.telegram_html`).
        """
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.rate_limit_global = rate_limit_global
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.group_per_minute = group_per_minute
        self.enforce_rate_limits = enforce_rate_limits
        self.paid_rate = paid_rate
        self.callback_query_ttl = callback_query_ttl
        self.strict_private_chats = strict_private_chats
        self.strict_ampersand = strict_ampersand
        self._host = host
        self._port = port
        self._rng = random.Random(seed)

        self._lock = threading.RLock()
        # Inspectable history.
        self.sent: list[SentMessage] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.inline_answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.deleted: list[tuple[int, int]] = []
        # Forum topics the bot created: (chat_id, message_thread_id, name).
        self.topics_created: list[tuple[int, int, str]] = []
        self.allowed_updates_seen: list[list[str]] = []
        self.dropped_updates: list[dict[str, Any]] = []
        self.too_many_requests = 0
        self.failures_injected = 0
        self.webhook_url = ""
        # World state.
        self._chats: dict[int, _ChatState] = {}
        self._users: dict[int, FakeUser] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._file_ids: set[str] = set()
        self._callback_queries: dict[str, float] = {}
        self._inline_queries: dict[str, float] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_000_000_000_001)
        self._file_counter = itertools.count(1)
        self._delivered: set[int] = set()
        self._allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll_seq = 0
        self._get_updates_calls = 0
        # getUpdates calls cut short by a newer one (409): two bot instances polling at once.
        self.poll_conflicts = 0
        self._content_seen: set[tuple[Any, ...]] = set()
        # Replies queued the instant the bot sends a matching message (answer_at_once), and
        # whether the send that queued one still owes the bot its answer.
        self._answers_at_once: list[tuple[Callable[[SentMessage], bool], FakeUser, str]] = []
        self._hold_answer = False
        self._duplicates: list[SentMessage] = []
        self._429_per_chat: Counter[int] = Counter()
        self._global_events: deque[float] = deque()
        self._paid_events: deque[float] = deque()
        self._chat_events: dict[int, deque[float]] = {}
        self._bot_messages: set[tuple[int, int]] = set()
        self._chaos: _Chaos | None = None
        # Server plumbing (the loop thread only touches _poll_waiters).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._poll_waiters: set[asyncio.Event] = set()
        self._stopping = False
        self.base_url = ""

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Bind 127.0.0.1 (port 0 = any free port) and serve on a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("FakeBotAPI already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # report to start() instead of dying silently
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._stopping = False
        self._thread = threading.Thread(target=run, name="FakeBotAPI", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise failure[0]
        if not self.base_url:
            raise RuntimeError("FakeBotAPI did not start within 10 s")

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        # handler_cancellation: a long poll whose client went away (PTB cancels it on
        # shutdown) is cancelled at once instead of lingering until its timeout.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = int(self._runner.addresses[0][1])  # the real port when asked for port 0
        self._port = port
        self.base_url = f"http://{self._host}:{port}"

    def stop(self) -> None:
        """Stop serving; pending long polls are answered (empty) at once, not timed out."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._stopping = True

        async def shutdown() -> None:
            self._wake_pollers()
            await asyncio.sleep(0)
            if self._runner is not None:
                await self._runner.cleanup()

        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(shutdown(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._thread = None
        self._loop = None
        self._runner = None

    def __enter__(self) -> FakeBotAPI:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def ptb_base_url(self) -> str:
        """What to give PTB as ``base_url`` (it appends the token)."""
        return f"{self.base_url}/bot"

    def reset(self) -> None:
        """Forget the recorded history and counters (chats, users and messages stay)."""
        with self._lock:
            self.sent.clear()
            self.requests.clear()
            self.callback_answers.clear()
            self.inline_answers.clear()
            self.chat_actions.clear()
            self.deleted.clear()
            self.topics_created.clear()
            self.dropped_updates.clear()
            self.too_many_requests = 0
            self.failures_injected = 0
            self._content_seen.clear()
            self._duplicates.clear()
            self._429_per_chat.clear()
            self._global_events.clear()
            self._paid_events.clear()
            self._chat_events.clear()
            self._chaos = None

    # ---------------------------------------------------------------- world setup

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

    def inject_failures(
        self,
        *,
        status: int = 502,
        ratio: float = 0.1,
        latency: tuple[float, float] = (0, 0),
        retry_after: int | None = None,
        count: int | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Chaos for send methods: a ``ratio`` of requests (at most ``count``) fail with
        ``status`` before anything is sent; every matching request is delayed by a random
        ``latency`` (seconds, min/max).  ``status=429`` answers with ``retry_after``
        (default 1) and counts in :attr:`too_many_requests`.  ``methods`` defaults to the
        send methods; add edit methods etc. explicitly."""
        with self._lock:
            if retry_after is not None and status == 502:
                status = 429
            self._chaos = _Chaos(
                status=status,
                ratio=ratio,
                latency=latency,
                retry_after=retry_after,
                remaining=count,
                methods=frozenset(methods) if methods is not None else SEND_METHODS,
                rng=random.Random(self._rng.random()),
            )

    def clear_failures(self) -> None:
        """Stop injecting failures and latency."""
        with self._lock:
            self._chaos = None

    # ---------------------------------------------------------------- playing users

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

    # ---------------------------------------------------------------- inspection

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Everything recorded in :attr:`sent` for ``chat_id`` (sends and edits), in order."""
        with self._lock:
            return [m for m in self.sent if m.chat_id == chat_id]

    def current_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The message as it is now (after edits), or None if it never existed/was deleted."""
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            return copy.deepcopy(message) if message is not None else None

    def updates_delivered(self) -> int:
        """How many distinct updates getUpdates has handed to the bot so far."""
        with self._lock:
            return len(self._delivered)

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by the bot (via ``offset``)."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def last_pending_update(self) -> dict[str, Any]:
        """The newest update queued (a webhook test posts it itself): one copy, not all of
        them, so a flood of posts costs the test's process nothing much."""
        with self._lock:
            return copy.deepcopy(self._updates[-1])

    def duplicate_sends(self) -> list[SentMessage]:
        """Sends whose chat and content equal an earlier send (a news bot's cardinal sin)."""
        with self._lock:
            return list(self._duplicates)

    def stats(self) -> dict[str, Any]:
        """Counters for benchmarks (also served at ``GET /_control/stats``)."""
        with self._lock:
            sends = [m for m in self.sent if m.method in SEND_METHODS]
            per_chat = Counter(m.chat_id for m in sends)
            return {
                "sent_total": len(sends),
                "edits_total": sum(1 for m in self.sent if m.method in EDIT_METHODS),
                "sent_per_chat": {str(k): v for k, v in per_chat.items()},
                "chats": len(per_chat),
                "too_many_requests": self.too_many_requests,
                "too_many_requests_per_chat": {str(k): v for k, v in self._429_per_chat.items()},
                "duplicates": len(self._duplicates),
                "failures_injected": self.failures_injected,
                "requests_total": len(self.requests),
                "requests_per_method": dict(Counter(method for method, _ in self.requests)),
                "callback_answers": len(self.callback_answers),
                "updates_pending": len(self._updates),
                "updates_delivered": len(self._delivered),
                "first_send_time": sends[0].time if sends else None,
                "last_send_time": sends[-1].time if sends else None,
                "busiest_second": _busiest(
                    [m.time for m in sends if not m.params.get("allow_paid_broadcast")], 1.0
                ),
                "busiest_second_paid": _busiest(
                    [m.time for m in sends if m.params.get("allow_paid_broadcast")], 1.0
                ),
            }

    async def wait_for(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for polling shared state
    ) -> list[SentMessage]:
        """Wait until at least ``count`` recorded messages match; return all matches so far
        (oldest first).  On timeout raise AssertionError listing what was sent."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                matches = [m for m in self.sent if predicate is None or predicate(m)]
            if len(matches) >= count:
                return matches
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} matching message(s) within {timeout}s, "
                    f"got {len(matches)}.\n{self.dump()}"
                )
            await asyncio.sleep(0.01)

    async def wait_until(
        self,
        condition: Callable[[], bool | Awaitable[bool]],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for polling shared state
    ) -> None:
        """Wait until ``condition()`` is true (polled every 10 ms) or fail with a dump.

        The condition may be a coroutine function, for what the bot did that only its
        database shows (a chat marked inactive): awaited at every poll."""
        deadline = time.monotonic() + timeout
        while True:
            met = condition()
            if inspect.isawaitable(met):
                met = await met
            if met:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s.\n{self.dump()}")
            await asyncio.sleep(0.01)

    async def wait_until_polling(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has called getUpdates (so its allowed_updates are in force:
        updates created before that are filtered by the previous setting, as in Telegram)."""
        await self.wait_until(lambda: self._get_updates_calls > 0, timeout=timeout)

    def dump(self) -> str:
        """Human-readable history for assertion messages."""
        with self._lock:
            lines = [f"sent ({len(self.sent)}):"]
            lines += [
                f"  {m.method} chat={m.chat_id} id={m.message_id} {m.plain_text[:100]!r}"
                + (f" buttons={m.callback_data}" if m.callback_data else "")
                for m in self.sent[-50:]
            ]
            failed = [
                (method, {k: v for k, v in params.items() if k in ("chat_id", "text")})
                for method, params in self.requests[-20:]
            ]
            lines.append(f"last requests: {failed}")
            lines.append(f"pending updates: {len(self._updates)}; 429s: {self.too_many_requests}")
            return "\n".join(lines)

    # ---------------------------------------------------------------- state helpers

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

    # ---------------------------------------------------------------- HTTP plumbing

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_control/"):
            return await self._control(request, path.removeprefix("/_control/"))
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z0-9_]+)", path)
        if match is None:
            return _json(ApiError(404, "Not Found").body(), 404)
        token, method = match.groups()
        if token != self.token:
            return _json(ApiError(401, "Unauthorized").body(), 401)
        try:
            params = await _read_params(request)
        except ApiError as error:
            return _json(error.body(), error.code)
        handler_name = _METHODS.get(method.lower())
        canonical = handler_name[0] if handler_name else method
        with self._lock:
            self.requests.append((canonical, params))
        if handler_name is None:
            return _json(ApiError(404, "Not Found").body(), 404)
        try:
            await self._chaos_for(canonical)
            if canonical == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                handler: Callable[[dict[str, Any]], Any] = getattr(self, handler_name[1])
                with self._lock:
                    result = handler(params)
                    held, self._hold_answer = self._hold_answer, False
                if held:  # answer_at_once: the reply reaches the bot before this answer
                    await asyncio.sleep(ANSWER_AT_ONCE_HOLD)
        except ApiError as error:
            return _json(error.body(), error.code)
        return _json({"ok": True, "result": result}, 200)

    async def _chaos_for(self, method: str) -> None:
        with self._lock:
            chaos = self._chaos
            if chaos is None or method not in chaos.methods:
                return
            delay = chaos.rng.uniform(*chaos.latency) if chaos.latency[1] > 0 else 0.0
            fail = (chaos.remaining is None or chaos.remaining > 0) and (
                chaos.rng.random() < chaos.ratio
            )
            if fail:
                if chaos.remaining is not None:
                    chaos.remaining -= 1
                self.failures_injected += 1
        if delay:
            await asyncio.sleep(delay)
        if not fail:
            return
        if chaos.status == 429:
            retry_after = chaos.retry_after or 1
            with self._lock:
                self.too_many_requests += 1
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        try:
            phrase = HTTPStatus(chaos.status).phrase
        except ValueError:
            phrase = "Injected Failure"
        prefix = {400: "Bad Request: ", 403: "Forbidden: "}.get(chaos.status, "")
        description = f"{prefix}injected failure" if prefix else phrase
        raise ApiError(chaos.status, description)

    # ---------------------------------------------------------------- Bot API: updates

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling: confirm updates below ``offset``, answer as soon as one is queued,
        never wait past ``timeout``; a newer getUpdates terminates this one (409)."""
        with self._lock:
            self._get_updates_calls += 1
            if self.webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            offset = params.get("offset") or 0
            limit = params.get("limit") or 100
            if not 1 <= limit <= 100:
                limit = 100
            timeout = max(0, params.get("timeout") or 0)
            allowed = params.get("allowed_updates")
            if allowed is not None:
                if not isinstance(allowed, list):
                    raise _bad("can't parse allowed updates")
                self.allowed_updates_seen.append(list(allowed))
                self._allowed = frozenset(allowed) & ALL_UPDATE_TYPES or DEFAULT_UPDATE_TYPES
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._poll_seq += 1
            my_seq = self._poll_seq
        self._wake_pollers()  # an older poll, if any, is now terminated
        deadline = time.monotonic() + timeout
        event = asyncio.Event()
        self._poll_waiters.add(event)
        try:
            while True:
                event.clear()
                with self._lock:
                    if self._stopping:
                        return []
                    if my_seq != self._poll_seq:
                        self.poll_conflicts += 1
                        raise ApiError(409, _POLL_CONFLICT)
                    batch = self._updates[:limit]
                    if batch:
                        self._delivered.update(u["update_id"] for u in batch)
                        return copy.deepcopy(batch)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            self._poll_waiters.discard(event)

    def _api_set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates_seen.append(list(allowed))
            self._allowed = frozenset(allowed) & ALL_UPDATE_TYPES or DEFAULT_UPDATE_TYPES
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = url
        return True

    def _api_delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = ""
        return True

    def _api_get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            info["allowed_updates"] = sorted(self._allowed)
        return info

    # ---------------------------------------------------------------- Bot API: bot

    def _api_get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_api_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_ok(self, params: dict[str, Any]) -> bool:
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in {
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        }:
            raise _bad("can't parse BotCommandScope JSON object")
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True, separators=(",", ":")), language

    def _api_set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._commands_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _api_get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    def _api_delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _set_description(self, params: dict[str, Any], kind: str, limit: int) -> bool:
        value = params.get(kind) or ""
        if len(value) > limit:
            raise _bad(f"{kind.upper().replace('_', '')}_INVALID")
        language = params.get("language_code") or ""
        self.descriptions[(kind, language)] = value
        return True

    def _api_set_my_description(self, params: dict[str, Any]) -> bool:
        return self._set_description(params, "description", 512)

    def _api_set_my_short_description(self, params: dict[str, Any]) -> bool:
        return self._set_description(params, "short_description", 120)

    def _api_get_my_description(self, params: dict[str, Any]) -> dict[str, str]:
        key = ("description", params.get("language_code") or "")
        return {"description": self.descriptions.get(key, "")}

    def _api_get_my_short_description(self, params: dict[str, Any]) -> dict[str, str]:
        key = ("short_description", params.get("language_code") or "")
        return {"short_description": self.descriptions.get(key, "")}

    # ---------------------------------------------------------------- Bot API: chats

    def _find_chat(self, raw: Any) -> _ChatState:
        """The chat ``raw`` names, or 400 chat not found (no permission checks)."""
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for state in self._chats.values():
                if state.chat.username and state.chat.username.lower() == raw[1:].lower():
                    return state
            raise _bad("chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        state = self._chats.get(chat_id)
        if state is None:
            if chat_id > 0:
                return self._private_state(chat_id)
            raise _bad("chat not found")
        return state

    def _writable_chat(self, raw: Any, *, posting: bool = True) -> _ChatState:
        """The chat a message goes to, with Telegram's 400/403 refusals."""
        state = self._find_chat(raw)
        if state.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": state.migrated_to},
            )
        kind = state.chat.type
        if kind == "private":
            if state.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if self.strict_private_chats and not state.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return state
        if state.bot_status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if state.bot_status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        if (
            posting
            and kind == "channel"
            and not (
                state.bot_status == "creator"
                or (state.bot_status == "administrator" and state.bot_can_post)
            )
        ):
            raise _bad("need administrator rights in the channel chat")
        return state

    def _api_get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._find_chat(params.get("chat_id"))
        if state.chat.type != "private":
            self._writable_chat(params.get("chat_id"), posting=False)
        return {
            **self._chat_json(state),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _api_get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._find_chat(params.get("chat_id"))
        user_id = params.get("user_id")
        if not isinstance(user_id, int) or user_id <= 0:
            raise _bad("invalid user_id specified")
        if user_id == self.bot_id:
            if state.chat.type == "private":
                return {"status": "member", "user": self._bot_api_user()}
            return self._bot_member(state)
        if state.chat.type == "private":
            if user_id != state.chat.id:
                raise _bad("user not found")
            user = self._users.get(user_id)
            api_user = (
                user.to_api()
                if user
                else {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": state.chat.title or f"User {user_id}",
                }
            )
            return {"status": "member", "user": api_user}
        if state.chat.type == "channel" and state.bot_status not in {"administrator", "creator"}:
            raise _bad("member list is inaccessible")
        member = state.members.get(user_id)
        if member is not None:
            return copy.deepcopy(member)
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        return {"status": "left", "user": user.to_api()}

    def _api_get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        state = self._find_chat(params.get("chat_id"))
        if state.chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        if state.chat.type == "channel" and state.bot_status not in {"administrator", "creator"}:
            raise _bad("member list is inaccessible")
        admins = [
            copy.deepcopy(m)
            for m in state.members.values()
            if m["status"] in {"creator", "administrator"}
        ]
        admins.sort(key=lambda m: m["status"] != "creator")
        if state.bot_status in {"administrator", "creator"}:
            admins.append(self._bot_member(state))
        return admins

    def _api_get_chat_member_count(self, params: dict[str, Any]) -> int:
        state = self._find_chat(params.get("chat_id"))
        if state.chat.type == "private":
            return 2
        active = {"creator", "administrator", "member", "restricted"}
        members = sum(1 for m in state.members.values() if m["status"] in active)
        return members + (1 if state.bot_status in active else 0)

    def _api_send_chat_action(self, params: dict[str, Any]) -> bool:
        state = self._writable_chat(params.get("chat_id"), posting=False)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((state.chat.id, action))
        return True

    def _api_leave_chat(self, params: dict[str, Any]) -> bool:
        state = self._find_chat(params.get("chat_id"))
        if state.chat.type == "private":
            raise _bad("chat member status can't be changed in private chats")
        state.bot_status = "left"
        return True

    # ---------------------------------------------------------------- Bot API: messages

    def _formatted(
        self, text: str, parse_mode: Any, entities: Any, *, what: str
    ) -> tuple[str, list[dict[str, Any]]]:
        """Visible text and entities for ``text`` as Telegram would render it."""
        if parse_mode:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    parsed = parse_html(text, strict_ampersand=self.strict_ampersand)
                except HTMLParseError as error:
                    raise _bad(f"can't parse entities: {error.description}") from None
                return parsed.text, parsed.entities
            if mode in {"markdown", "markdownv2"}:
                # Not validated (newsbot formats with HTML); length still counted raw.
                return text.strip(), []
            raise _bad("unsupported parse_mode")
        if entities is not None:
            if not isinstance(entities, list):
                raise _bad(f"can't parse {what} entities JSON object")
            total = utf16_len(text)
            for entity in entities:
                if (
                    not isinstance(entity, dict)
                    or not isinstance(entity.get("offset"), int)
                    or not isinstance(entity.get("length"), int)
                    or entity["offset"] < 0
                    or entity["length"] <= 0
                    or entity["offset"] + entity["length"] > total
                ):
                    raise _bad("can't parse entities: entity beyond the end of the text")
            return text, _clone(entities)
        return text.strip(), []

    def _message_text(self, params: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise _bad("message text is empty")
        visible, entities = self._formatted(
            text, params.get("parse_mode"), params.get("entities"), what="message"
        )
        if not visible.strip():
            raise _bad("message text is empty")
        if utf16_len(visible) > 4096:
            raise _bad("message is too long")
        return text, visible, entities

    def _message_caption(
        self, params: dict[str, Any]
    ) -> tuple[str | None, str, list[dict[str, Any]]]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, "", []
        if not isinstance(caption, str):
            raise _bad("can't parse caption")
        visible, entities = self._formatted(
            caption, params.get("parse_mode"), params.get("caption_entities"), what="caption"
        )
        if utf16_len(visible) > 1024:
            raise _bad("message caption is too long")
        return caption, visible, entities

    def _reply_markup(
        self, params: dict[str, Any], state: _ChatState | None, *, inline_only: bool = False
    ) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup["inline_keyboard"], state)
            return _clone(markup)
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'can\'t parse reply keyboard markup JSON object: Field "keyboard" '
                    "must be an Array of Arrays"
                )
            return _clone(markup)
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return _clone(markup)
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_to(self, params: dict[str, Any], state: _ChatState) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") not in (None, state.chat.id):
                target = self._find_chat(reply["chat_id"])
            else:
                target = state
        elif params.get("reply_to_message_id"):
            message_id, target = params["reply_to_message_id"], state
        else:
            return None
        original = self._messages.get((target.chat.id, message_id)) if message_id else None
        if original is None:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        replied = _clone(original)
        replied.pop("reply_to_message", None)
        return replied

    def _check_rate(self, state: _ChatState, params: dict[str, Any]) -> None:
        """Telegram's flood limits; only counted for sends that are otherwise valid."""
        if not self.enforce_rate_limits:
            return
        now = time.monotonic()
        chat_id = state.chat.id
        if state.chat.type == "private":
            limit, seconds = _rate_window(self.per_chat_rate, self.per_chat_burst)
        else:
            limit, seconds = self.group_per_minute, 60.0
        chat_events = self._chat_events.setdefault(chat_id, deque())
        while len(chat_events) > limit:
            chat_events.popleft()
        wait = _flood_wait(chat_events, now, limit, seconds)
        # Paid broadcasts are counted on their own: they are sent "ignoring broadcasting
        # limits" (Bot API), so they neither use up nor are held by the free 30/s.
        paid = bool(params.get("allow_paid_broadcast"))
        cap = self.paid_rate if paid else self.rate_limit_global
        events = self._paid_events if paid else self._global_events
        if cap is not None:
            global_limit, global_seconds = _rate_window(cap)
            wait = max(wait, _flood_wait(events, now, global_limit, global_seconds))
        if wait > 0:
            self.too_many_requests += 1
            self._429_per_chat[chat_id] += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        chat_events.append(now)
        events.append(now)
        keep = max(self.paid_rate, self.rate_limit_global or 0, 1) * 2
        while len(events) > keep:
            events.popleft()

    def _store_message(
        self,
        method: str,
        state: _ChatState,
        params: dict[str, Any],
        extra: dict[str, Any],
        *,
        raw_text: str,
        visible: str,
        entities: list[dict[str, Any]],
        photo: str | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._new_message_id(state),
            "date": int(time.time()),
            "chat": self._chat_json(state),
        }
        if state.chat.type == "channel":
            message["sender_chat"] = state.chat.to_api()
        else:
            message["from"] = self._bot_api_user()
        message.update(extra)
        if params.get("protect_content"):
            message["has_protected_content"] = True
        self._messages[(state.chat.id, message["message_id"])] = message
        self._bot_messages.add((state.chat.id, message["message_id"]))
        record = self._record(method, state.chat.id, message, params, raw_text, visible, entities)
        record.photo = photo
        key = (state.chat.id, method, visible, photo)
        if key in self._content_seen:
            self._duplicates.append(record)
        self._content_seen.add(key)
        for answer in list(self._answers_at_once):
            predicate, user, text = answer
            if predicate(record):
                self._answers_at_once.remove(answer)
                self.reply_to(user, record, text)
                self._hold_answer = True
        return _clone(message)

    def _record(
        self,
        method: str,
        chat_id: int,
        message: dict[str, Any],
        params: dict[str, Any],
        raw_text: str,
        visible: str,
        entities: list[dict[str, Any]],
    ) -> SentMessage:
        caption = params.get("caption") if "caption" in message or method == "sendPhoto" else None
        preview = params.get("link_preview_options")
        record = SentMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            method=method,
            text=raw_text,
            caption=caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=_clone(message.get("reply_markup")),
            disable_notification=bool(params.get("disable_notification")),
            link_preview_options=preview if isinstance(preview, dict) else None,
            photo=None,
            time=time.time(),
            plain_text=visible,
            entities=_clone(entities),
            message_thread_id=message.get("message_thread_id"),
            params=params,
            message=_clone(message),
        )
        self.sent.append(record)
        return record

    def _api_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._writable_chat(params.get("chat_id"))
        raw, visible, entities = self._message_text(params)
        markup = self._reply_markup(params, state)
        replied = self._reply_to(params, state)
        preview = params.get("link_preview_options")
        if preview is not None and not isinstance(preview, dict):
            raise _bad("can't parse link preview options JSON object")
        if preview is None and params.get("disable_web_page_preview"):
            preview = {"is_disabled": True}
            params["link_preview_options"] = preview
        topic = self._topic_of(state, params)
        self._check_rate(state, params)
        extra: dict[str, Any] = {"text": visible, **topic}
        if entities:
            extra["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            extra["reply_markup"] = markup
        if replied is not None:
            extra["reply_to_message"] = replied
        if preview:
            extra["link_preview_options"] = preview
        return self._store_message(
            "sendMessage", state, params, extra, raw_text=raw, visible=visible, entities=entities
        )

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

    def _photo_file(self, params: dict[str, Any]) -> tuple[str, str]:
        """(what the bot sent as ``photo``, the file_id Telegram now knows it by)."""
        photo = params.get("photo")
        if isinstance(photo, Upload):
            if not photo.data:
                raise _bad("file must be non-empty")
            return f"upload:{photo.filename or photo.field}", self._new_file_id()
        if not isinstance(photo, str) or not photo:
            raise _bad("there is no photo in the request")
        if photo.startswith("attach://"):
            raise _bad("wrong file identifier/HTTP URL specified")
        if photo.startswith(("http://", "https://")):
            parts = urlsplit(photo)
            if not parts.hostname or any(ch.isspace() for ch in photo):
                raise _bad("wrong file identifier/HTTP URL specified")
            if "." not in parts.hostname:  # an intranet name Telegram's servers cannot reach
                raise _bad("failed to get HTTP URL content")
            return photo, self._new_file_id()
        if photo not in self._file_ids:
            raise _bad("wrong file identifier/HTTP URL specified")
        return photo, photo

    def _new_file_id(self) -> str:
        file_id = f"AgACAgIAAxkDFAKE{next(self._file_counter):08d}"
        self._file_ids.add(file_id)
        return file_id

    def _api_send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._writable_chat(params.get("chat_id"))
        photo, file_id = self._photo_file(params)
        caption, visible, entities = self._message_caption(params)
        markup = self._reply_markup(params, state)
        replied = self._reply_to(params, state)
        topic = self._topic_of(state, params)
        self._check_rate(state, params)
        extra: dict[str, Any] = {
            **topic,
            "photo": [
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id[-12:]}s",
                    "width": 90,
                    "height": 60,
                    "file_size": 1200,
                },
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id[-12:]}l",
                    "width": 1280,
                    "height": 853,
                    "file_size": 98000,
                },
            ],
        }
        if caption is not None:
            extra["caption"] = visible
            if entities:
                extra["caption_entities"] = entities
        if params.get("has_spoiler"):
            extra["has_media_spoiler"] = True
        if markup is not None and "inline_keyboard" in markup:
            extra["reply_markup"] = markup
        if replied is not None:
            extra["reply_to_message"] = replied
        return self._store_message(
            "sendPhoto",
            state,
            params,
            extra,
            raw_text=caption or "",
            visible=visible,
            entities=entities,
            photo=photo,
        )

    def _editable(self, params: dict[str, Any]) -> tuple[_ChatState, dict[str, Any]]:
        state = self._writable_chat(params.get("chat_id"), posting=False)
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or message_id <= 0:
            raise _bad("message identifier is not specified")
        message = self._messages.get((state.chat.id, message_id))
        if message is None:
            raise _bad("message to edit not found")
        if (state.chat.id, message_id) not in self._bot_messages:
            raise _bad("message can't be edited")
        return state, message

    def _edit_inline(self, method: str, params: dict[str, Any]) -> bool:
        visible = ""
        entities: list[dict[str, Any]] = []
        raw = params.get("text") or params.get("caption") or ""
        if method == "editMessageText":
            raw, visible, entities = self._message_text(params)
        markup = self._reply_markup(params, None, inline_only=True)
        self._record(
            method,
            0,
            {"message_id": 0, "reply_markup": markup} if markup else {"message_id": 0},
            params,
            raw,
            visible,
            entities,
        )
        return True

    def _api_edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return self._edit_inline("editMessageText", params)
        state, message = self._editable(params)
        raw, visible, entities = self._message_text(params)
        markup = self._reply_markup(params, state, inline_only=True)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        if (
            message["text"] == visible
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message["text"] = visible
        _set_or_drop(message, "entities", entities or None)
        _set_or_drop(message, "reply_markup", markup)
        preview = params.get("link_preview_options")
        _set_or_drop(
            message, "link_preview_options", preview if isinstance(preview, dict) else None
        )
        message["edit_date"] = int(time.time())
        self._record("editMessageText", state.chat.id, message, params, raw, visible, entities)
        return copy.deepcopy(message)

    def _api_edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return self._edit_inline("editMessageCaption", params)
        state, message = self._editable(params)
        caption, visible, entities = self._message_caption(params)
        markup = self._reply_markup(params, state, inline_only=True)
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        if (
            message.get("caption", "") == visible
            and message.get("caption_entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_or_drop(message, "caption", visible or None)
        _set_or_drop(message, "caption_entities", entities or None)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        self._record(
            "editMessageCaption", state.chat.id, message, params, caption or "", visible, entities
        )
        return copy.deepcopy(message)

    def _api_edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return self._edit_inline("editMessageReplyMarkup", params)
        state, message = self._editable(params)
        markup = self._reply_markup(params, state, inline_only=True)
        if message.get("reply_markup") == markup:
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        text = message.get("text", message.get("caption", ""))
        entities = message.get("entities", message.get("caption_entities", []))
        self._record("editMessageReplyMarkup", state.chat.id, message, params, text, text, entities)
        return copy.deepcopy(message)

    def _api_delete_message(self, params: dict[str, Any]) -> bool:
        state = self._find_chat(params.get("chat_id"))
        if state.migrated_to is not None:
            self._writable_chat(params.get("chat_id"), posting=False)
        message_id = params.get("message_id")
        key = (state.chat.id, message_id)
        if not isinstance(message_id, int) or key not in self._messages:
            raise _bad("message to delete not found")
        by_bot = key in self._bot_messages
        if (
            not by_bot
            and state.chat.type != "private"
            and state.bot_status
            not in {
                "administrator",
                "creator",
            }
        ):
            raise _bad("message can't be deleted")
        del self._messages[key]
        self.deleted.append((state.chat.id, message_id))
        return True

    def _api_answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        created = self._callback_queries.pop(str(query_id), None) if query_id else None
        if created is None or time.monotonic() - created > self.callback_query_ttl:
            raise _bad(_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        text = params.get("text")
        if text is not None and len(text) > 200:
            self._callback_queries[str(query_id)] = created
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            {
                "callback_query_id": str(query_id),
                "text": text,
                "show_alert": bool(params.get("show_alert")),
                "url": params.get("url"),
                "cache_time": params.get("cache_time"),
            }
        )
        return True

    def _api_answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("inline_query_id")
        created = self._inline_queries.pop(str(query_id), None) if query_id else None
        if created is None or time.monotonic() - created > self.callback_query_ttl:
            raise _bad(_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse results JSON object")
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or "type" not in result:
                raise _bad("can't parse InlineQueryResult JSON object")
            result_id = str(result.get("id", ""))
            if not 1 <= len(result_id.encode()) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            if "reply_markup" in result:
                _check_inline_keyboard((result["reply_markup"] or {}).get("inline_keyboard"), None)
        self.inline_answers.append({"inline_query_id": str(query_id), **params})
        return True

    # ---------------------------------------------------------------- control API

    async def _control(self, request: web.Request, action: str) -> web.StreamResponse:
        """Tiny JSON API so a benchmark in another process can drive and read the fake."""
        try:
            body: dict[str, Any] = {}
            if request.method == "POST" and request.can_read_body:
                body = await request.json()
            result = self._control_action(action, body, dict(request.query))
        except (KeyError, TypeError, ValueError) as error:
            return _json({"ok": False, "description": f"{type(error).__name__}: {error}"}, 400)
        if result is _MISSING:
            return _json({"ok": False, "description": "Not Found"}, 404)
        return _json({"ok": True, "result": result}, 200)

    def _control_action(self, action: str, body: dict[str, Any], query: dict[str, str]) -> Any:
        def user(data: dict[str, Any]) -> FakeUser:
            return FakeUser(
                int(data["id"]),
                data.get("first_name", f"User {data['id']}"),
                data.get("language_code", "en"),
                data.get("username"),
            )

        def chat(data: dict[str, Any]) -> FakeChat:
            return FakeChat(int(data["id"]), data["type"], data.get("title"), data.get("username"))

        if action == "stats":
            return self.stats()
        if action == "sent_count":
            with self._lock:
                return len(self.sent)
        if action == "sent":
            since = int(query.get("since", 0))
            with self._lock:
                picked = self.sent[since:]
                if "chat_id" in query:
                    picked = [m for m in picked if m.chat_id == int(query["chat_id"])]
                return [m.to_json() for m in picked]
        if action == "reset":
            self.reset()
            return True
        if action == "register_chat":
            chats = body.get("chats", [body])
            for data in chats:
                self.register_chat(
                    chat(data),
                    bot_status=data.get("bot_status"),
                    can_post=data.get("can_post", True),
                )
            return len(chats)
        if action == "send_message":
            target = chat(body["chat"]) if body.get("chat") else None
            return self.send_message(user(body["user"]), body["text"], chat=target)
        if action == "press_button":
            with self._lock:
                message = self._messages[(int(body["chat_id"]), int(body["message_id"]))]
            return self.press_button(user(body["user"]), message, body["callback_data"])
        if action == "add_bot_to_channel":
            self.add_bot_to_channel(
                user(body["admin"]), chat(body["channel"]), can_post=body.get("can_post", True)
            )
            return True
        if action == "block":
            self.block(int(body["chat_id"]))
            return True
        if action == "migrate":
            self.migrate(int(body["chat_id"]), int(body["new_chat_id"]))
            return True
        if action == "inject_failures":
            latency = body.pop("latency", (0, 0))
            self.inject_failures(latency=(float(latency[0]), float(latency[1])), **body)
            return True
        if action == "clear_failures":
            self.clear_failures()
            return True
        if action == "config":
            with self._lock:
                for name in (
                    "rate_limit_global",
                    "paid_rate",
                    "per_chat_rate",
                    "group_per_minute",
                    "enforce_rate_limits",
                ):
                    if name in body:
                        setattr(self, name, body[name])
                self._chat_events.clear()
            return True
        return _MISSING


_MISSING = object()


# Bot API method name (lower-case, as Telegram matches them) -> (canonical, handler).
_METHODS: dict[str, tuple[str, str]] = {
    name.lower(): (name, handler)
    for name, handler in {
        "getUpdates": "",
        "getMe": "_api_get_me",
        "logOut": "_api_ok",
        "close": "_api_ok",
        "setWebhook": "_api_set_webhook",
        "deleteWebhook": "_api_delete_webhook",
        "getWebhookInfo": "_api_get_webhook_info",
        "sendMessage": "_api_send_message",
        "sendPhoto": "_api_send_photo",
        "editMessageText": "_api_edit_message_text",
        "editMessageCaption": "_api_edit_message_caption",
        "editMessageReplyMarkup": "_api_edit_message_reply_markup",
        "deleteMessage": "_api_delete_message",
        "answerCallbackQuery": "_api_answer_callback_query",
        "answerInlineQuery": "_api_answer_inline_query",
        "setMyCommands": "_api_set_my_commands",
        "getMyCommands": "_api_get_my_commands",
        "deleteMyCommands": "_api_delete_my_commands",
        "setMyDescription": "_api_set_my_description",
        "getMyDescription": "_api_get_my_description",
        "setMyShortDescription": "_api_set_my_short_description",
        "getMyShortDescription": "_api_get_my_short_description",
        "getChat": "_api_get_chat",
        "getChatMember": "_api_get_chat_member",
        "getChatAdministrators": "_api_get_chat_administrators",
        "getChatMemberCount": "_api_get_chat_member_count",
        "sendChatAction": "_api_send_chat_action",
        "createForumTopic": "_api_create_forum_topic",
        "leaveChat": "_api_leave_chat",
    }.items()
}


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _set_or_drop(message: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value


def _coerce(name: str, value: Any) -> Any:
    """Give a parameter its Bot API type, whatever the encoding it arrived in."""
    if isinstance(value, Upload):
        return value
    if name in _JSON_FIELDS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if name == "reply_markup" else name.replace("_", " ")
            raise _bad(f"can't parse {what} JSON object") from None
    if name in _INT_FIELDS and isinstance(value, str):
        try:
            return int(float(value)) if "." in value else int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None
    if name in _BOOL_FIELDS and isinstance(value, str):
        return value.strip().lower() in {"true", "1"}
    if name == "chat_id" and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return value


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string + JSON, form-urlencoded or multipart body, typed like Telegram does."""
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad("can't parse JSON object")
            raw.update(body)
        elif content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    raw[name] = Upload(name, value.filename, value.content_type, value.file.read())
                else:
                    raw[name] = value
    params = {name: _coerce(name, value) for name, value in raw.items()}
    # Multipart uploads reference their file parts as "attach://<name>".
    for name, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = params.get(value.removeprefix("attach://"))
            if isinstance(part, Upload):
                params[name] = part
    return params


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


def _valid_button_url(url: Any) -> bool:
    if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"}:
        return bool(parts.hostname) and "." in (parts.hostname or "")
    if parts.scheme == "tg":
        return bool(parts.netloc or parts.path)
    return False


def _check_inline_keyboard(rows: Any, state: _ChatState | None) -> None:
    """Telegram's InlineKeyboardMarkup rules (and one stricter: one action per button)."""
    if not isinstance(rows, list):
        raise _bad(
            'can\'t parse inline keyboard button: Field "inline_keyboard" of the '
            "InlineKeyboardMarkup must be an Array"
        )
    total = 0
    for row in rows:
        if not isinstance(row, list):
            raise _bad(
                'can\'t parse inline keyboard button: Field "inline_keyboard" of the '
                "InlineKeyboardMarkup must be an Array of Arrays"
            )
        for button in row:
            total += 1
            if not isinstance(button, dict):
                raise _bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not text.strip():
                raise _bad("BUTTON_TEXT_INVALID")
            actions = [name for name in _BUTTON_ACTIONS if name in button]
            if not actions:
                raise _bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                raise _bad(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, got {', '.join(actions)}"
                )
            action = actions[0]
            if action == "callback_data":
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
            elif action == "url":
                if not _valid_button_url(button["url"]):
                    raise _bad("BUTTON_URL_INVALID")
            elif action in {"web_app", "login_url"}:
                target = button[action]
                url = target.get("url") if isinstance(target, dict) else None
                if not isinstance(url, str) or not url.startswith("https://"):
                    raise _bad("BUTTON_URL_INVALID")
                if action == "web_app" and state is not None and state.chat.type != "private":
                    raise _bad("BUTTON_TYPE_INVALID")
            elif action == "copy_text":
                target = button["copy_text"]
                copied = target.get("text") if isinstance(target, dict) else None
                if not isinstance(copied, str) or not 1 <= len(copied) <= 256:
                    raise _bad("BUTTON_COPY_TEXT_INVALID")
    if total > 100:
        raise _bad("reply markup is too long")


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


# --------------------------------------------------------------------------------------
# Standalone mode
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; print the URL so a benchmark can find us."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.bot_api", description="Fake Telegram Bot API server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--bot-username", default="newsbot_test_bot")
    parser.add_argument("--rate", type=float, default=None, help="global messages/s")
    parser.add_argument("--paid-rate", type=float, default=1000.0)
    parser.add_argument("--per-chat-rate", type=float, default=1.0)
    parser.add_argument("--per-chat-burst", type=int, default=1)
    parser.add_argument("--group-per-minute", type=int, default=20)
    parser.add_argument("--no-enforce", action="store_true", help="record only, never answer 429")
    args = parser.parse_args(argv)
    fake = FakeBotAPI(
        token=args.token,
        bot_username=args.bot_username,
        rate_limit_global=args.rate,
        per_chat_rate=args.per_chat_rate,
        per_chat_burst=args.per_chat_burst,
        group_per_minute=args.group_per_minute,
        enforce_rate_limits=not args.no_enforce,
        paid_rate=args.paid_rate,
        host=args.host,
        port=args.port,
    )
    fake.start()
    print(
        f"FakeBotAPI listening on {fake.base_url} (PTB base_url={fake.ptb_base_url}, "
        f"token={fake.token}, control={fake.base_url}/_control/stats)",
        flush=True,
    )
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
