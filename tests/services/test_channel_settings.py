"""How an admin's typed answer becomes a setting (bot/services/channel_settings.py), and that a
question and its waiting answer live in the database: another instance (or the bot after a
restart) confirms what this one previewed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.outbound.i18n import Catalogues
from bot.services.channel_settings import ChannelScreens, SettingRefused, parse_setting
from bot.services.related import RelatedStories
from storage import channel_rules as desk_queries
from storage import destinations
from storage.db import Database
from storage.destinations import ChatInfo

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_words_are_one_per_line_or_comma_separated_once_each() -> None:
    typed = "Almaty, Алматы\n  metro stations ,\n\nAlmaty"
    assert parse_setting("include", typed) == ["Almaty", "Алматы", "metro stations"]


def test_patterns_are_one_per_line_and_keep_their_commas() -> None:
    assert parse_setting("exclude_regex", r"a{1,3}b" + "\n\n(?i)sponsored ") == [
        "a{1,3}b",
        "(?i)sponsored",
    ]


@pytest.mark.parametrize(
    ("setting", "typed", "value"),
    [
        ("quiet_hours", " 23:00 - 07:00 ", "23:00-07:00"),
        ("max_posts_per_hour", " 6 ", 6),
        ("signature", "  @kazinform_ru ", "@kazinform_ru"),
        (
            "utm",
            "utm_source=telegram&utm_campaign={chat}",
            "utm_source=telegram&utm_campaign={chat}",
        ),
    ],
)
def test_one_line_settings(setting: str, typed: str, value: object) -> None:
    assert parse_setting(setting, typed) == value


@pytest.mark.parametrize(
    ("setting", "typed", "reason"),
    [
        ("max_posts_per_hour", "5000", "less than or equal to 3600"),
        ("read_button", "x" * 65, "at most 64 characters"),
        ("include", "!!!", "has no letters or digits"),
        ("quiet_hours", "25:00-07:00", None),  # the hint says what is expected
        ("utm", "utm_source=a b", None),
        ("max_posts_per_hour", "six", None),
    ],
)
def test_the_configs_limits_refuse(setting: str, typed: str, reason: str | None) -> None:
    with pytest.raises(SettingRefused) as refused:
        parse_setting(setting, typed)
    if reason is None:
        assert refused.value.reason is None
    else:
        assert refused.value.reason is not None and reason in refused.value.reason


async def test_a_waiting_answer_survives_a_restart(database: Database) -> None:
    settings = Settings(sections=[{"slug": "parliament", "title": {"en": "Parliament"}}])
    async with database.sessions.begin() as session:
        chat = await destinations.ensure_destination(
            session, ChatInfo(-1001, "channel", "Partner", editions=("en",)), NOW
        )
    first = ChannelScreens(
        database, settings, Catalogues.load(), RelatedStories(database), clock=lambda: NOW
    )
    await first.ask(chat_id=7, message_id=70, user_id=7, destination_id=chat.id, setting="exclude")
    prompt = await first.prompt(7, 70)
    assert prompt is not None
    preview = await first.answer(prompt, "football, casino")
    assert preview.message is None  # the chat takes no section yet: nothing to preview

    after_restart = ChannelScreens(database, settings, Catalogues.load(), RelatedStories(database))
    waiting = await after_restart.prompt(7, 70)
    assert waiting is not None and waiting.target_chat_id == -1001
    assert (await after_restart.confirm(waiting)) is not None
    assert await after_restart.confirm(waiting) is None  # a second Confirm: closed
    async with database.sessions() as session:
        stored = await desk_queries.settings_of(session, chat.id)
    assert stored.filters.exclude == ("football", "casino") and stored.filters.version == 1
