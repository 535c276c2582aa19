"""A chat's channel settings as its admins change them from /channels -> the chat -> Settings.

Switches flip at a press. Text settings are asked for (the bot's question, answered by a
reply): the answer is read here (`parse_setting`), checked by the config's own validators
(bot/config.py ChannelConfig: the same filters, limits and template check as a [[channels]]
key), kept in desk_prompts with the question, previewed on the newest story the chat would
get with it, and written only on Confirm, on top of the chat's settings as they are then.

How answers are read:
- include, exclude: words or phrases, one per line or separated by commas (a phrase is the
  words between two separators: "Almaty metro, Astana" is two terms);
- include_regex, exclude_regex: one pattern per line (commas belong to patterns: `a{1,3}`);
- template: the text as typed; read_button, signature, utm, max_posts_per_hour,
  quiet_hours ("23:00-07:00"): one line, spaces around it dropped.
Nothing here knows Telegram: the handlers (bot/entrypoints/telegram/handlers/channel_settings.py)
ask, verify the admin with Telegram and render.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pydantic import ValidationError

from bot.config import ChannelConfig, Settings
from bot.delivery.compose import Composer
from bot.domain.channel_rules import DeskRules, DeskSettings, StoryText
from bot.domain.filters import CompiledFilter, FilterError, StoryWords, check_pattern_budget
from bot.outbound.i18n import Catalogues
from bot.outbound.message import OutgoingMessage
from bot.outbound.templates import (
    MESSAGE_LIMIT,
    TemplateFields,
    TemplateRefused,
    check_template,
)
from bot.services.related import RelatedStories
from storage import channel_rules as rule_queries
from storage import destinations as destination_queries
from storage import editions as edition_queries
from storage import prompts as prompt_queries
from storage import stories as story_queries
from storage import topics as topic_queries
from storage.db import Database
from storage.models import Destination, Story
from storage.prompts import SettingPrompt
from storage.topics import Topic

TERM_LISTS = ("include", "exclude")
PATTERN_LISTS = ("include_regex", "exclude_regex")
FILTERS = TERM_LISTS + PATTERN_LISTS
FORMAT_TEXTS = ("template", "read_button", "signature", "utm")
PACE_TEXTS = ("max_posts_per_hour", "quiet_hours")
TEXT_SETTINGS = FILTERS + FORMAT_TEXTS + PACE_TEXTS
# Format switches (DeskFormat fields), then those that are not: quiet mode, the roundup over
# the cap (DeskPace's) and approval (last: offered only with a desk chat).
FORMAT_SWITCHES = ("summary", "related", "image", "link_preview", "hashtags")
QUIET_MODE = "quiet_mode"
ROUNDUP = "roundup"
APPROVAL = "approval"
SWITCHES = (*FORMAT_SWITCHES, QUIET_MODE, ROUNDUP, APPROVAL)
QUIET_MODES = ("silent", "hold")

# How many of a chat's newest stories the preview looks through for one its filters admit.
PREVIEW_CANDIDATES = 200
# How many of a chat's newest stories a template is tried on before it is saved (with the
# built-in samples, bot/outbound/templates.py), all within the check's one second.
TEMPLATE_TRIALS = 10
# How many of a chat's newest stories the console's filter tester sorts.
FILTER_TRIALS = 50

_TERM_SEPARATORS = re.compile(r"[\n,]")

Value = list[str] | str | int | None


class SettingRefused(ValueError):
    """An answer that is not saved: `reason` is the validator's one line (re2's own message,
    the template's line, a limit), None when the setting's hint says it better."""

    def __init__(self, setting: str, reason: str | None = None) -> None:
        super().__init__(reason or setting)
        self.setting = setting
        self.reason = reason


def _lines(text: str, separators: re.Pattern[str]) -> list[str]:
    items = (item.strip() for item in separators.split(text))
    return list(dict.fromkeys(item for item in items if item))


def parse_setting(setting: str, text: str, stories: Sequence[TemplateFields] = ()) -> Value:
    """An answer as the setting's value, checked as the config checks that key (a template
    also on `stories`, the chat's recent ones). Blocks (a template is tried in the sandbox's
    worker): call it from a thread."""
    value: Value
    if setting in TERM_LISTS:
        value = _lines(text, _TERM_SEPARATORS)
    elif setting in PATTERN_LISTS:
        value = [line for line in (line.strip() for line in text.splitlines()) if line]
    elif setting == "template":
        value = text.strip("\n")
        try:
            check_template(value, stories)
        except TemplateRefused as exc:
            raise SettingRefused(setting, str(exc)) from None
        return value  # the config's check of this key is the one just made
    elif setting == "max_posts_per_hour":
        try:
            value = int(text.strip())
        except ValueError:
            raise SettingRefused(setting) from None
    elif setting == "quiet_hours":
        value = re.sub(r"\s+", "", text)
    elif setting in FORMAT_TEXTS:
        value = text.strip()
    else:
        raise SettingRefused(setting)
    _validate(setting, value)
    return value


def _validate(setting: str, value: Value) -> None:
    """The config's validation of this key (bot/config.py ChannelConfig), as one line."""
    try:
        ChannelConfig.model_validate({"chat": 0, setting: value})
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["type"] in ("string_pattern_mismatch", "int_parsing"):
            raise SettingRefused(setting) from None  # the hint says what is expected
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise SettingRefused(setting, reason) from None


def cleared(setting: str) -> Value:
    return [] if setting in FILTERS else None


def apply(settings: DeskSettings, setting: str, value: Value) -> DeskSettings:
    """`settings` with one text setting set to `value` (see `cleared`)."""
    if setting in FILTERS:
        items = tuple(value) if isinstance(value, list) else ()
        return replace(settings, filters=replace(settings.filters, **{setting: items}))
    if setting in FORMAT_TEXTS:
        return replace(settings, format=replace(settings.format, **{setting: value or None}))
    if setting in PACE_TEXTS:
        return replace(settings, pace=replace(settings.pace, **{setting: value or None}))
    raise ValueError(f"not a text setting: {setting}")


def toggled(settings: DeskSettings, switch: str) -> DeskSettings:
    """`settings` with one switch flipped (quiet mode: silent <-> hold)."""
    if switch in FORMAT_SWITCHES:
        look = settings.format
        return replace(settings, format=replace(look, **{switch: not getattr(look, switch)}))
    if switch == QUIET_MODE:
        mode = "hold" if settings.pace.quiet_mode == "silent" else "silent"
        return replace(settings, pace=replace(settings.pace, quiet_mode=mode))
    if switch == ROUNDUP:
        return replace(settings, pace=replace(settings.pace, roundup=not settings.pace.roundup))
    if switch == APPROVAL:
        return replace(settings, approval=not settings.approval)
    raise ValueError(f"not a switch: {switch}")


def current(settings: DeskSettings, setting: str) -> Value:
    """A text setting's value as stored (lists as lists)."""
    if setting in FILTERS:
        return list(getattr(settings.filters, setting))
    if setting in FORMAT_TEXTS:
        return getattr(settings.format, setting)  # type: ignore[no-any-return]
    return getattr(settings.pace, setting)  # type: ignore[no-any-return]


def encode(value: Value) -> str:
    return json.dumps(value, ensure_ascii=False)


def decode(value: str) -> Value:
    return json.loads(value)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Preview:
    """The settings an answer makes, and the newest story the chat would get with them,
    rendered as the chat would get it (None: none of its recent stories passes the
    filters)."""

    settings: DeskSettings
    message: OutgoingMessage | None = None
    # The story rendered (None with no message): the console's test send names it.
    story: Story | None = None


@dataclass(frozen=True, slots=True)
class Audience:
    """A chat's sections and editions (sorted), whether it takes breaking news, and its
    forum topics by section."""

    sections: list[str]
    editions: list[str]
    breaking: bool
    topics: dict[str, Topic]


class ChannelScreens:
    """Reads and writes a chat's channel settings for the admin screens (admins verified by
    the caller, with Telegram, before every change)."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        catalogues: Catalogues,
        related: RelatedStories,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._settings = settings
        self._catalogues = catalogues
        self._related = related
        self._clock = clock

    @property
    def approval_offered(self) -> bool:
        """Approval needs the editors' group (Settings.desk_chat) to send stories to."""
        return self._settings.desk_chat is not None

    async def settings_of(self, destination_id: int) -> DeskSettings:
        async with self._db.sessions() as session:
            return await rule_queries.settings_of(session, destination_id)

    async def _write(
        self, destination_id: int, change: Callable[[DeskSettings], DeskSettings]
    ) -> DeskSettings:
        """Apply `change` to the settings as they are now and store them (a new version)."""
        async with self._db.writing(), self._db.sessions.begin() as session:
            now = await rule_queries.settings_of(session, destination_id)
            changed = change(now)
            await rule_queries.write_rules(session, destination_id, changed, self._clock())
        return changed

    async def change(
        self, destination_id: int, change: Callable[[DeskSettings], DeskSettings]
    ) -> DeskSettings:
        """Store checked values (the console's form) on top of the settings as they are now."""
        return await self._write(destination_id, change)

    async def toggle(self, destination_id: int, switch: str) -> DeskSettings:
        if switch == APPROVAL and not self.approval_offered:
            raise ValueError("approval needs desk_chat")
        return await self._write(destination_id, lambda now: toggled(now, switch))

    async def clear(self, destination_id: int, setting: str) -> DeskSettings:
        return await self._write(destination_id, lambda now: apply(now, setting, cleared(setting)))

    async def ask(
        self, *, chat_id: int, message_id: int, user_id: int, destination_id: int, setting: str
    ) -> None:
        """Remember the question (the message it was asked with): its answer is a reply."""
        async with self._db.writing(), self._db.sessions.begin() as session:
            await prompt_queries.add_setting_prompt(
                session,
                chat_id=chat_id,
                message_id=message_id,
                user_id=user_id,
                destination_id=destination_id,
                setting=setting,
                now=self._clock(),
            )

    async def prompt(self, chat_id: int, message_id: int) -> SettingPrompt | None:
        async with self._db.sessions() as session:
            return await prompt_queries.setting_prompt(session, chat_id, message_id)

    async def answer(self, prompt: SettingPrompt, text: str) -> Preview:
        """Read and check the answer (SettingRefused), keep it with the question until
        Confirm, and pick the story that previews it. The checks run off the event loop
        (a template in the sandbox's worker, patterns compiled by re2)."""
        value = await self.check(prompt.destination_id, prompt.setting, text)
        async with self._db.writing(), self._db.sessions.begin() as session:
            await prompt_queries.set_value(
                session, prompt.chat_id, prompt.message_id, encode(value)
            )
        return await self.preview(prompt.destination_id, prompt.setting, value)

    async def check(self, destination_id: int, setting: str, text: str) -> Value:
        """An answer read and checked as the chat prompts check it (SettingRefused), off the
        event loop: a template tried on the chat's recent stories in the sandbox's worker,
        patterns against re2's budget with the chat's other list."""
        stories: list[TemplateFields] = []
        if setting == "template":
            recent = await self._newest(destination_id, TEMPLATE_TRIALS)
            stories = [_trial_fields(story) for story in recent]
        value = await asyncio.to_thread(parse_setting, setting, text, stories)
        if setting in PATTERN_LISTS:
            proposed = apply(await self.settings_of(destination_id), setting, value)
            await asyncio.to_thread(check_patterns_of, setting, proposed)
        return value

    async def filter_test(
        self, destination_id: int, lists: dict[str, list[str]], limit: int = FILTER_TRIALS
    ) -> tuple[list[Story], list[Story]]:
        """(let through, stopped) of the chat's `limit` newest stories under a filter not
        saved: each list checked as the config checks it, the patterns compiled by re2 (and
        within its budget) off the event loop (SettingRefused)."""
        values = {
            setting: await asyncio.to_thread(parse_setting, setting, "\n".join(items))
            for setting, items in lists.items()
        }
        rules = DeskRules(destination_id, 0, **{k: tuple(v or ()) for k, v in values.items()})
        proposed = DeskSettings(filters=rules)
        await asyncio.to_thread(check_patterns_of, "include_regex", proposed)
        try:
            judge = await asyncio.to_thread(_judge, proposed)
        except FilterError as exc:
            raise SettingRefused("include_regex", str(exc)) from None
        stories = await self._newest(destination_id, limit)
        passed = [story for story in stories if judge(story)]
        return passed, [story for story in stories if not judge(story)]

    async def audience(self, destination_id: int) -> Audience:
        """Who the chat is in the newsroom's eyes: what /channels and /topic change."""
        async with self._db.sessions() as session:
            return Audience(
                sections=sorted(await destination_queries.sections_of(session, destination_id)),
                editions=sorted(await edition_queries.editions_of(session, destination_id)),
                breaking=await destination_queries.takes_breaking(session, destination_id),
                topics=await topic_queries.topics_of(session, destination_id),
            )

    async def _newest(self, destination_id: int, limit: int) -> list[Story]:
        """The chat's newest stories (of its sections and editions)."""
        async with self._db.sessions() as session:
            sections = sorted(await destination_queries.sections_of(session, destination_id))
            editions = sorted(await edition_queries.editions_of(session, destination_id))
            return await story_queries.newest_for(
                session, sections=sections, editions=editions, limit=limit
            )

    async def preview(self, destination_id: int, setting: str, value: Value) -> Preview:
        """The chat's settings with `value`, and its newest recent story they admit, rendered
        by the sender's own composer in the chat's language and the new format."""
        return await self.preview_with(destination_id, lambda now: apply(now, setting, value))

    async def preview_with(
        self, destination_id: int, change: Callable[[DeskSettings], DeskSettings]
    ) -> Preview:
        """`preview` of the chat's settings changed by `change` (several unsaved values)."""
        async with self._db.sessions() as session:
            proposed = change(await rule_queries.settings_of(session, destination_id))
            destination = await session.get(Destination, destination_id)
            sections = sorted(await destination_queries.sections_of(session, destination_id))
            editions = sorted(await edition_queries.editions_of(session, destination_id))
            candidates = await story_queries.newest_for(
                session, sections=sections, editions=editions, limit=PREVIEW_CANDIDATES
            )
        # Compiled once, off the event loop (re2 takes its time), for every candidate.
        judge = await asyncio.to_thread(_judge, proposed)
        story = next((s for s in candidates if judge(s)), None)
        if story is None or destination is None:
            return Preview(proposed)
        # A composer of its own: the sender's caches nothing for a format not saved yet.
        composer = Composer(self._db, self._settings, self._catalogues, self._related)
        message = await composer.story(
            story.id, destination.language, proposed.format, str(destination.chat_id)
        )
        return Preview(proposed, message, story if message is not None else None)

    async def confirm(self, prompt: SettingPrompt) -> DeskSettings | None:
        """Save the waiting answer on top of the settings as they are now and forget the
        question; None when it was answered already (a second press, another instance)."""
        if prompt.value is None:
            return None
        value = decode(prompt.value)
        async with self._db.writing(), self._db.sessions.begin() as session:
            if not await prompt_queries.drop_prompt(session, prompt.chat_id, prompt.message_id):
                return None
            now = await rule_queries.settings_of(session, prompt.destination_id)
            changed = apply(now, prompt.setting, value)
            await rule_queries.write_rules(session, prompt.destination_id, changed, self._clock())
        return changed

    async def cancel(self, prompt: SettingPrompt) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await prompt_queries.drop_prompt(session, prompt.chat_id, prompt.message_id)


def _judge(settings: DeskSettings) -> Callable[[Story], bool]:
    """Would the fan-out send a story to a chat with these filters? (Compiles them: blocks.)"""
    if not settings.filters.filtered:
        return lambda story: True
    compiled = CompiledFilter.of(settings.filters)

    def admitted(story: Story) -> bool:
        text = StoryText(
            story.id, story.title or "", story.summary or "", tuple(story.categories or ())
        )
        return compiled.admits(StoryWords.of(text))

    return admitted


def check_patterns_of(setting: str, settings: DeskSettings) -> None:
    """SettingRefused when the chat's patterns, both lists together, are over re2's budget."""
    rules = settings.filters
    try:
        check_pattern_budget([*rules.include_regex, *rules.exclude_regex])
    except FilterError as exc:
        raise SettingRefused(setting, str(exc)) from None


def _trial_fields(story: Story) -> TemplateFields:
    """A stored story as a template would see it, near enough to try the template on."""
    published = story.published_at
    return TemplateFields(
        title=story.title or "",
        summary=(story.summary or "")[:MESSAGE_LIMIT],  # as the renderer cuts it
        link=story.link or "",
        section=story.section or "",
        hashtags=f"#{story.section}" if story.section else "",
        time=published.strftime("%H:%M"),
        date=published.strftime("%d.%m.%Y"),
        author=story.author or "",
        image=story.image_url or "",
        related=(),
        edition=story.edition or story.language or "",
        other_editions=(),
    )
