"""The fake itself: :class:`FakeBotAPI`, its state, the aiohttp server on its own thread and
loop, and the dispatch of ``/bot<token>/<method>`` to the Bot API methods.

The class is composed of one mixin per concern (the world, playing users, inspection,
limits, the control API, the method groups); ``__init__`` here is the one place that
holds the state they share."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.bot_api.control import ControlMixin
from tests.fakes.bot_api.inspection import InspectionMixin
from tests.fakes.bot_api.limits import LimitsMixin, _Chaos
from tests.fakes.bot_api.methods import _METHODS
from tests.fakes.bot_api.methods.answers import AnswerMethods
from tests.fakes.bot_api.methods.bot import BotMethods
from tests.fakes.bot_api.methods.chats import ChatMethods
from tests.fakes.bot_api.methods.editing import EditingMethods
from tests.fakes.bot_api.methods.params import ParamsMixin
from tests.fakes.bot_api.methods.sending import SendingMethods
from tests.fakes.bot_api.methods.topics import TopicMethods
from tests.fakes.bot_api.methods.updates import UpdatesMethods
from tests.fakes.bot_api.players import PlayersMixin
from tests.fakes.bot_api.values import ApiError, FakeUser, SentMessage
from tests.fakes.bot_api.vocabulary import ANSWER_AT_ONCE_HOLD, DEFAULT_UPDATE_TYPES
from tests.fakes.bot_api.wire import _json, _read_params
from tests.fakes.bot_api.world import WorldMixin, _ChatState


class FakeBotAPI(
    WorldMixin,
    PlayersMixin,
    InspectionMixin,
    LimitsMixin,
    ControlMixin,
    UpdatesMethods,
    BotMethods,
    ChatMethods,
    TopicMethods,
    ParamsMixin,
    SendingMethods,
    EditingMethods,
    AnswerMethods,
):
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
        # The menu button per private chat (None: the bot's default), as MenuButton JSON.
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
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
