"""The bot's own settings: getMe, its commands per scope and language, its descriptions, its
menu button (the default one and one per private chat)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from tests.fakes.bot_api.values import _bad
from tests.fakes.bot_api.vocabulary import _COMMAND_RE


class BotMethods:
    """getMe, logOut/close, set/get/deleteMyCommands, set/getMy(Short)Description,
    set/getChatMenuButton.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

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

    # ---------------------------------------------------------------- the menu button

    def _menu_chat(self, params: dict[str, Any]) -> int | None:
        """The private chat a menu-button call names (None: the bot's default button).

        Telegram takes a user's id only, and only a user the bot knows: with
        ``strict_private_chats``, one who has written to it (else any positive id is a user).
        """
        raw = params.get("chat_id")
        if raw is None or raw == "":
            return None
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad("invalid chat_id specified") from None
        if chat_id <= 0:
            raise _bad("invalid chat_id specified")
        state = self._chats.get(chat_id)
        if state is not None and state.chat.type != "private":
            raise _bad("invalid chat_id specified")
        if self.strict_private_chats and (state is None or not state.started):
            raise _bad("user not found")
        return chat_id

    def _api_set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        """MenuButton: commands, default, or web_app with a text and an https URL."""
        chat_id = self._menu_chat(params)
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict):
            raise _bad("can't parse menu button: MenuButton must be an Object")
        kind = button.get("type")
        if kind in {"commands", "default"}:
            cleaned: dict[str, Any] = {"type": kind}
        elif kind == "web_app":
            text, web_app = button.get("text"), button.get("web_app")
            url = web_app.get("url") if isinstance(web_app, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise _bad("menu button text must be non-empty")
            if not isinstance(url, str) or not url:
                raise _bad("can't parse menu button: Web App URL must be non-empty")
            if not url.startswith("https://") or any(ch.isspace() for ch in url):
                raise _bad(
                    f"menu button Web App URL '{url}' is invalid: Only HTTPS links are allowed"
                )
            cleaned = {"type": "web_app", "text": text, "web_app": {"url": url}}
        else:
            raise _bad("can't parse menu button: unsupported menu button type")
        if chat_id is not None and kind == "default":
            self.menu_buttons.pop(chat_id, None)  # the chat follows the default again
        else:
            self.menu_buttons[chat_id] = cleaned
        return True

    def _api_get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        """The chat's own button, else the default one, else Telegram's: the commands list."""
        chat_id = self._menu_chat(params)
        button = self.menu_buttons.get(chat_id) if chat_id is not None else None
        if button is None:
            button = self.menu_buttons.get(None, {"type": "commands"})
        if button["type"] == "default":
            button = {"type": "commands"}
        return copy.deepcopy(button)
