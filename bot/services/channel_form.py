"""A chat's settings changed from the console's form (issue 24), over the chat prompts' code.

The form sends the fields to change at once; each is read and checked exactly as the chat
prompts read and check it (bot/services/channel_settings.py `ChannelScreens.check`: the
config's validators, a template in the sandbox's worker, patterns against re2's budget), and
only when every field passes are they stored, in one version, through the path the prompts
confirm through (`ChannelScreens.change` -> storage.channel_rules.write_rules). A refused field
raises SettingRefused and nothing is stored. Lists arrive as JSON lists (one term or pattern
each), the rest as the prompts' text; null clears a text setting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace

from bot.domain.channel_rules import DeskSettings
from bot.services.channel_settings import (
    APPROVAL,
    FILTERS,
    FORMAT_SWITCHES,
    QUIET_MODE,
    QUIET_MODES,
    TEXT_SETTINGS,
    ChannelScreens,
    Preview,
    SettingRefused,
    Value,
    apply,
    check_patterns_of,
    cleared,
)

# Every field the form may change.
FIELDS = (*TEXT_SETTINGS, *FORMAT_SWITCHES, QUIET_MODE, APPROVAL)

Change = Callable[[DeskSettings], DeskSettings]


def as_text(setting: str, raw: object) -> str:
    """A JSON value as the text a chat prompt's answer would be (SettingRefused otherwise)."""
    if setting in FILTERS:
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            return "\n".join(raw)
        raise SettingRefused(setting, f"{setting} must be a list of text")
    if setting == "max_posts_per_hour" and isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str):
        return raw
    raise SettingRefused(setting, f"{setting} must be text")


def switched(setting: str, on: bool) -> Change:
    def change(settings: DeskSettings) -> DeskSettings:
        if setting == APPROVAL:
            return replace(settings, approval=on)
        return replace(settings, format=replace(settings.format, **{setting: on}))

    return change


def quiet(mode: str) -> Change:
    return lambda settings: replace(settings, pace=replace(settings.pace, quiet_mode=mode))


def setting_to(setting: str, value: Value) -> Change:
    return lambda settings: apply(settings, setting, value)


class ChannelForm:
    def __init__(self, screens: ChannelScreens) -> None:
        self._screens = screens

    async def changes(self, destination_id: int, fields: Mapping[str, object]) -> list[Change]:
        """Each field read and checked (SettingRefused on the first refused one)."""
        found: list[Change] = []
        for setting, raw in fields.items():
            if setting not in FIELDS:
                raise SettingRefused(setting, f"{setting} is not a setting the console changes")
            if setting in TEXT_SETTINGS:
                if raw is None:
                    value = cleared(setting)
                else:
                    text = as_text(setting, raw)
                    value = await self._screens.check(destination_id, setting, text)
                found.append(setting_to(setting, value))
            elif setting == QUIET_MODE:
                if raw not in QUIET_MODES:
                    raise SettingRefused(setting, "quiet_mode must be silent or hold")
                found.append(quiet(str(raw)))
            else:
                if not isinstance(raw, bool):
                    raise SettingRefused(setting, f"{setting} must be true or false")
                if setting == APPROVAL and raw and not self._screens.approval_offered:
                    raise SettingRefused(setting, "approval needs the editors' desk (desk_chat)")
                found.append(switched(setting, raw))
        return found

    async def update(self, destination_id: int, fields: Mapping[str, object]) -> DeskSettings:
        """Check every field, then store them all in one version (see the module)."""
        change = _all(await self.changes(destination_id, fields))
        # Both pattern lists together within re2's budget, as they will be stored.
        proposed = change(await self._screens.settings_of(destination_id))
        await asyncio.to_thread(check_patterns_of, "include_regex", proposed)
        return await self._screens.change(destination_id, change)

    async def preview(self, destination_id: int, fields: Mapping[str, object]) -> Preview:
        """The newest story the chat would get with these unsaved fields (SettingRefused)."""
        change = _all(await self.changes(destination_id, fields))
        return await self._screens.preview_with(destination_id, change)


def _all(changes: list[Change]) -> Change:
    def change(settings: DeskSettings) -> DeskSettings:
        for one in changes:
            settings = one(settings)
        return settings

    return change
