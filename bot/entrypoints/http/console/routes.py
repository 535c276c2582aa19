"""The console's routes (/console/...): the page, its files, and its JSON API.

Each API path signs the caller in (auth.py), calls a use case (bot/services) and shapes the
answer; none decides anything itself. Mounted only when `console_url` is set: without it,
nothing here answers (docs/console.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from telegram import Bot

from bot.config import Settings
from bot.delivery.approval_desk import DeskPoster
from bot.domain.identity import without_credentials
from bot.domain.trace import ChatOutcome, StoryFacts, StoryTrace
from bot.entrypoints.http.console.approvals import ConsoleApprovals
from bot.entrypoints.http.console.auth import NO_STORE, Caller, ConsoleAuth, error
from bot.entrypoints.http.console.channels import ConsoleChannels
from bot.entrypoints.http.console.chat_activity import ConsoleChatActivity
from bot.entrypoints.http.console.editors import ConsoleEditors
from bot.entrypoints.http.console.static import PAGE, load_static, serve
from bot.outbound.i18n import Catalogues
from bot.services.admins import Admins
from bot.services.approvals import Approvals
from bot.services.breaking import Breaking
from bot.services.channel_form import ChannelForm
from bot.services.channel_settings import ChannelScreens
from bot.services.chat_admins import ChatAdmins
from bot.services.chat_history import ChatHistory
from bot.services.chat_test import ChatTests
from bot.services.console_chats import ConsoleChats
from bot.services.console_stats import ConsoleStats
from bot.services.feed_status import FeedBoard
from bot.services.readers import Readers
from bot.services.related import RelatedStories
from bot.services.trace import StoryTraces
from storage.db import Database

log = logging.getLogger(__name__)

# The interface's languages (static/i18n.json); another Telegram language falls back.
INTERFACE_LANGUAGES = ("en", "ru", "kk")
FALLBACK_LANGUAGE = "en"
MAX_STORIES = 100
DEFAULT_STORIES = 30
# Ids are BIGINT: a larger number names no story and must not reach the database.
MAX_ID = 2**63 - 1


def interface_language(language_code: str | None) -> str:
    """The interface language for a Telegram `language_code` ("ru", "kk", "en-GB", ...)."""
    base = (language_code or "").split("-")[0].lower()
    return base if base in INTERFACE_LANGUAGES else FALLBACK_LANGUAGE


def console_routes(
    settings: Settings,
    database: Database,
    wake_delivery: Callable[[], None] = lambda: None,
    editors_desk: tuple[Approvals, DeskPoster] | None = None,
    bot: Bot | None = None,
) -> list[Route]:
    """The console's routes, or none without `console_url` (or without a bot token, which
    the init data is signed with). `wake_delivery` starts a delivery tick at once after
    breaking news is queued or a story approved (without it, the next tick sends it).
    `editors_desk` is the bot's editors' desk (its approvals and the poster that keeps the
    desk chat's messages): without it, the approvals paths are not served. `bot` asks
    Telegram who administers a chat: without it, no user administers any (the chats' paths
    answer 403)."""
    if settings.console_url is None:
        return []
    if settings.telegram_bot_token is None:
        log.warning("console_url is set but telegram_bot_token is not: the console is off")
        return []
    auth = ConsoleAuth(
        settings.telegram_bot_token.get_secret_value(),
        settings.console_session_ttl,
        settings.editors,
    )
    catalogues = Catalogues.load()
    rights = Admins(database, bot) if bot is not None else None
    admins = ChatAdmins(database, rights) if rights is not None else None
    screens = ChannelScreens(database, settings, catalogues, RelatedStories(database))
    form = ChannelForm(screens, Readers(database, settings), rights)
    channels = ConsoleChannels(admins, screens, form)
    tests = ChatTests(database, screens, bot) if bot is not None else None
    activity = ConsoleChatActivity(channels, tests, ChatHistory(database))
    breaking = Breaking(
        database,
        frozenset(settings.editors),
        editions=settings.editions,
        language=settings.language,
    )
    desk = ConsoleEditors(
        breaking, ConsoleStats(database), catalogues, settings.editions, wake_delivery
    )
    api = _ConsoleApi(
        ConsoleChats(settings.editors, admins),
        StoryTraces(database),
        FeedBoard(database),
        settings.editions,
        warm=desk.warm,
    )
    files = load_static()
    log.info("console: served at /console/ for %s", settings.console_url)

    async def page(request: Request) -> Response:
        return serve(request, files[PAGE])

    async def static(request: Request) -> Response:
        file = files.get(request.path_params["name"])
        if file is None or request.path_params["name"] == PAGE:
            return JSONResponse({"error": "not found"}, status_code=404)
        return serve(request, file)

    async def to_page(request: Request) -> Response:
        return RedirectResponse("console/", status_code=308)

    async def unknown(request: Request, caller: Caller) -> Response:
        return error(404, "no such console API path")

    approval_routes: list[Route] = []
    if editors_desk is not None:
        queue = ConsoleApprovals(*editors_desk, wake_delivery)
        approval_routes = [
            Route(
                "/console/api/approvals",
                auth.guard(queue.queue, editors_only=True),
                methods=["GET"],
            ),
            Route(
                "/console/api/approvals/{approval_id}",
                auth.guard(queue.decide, editors_only=True),
                methods=["POST"],
            ),
        ]

    return [
        Route("/console", to_page, methods=["GET"]),
        Route("/console/", page, methods=["GET"]),
        Route("/console/static/{name:path}", static, methods=["GET"]),
        Route("/console/api/session", auth.guard(api.session, editors_only=False), methods=["GET"]),
        Route("/console/api/stories", auth.guard(api.stories, editors_only=True), methods=["GET"]),
        Route(
            "/console/api/stories/{story_id}/trace",
            auth.guard(api.trace, editors_only=True),
            methods=["GET"],
        ),
        Route("/console/api/feeds", auth.guard(api.feeds, editors_only=True), methods=["GET"]),
        Route(
            "/console/api/breaking/preview",
            auth.guard(desk.preview, editors_only=True),
            methods=["POST"],
        ),
        Route("/console/api/breaking", auth.guard(desk.send, editors_only=True), methods=["POST"]),
        Route(
            "/console/api/breaking/{alert_id}",
            auth.guard(desk.progress, editors_only=True),
            methods=["GET"],
        ),
        Route("/console/api/stats", auth.guard(desk.stats, editors_only=True), methods=["GET"]),
        *approval_routes,
        Route(
            "/console/api/chats/{chat_id}/settings",
            auth.guard(channels.settings, editors_only=False),
            methods=["GET"],
        ),
        Route(
            "/console/api/chats/{chat_id}/settings",
            auth.guard(channels.update, editors_only=False),
            methods=["PUT"],
        ),
        Route(
            "/console/api/chats/{chat_id}/preview",
            auth.guard(channels.preview, editors_only=False),
            methods=["POST"],
        ),
        Route(
            "/console/api/chats/{chat_id}/filter-test",
            auth.guard(channels.filter_test, editors_only=False),
            methods=["POST"],
        ),
        Route(
            "/console/api/chats/{chat_id}/test",
            auth.guard(activity.test, editors_only=False),
            methods=["POST"],
        ),
        Route(
            "/console/api/chats/{chat_id}/history",
            auth.guard(activity.history, editors_only=False),
            methods=["GET"],
        ),
        Route("/console/api/{rest:path}", auth.guard(unknown, editors_only=False)),
    ]


class _ConsoleApi:
    """The API's handlers: parse, call the use case, shape the JSON."""

    def __init__(
        self,
        chats: ConsoleChats,
        traces: StoryTraces,
        feeds: FeedBoard,
        editions: list[str],
        warm: Callable[[], None] = lambda: None,
    ) -> None:
        self._chats = chats
        self._traces = traces
        self._feeds = feeds
        self._editions = list(editions)
        # Starts the editors' costly counts in the background (ConsoleEditors.warm).
        self._warm = warm

    async def session(self, request: Request, caller: Caller) -> Response:
        user = caller.user
        if caller.editor:  # the page opens with this call: its tabs come next
            self._warm()
        chats = await self._chats.chats_of(user.user_id)
        return _json(
            {
                "user": {
                    "id": user.user_id,
                    "first_name": user.first_name,
                    "language": interface_language(user.language_code),
                },
                "editor": caller.editor,
                "editions": self._editions,
                "chats": [
                    {"id": chat.chat_id, "title": chat.title, "type": chat.kind} for chat in chats
                ],
            }
        )

    async def stories(self, request: Request, caller: Caller) -> Response:
        raw = request.query_params.get("limit", str(DEFAULT_STORIES))
        if (
            not raw.isascii()
            or not raw.isdigit()
            or len(raw) > 3
            or not 1 <= int(raw) <= MAX_STORIES
        ):
            return error(422, f"limit must be a whole number from 1 to {MAX_STORIES}")
        stories = await self._traces.recent(int(raw))
        return _json({"stories": [_story(story) for story in stories]})

    async def trace(self, request: Request, caller: Caller) -> Response:
        raw = request.path_params["story_id"]
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_ID:
            return error(404, "no such story")
        found = await self._traces.trace(int(raw))
        if found is None:
            return error(404, "no such story")
        return _json(_trace(found))

    async def feeds(self, request: Request, caller: Caller) -> Response:
        return _json(
            {
                "feeds": [
                    {
                        "url": without_credentials(feed.url) or feed.url,
                        "title": feed.title,
                        "section": feed.section,
                        "language": feed.language,
                        "role": feed.role,
                        "enabled": feed.enabled,
                        "last_success": _time(feed.last_success_at),
                        "last_check": _time(feed.last_fetched_at),
                        "last_status": feed.last_status,
                        "last_error": feed.last_error,
                        "errors_in_a_row": feed.consecutive_errors,
                        "next_check": _time(feed.next_poll_at),
                        "warning": feed.last_warning,
                    }
                    for feed in await self._feeds.feeds()
                ]
            }
        )


def _json(body: object) -> JSONResponse:
    return JSONResponse(body, headers=NO_STORE)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _story(story: StoryFacts) -> dict[str, object]:
    return {
        "id": story.id,
        "headline": story.headline,
        "section": story.section,
        "edition": story.edition,
        "time": _time(story.published_at),
    }


def _chat(chat: ChatOutcome) -> dict[str, object]:
    return {
        "id": chat.chat_id,
        "title": chat.title,
        "type": chat.kind,
        "outcome": chat.outcome.value,
        "reason": chat.reason,
        "at": _time(chat.at),
    }


def _trace(found: StoryTrace) -> dict[str, object]:
    return {
        "story": _story(found.story),
        "counts": {outcome.value: count for outcome, count in found.counts.items()},
        "chats": [_chat(chat) for chat in found.chats],
        "truncated": found.truncated,
    }
