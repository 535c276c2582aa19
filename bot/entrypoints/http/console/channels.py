"""The console's pages for a chat's admins (issue 24, part 2): settings, preview, filter test.

Who may: whoever Telegram says administers the chat, asked with getChatMember and trusted for
at most a minute (bot/services/chat_admins.py); the init data only says who the user is. A
chat the user does not administer and a chat the bot does not serve get the same 403, so the
answer reveals neither. Every value is checked by the chat prompts' own code
(bot/services/channel_form.py over bot/services/channel_settings.py), and its sections,
editions, breaking news and forum topics by the /channels screens' and /topic's use cases
(bot/services/readers.py, admins.py): a refused one is a 422 `{"error": reason}` and nothing
is stored. A chat the config's [[channels]] manages is read-only here (409). Each save logs
one line naming the user and the fields, never values.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.domain.channel_rules import DeskSettings
from bot.entrypoints.http.body import BadBody, read_json
from bot.entrypoints.http.console.auth import NO_STORE, Caller, error
from bot.services.admins import TopicPick
from bot.services.channel_form import ChannelForm, TopicsRefused
from bot.services.channel_settings import FILTERS, ChannelScreens, SettingRefused
from bot.services.chat_admins import ChatAdmins
from storage.models import Destination

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
NOT_YOURS = "you do not administer this chat"
CONFIG_MANAGED = "the config manages this chat's settings: they are read-only here"
MAX_CHAT_ID = 2**63 - 1


class ConsoleChannels:
    """The handlers: check the admin, parse, call the use case, shape the JSON."""

    def __init__(
        self, admins: ChatAdmins | None, screens: ChannelScreens, form: ChannelForm
    ) -> None:
        self._admins = admins
        self._screens = screens
        self._form = form

    async def chat(self, request: Request, caller: Caller) -> Destination | Response:
        """The path's chat if the caller administers it now, else the 403 to answer (alike
        for every reason; chat_activity.py's paths check through here too)."""
        raw = request.path_params["chat_id"]
        digits = raw.removeprefix("-")
        if not raw.isascii() or not digits.isdigit() or len(digits) > 19:
            return error(403, NOT_YOURS)
        chat_id = int(raw)
        if abs(chat_id) > MAX_CHAT_ID:
            return error(403, NOT_YOURS)
        chat = None
        if self._admins is not None:
            chat = await self._admins.verified(chat_id, caller.user.user_id)
        if chat is None:
            log.info(
                "console: chat %s refused to user %d (not its admin, or not served)",
                chat_id,
                caller.user.user_id,
            )
            return error(403, NOT_YOURS)
        return chat

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            data = await read_json(request, MAX_BODY)
        except BadBody as exc:
            return error(413 if exc.too_large else 422, str(exc))
        if not isinstance(data, dict):
            return error(422, "the body must be a JSON object")
        return data

    async def settings(self, request: Request, caller: Caller) -> Response:
        chat = await self.chat(request, caller)
        if isinstance(chat, Response):
            return chat
        return _json(await self._view(chat, caller, await self._screens.settings_of(chat.id)))

    async def update(self, request: Request, caller: Caller) -> Response:
        chat = await self.chat(request, caller)
        if isinstance(chat, Response):
            return chat
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        now = await self._screens.settings_of(chat.id)
        if now.managed_by_config:
            return error(409, CONFIG_MANAGED)
        if not body:  # nothing to change: no new version, no log line
            return _json(await self._view(chat, caller, now))
        try:
            changed = await self._form.update(chat, caller.user.user_id, body)
        except SettingRefused as refused:
            return error(422, _reason(refused))
        except TopicsRefused as refused:  # Telegram, asked again by the topics' use case
            if refused.pick is TopicPick.CONFIG_MANAGED:
                return error(409, CONFIG_MANAGED)
            return error(403, NOT_YOURS)
        log.info(
            "console: user %d changed %s of chat %d",
            caller.user.user_id,
            ", ".join(sorted(body)),
            chat.chat_id,
            extra={"user_id": caller.user.user_id, "chat_id": chat.chat_id},
        )
        return _json(await self._view(chat, caller, changed))

    async def preview(self, request: Request, caller: Caller) -> Response:
        chat = await self.chat(request, caller)
        if isinstance(chat, Response):
            return chat
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        try:
            found = await self._form.preview(chat.id, body)
        except SettingRefused as refused:
            return error(422, _reason(refused))
        message = found.message
        if message is None:
            return _json({"message": None})
        return _json(
            {
                "message": {
                    "html": message.text,
                    "photo": message.photo_url,
                    "buttons": [
                        [{"text": button.text, "url": button.url} for button in row]
                        for row in message.buttons
                    ],
                }
            }
        )

    async def filter_test(self, request: Request, caller: Caller) -> Response:
        chat = await self.chat(request, caller)
        if isinstance(chat, Response):
            return chat
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        lists: dict[str, list[str]] = {}
        for name, items in body.items():
            if name not in FILTERS:
                return error(422, f"{name} is not a filter")
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                return error(422, f"{name} must be a list of text")
            lists[name] = items
        try:
            passed, stopped = await self._screens.filter_test(chat.id, lists)
        except SettingRefused as refused:
            return error(422, _reason(refused))
        return _json(
            {
                "passed": [{"id": s.id, "headline": s.title} for s in passed],
                "stopped": [{"id": s.id, "headline": s.title} for s in stopped],
            }
        )

    async def _view(
        self, chat: Destination, caller: Caller, settings: DeskSettings
    ) -> dict[str, object]:
        audience = await self._screens.audience(chat.id)
        sections, editions = self._form.offered(_language(caller))
        rules, look, pace = settings.filters, settings.format, settings.pace
        return {
            "chat": {"id": chat.chat_id, "title": chat.title, "type": chat.kind},
            "managed_by_config": settings.managed_by_config,
            "sections": audience.sections,
            "editions": audience.editions,
            "breaking": audience.breaking,
            # What the form may tick (the /channels screen's choices).
            "sections_offered": [{"slug": slug, "title": title} for slug, title in sections],
            "editions_offered": list(editions),
            "filters": {
                "include": list(rules.include),
                "exclude": list(rules.exclude),
                "include_regex": list(rules.include_regex),
                "exclude_regex": list(rules.exclude_regex),
            },
            "template": look.template,
            "format": {
                "summary": look.summary,
                "related": look.related,
                "image": look.image,
                "link_preview": look.link_preview,
                "hashtags": look.hashtags,
                "read_button": look.read_button,
                "signature": look.signature,
            },
            "utm": look.utm,
            "pace": {
                "max_posts_per_hour": pace.max_posts_per_hour,
                "quiet_hours": pace.quiet_hours,
                "quiet_mode": pace.quiet_mode,
                "roundup": pace.roundup,
            },
            "approval": settings.approval,
            "approval_offered": self._screens.approval_offered,
            "forum": chat.is_forum,
            "breaking_topic": settings.breaking_topic,
            "topics": {
                section: {"thread_id": topic.usable, "name": topic.name, "source": topic.source}
                for section, topic in sorted(audience.topics.items())
            },
        }


def _language(caller: Caller) -> str:
    """The caller's Telegram language ("en-GB" -> "en"): the sections' titles are in it."""
    return (caller.user.language_code or "en").split("-")[0].lower()


def _reason(refused: SettingRefused) -> str:
    return refused.reason or f"{refused.setting}: not a value this setting takes"


def _json(body: object) -> JSONResponse:
    return JSONResponse(body, headers=NO_STORE)
