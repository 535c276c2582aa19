"""The interface in English, Russian and Kazakh: complete catalogues, fallbacks, dates."""

from __future__ import annotations

import logging
import re
import shutil
import string
import subprocess
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.outbound.i18n import SUPPORTED, Catalogues, Translator, language_name, pick_language

ALMATY = ZoneInfo("Asia/Almaty")  # UTC+5 since March 2024
MOMENT = datetime(2025, 11, 18, 12, 38, tzinfo=UTC)
BOT_SOURCES = Path(__file__).resolve().parents[2] / "bot"

REQUIRED_KEYS = [
    "welcome",
    "help",
    "cmd_start",
    "cmd_help",
    "cmd_latest",
    "cmd_sections",
    "cmd_section",
    "cmd_today",
    "cmd_popular",
    "cmd_subscribe",
    "cmd_unsubscribe",
    "cmd_subscriptions",
    "cmd_language",
    "cmd_search",
    "cmd_channels",
    "cmd_breaking",
    "cmd_failures",
    "failures_title",
    "failures_none",
    "latest_title",
    "section_title",
    "today_title",
    "popular_title",
    "search_title",
    "no_stories",
    "nothing_found",
    "sections_title",
    "unknown_section",
    "section_needed",
    "subscribed",
    "unsubscribed",
    "already_subscribed",
    "not_subscribed",
    "no_subscriptions",
    "subscriptions_title",
    "subscriptions_keyboard_title",
    "language_title",
    "language_set",
    "search_needs_words",
    "query_too_long",
    "unknown_command",
    "too_many_arguments",
    "stale_button",
    "slow_down",
    "related",
    "read",
    "breaking",
    "breaking_not_editor",
    "breaking_needs_text",
    "breaking_preview_title",
    "confirm",
    "cancel",
    "breaking_cancelled",
    "breaking_sending",
    "breaking_report",
    "breaking_already_handled",
    "channels_none",
    "channels_title",
    "channel_topics_title",
    "channel_breaking_toggle",
    "not_admin_anymore",
    "bot_added_to_channel",
    "group_admins_only",
    "page",
    "previous",
    "next",
    "error_generic",
    "subscribe_via_deep_link",
    "published_at",
    "on_off_on",
    "on_off_off",
]

# Texts a reader sees on every visit: an untranslated one would be obvious.
KEY_UI_STRINGS = (
    "welcome",
    "help",
    "latest_title",
    "sections_title",
    "read",
    "related",
    "breaking",
    "cmd_latest",
    "cmd_subscribe",
    "no_stories",
    "error_generic",
    "language_set",
)

COMMANDS = [
    "latest",
    "sections",
    "section",
    "today",
    "popular",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "language",
    "search",
    "channels",
]


@pytest.fixture(scope="module")
def catalogues() -> Catalogues:
    return Catalogues.load()


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_english_key_exists_in_russian_and_kazakh(catalogues: Catalogues) -> None:
    english = catalogues.keys("en")
    for language in ("ru", "kk"):
        assert english - catalogues.keys(language) == set(), language
        assert catalogues.keys(language) - english == set(), f"{language} has unknown keys"


def test_every_required_key_is_in_the_english_catalogue(catalogues: Catalogues) -> None:
    assert set(REQUIRED_KEYS) - catalogues.keys("en") == set()


def test_every_key_the_bot_asks_for_exists(catalogues: Catalogues) -> None:
    asked = {
        match.group(1)
        for path in BOT_SOURCES.rglob("*.py")
        for match in re.finditer(
            r"""\bt(?:\.plural)?\(\s*["']([a-z_]+)["']""", path.read_text("utf-8")
        )
    }
    assert asked, "the scan found no t('...') calls"
    assert asked - catalogues.keys("en") == set()


def test_translations_keep_the_english_placeholders(catalogues: Catalogues) -> None:
    en = catalogues.translator("en")
    for language in ("ru", "kk"):
        t = catalogues.translator(language)
        for key in catalogues.keys("en"):
            assert fields(t(key)) == fields(en(key)), f"{language}:{key}"


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_key_ui_strings_are_really_translated(catalogues: Catalogues, language: str) -> None:
    en, t = catalogues.translator("en"), catalogues.translator(language)
    for key in KEY_UI_STRINGS:
        assert t(key, bot_name="X") != en(key, bot_name="X"), key
        assert re.search("[а-яёәғқңөұүһі]", t(key, bot_name="X"), re.IGNORECASE), key


def test_kazakh_uses_kazakh_letters(catalogues: Catalogues) -> None:
    t = catalogues.translator("kk")
    assert t("sections_title") == "Бөлімдер"
    assert t("cmd_subscribe") == "Бөлімдерге жазылу"
    assert t("breaking") == "ШҰҒЫЛ"
    assert "Жаңалықтар" in t("latest_title").title()


def test_breaking_label_and_read_button(catalogues: Catalogues) -> None:
    labels = {language: catalogues.translator(language)("breaking") for language in SUPPORTED}
    assert labels == {"en": "BREAKING", "ru": "СРОЧНО", "kk": "ШҰҒЫЛ"}
    assert catalogues.translator("ru")("read") == "Читать"


def test_language_set_is_written_in_its_own_language(catalogues: Catalogues) -> None:
    said = {language: catalogues.translator(language)("language_set") for language in SUPPORTED}
    assert said == {"en": "Language: English", "ru": "Язык: русский", "kk": "Тіл: қазақша"}


@pytest.mark.parametrize("language", SUPPORTED)
def test_command_menu_descriptions_fit_telegram(catalogues: Catalogues, language: str) -> None:
    """BotCommand.description: 1-256 characters (https://core.telegram.org/bots/api#botcommand)."""
    t = catalogues.translator(language)
    for key in (key for key in catalogues.keys("en") if key.startswith("cmd_")):
        text = t(key)
        assert 1 <= len(text) <= 256, key
        assert "\n" not in text and not text.startswith("/"), key


@pytest.mark.parametrize("language", SUPPORTED)
def test_help_lists_each_command_on_its_own_line(catalogues: Catalogues, language: str) -> None:
    lines = catalogues.translator(language)("help").splitlines()
    for command in COMMANDS:
        assert sum(line.split(" ", 1)[0] == f"/{command}" for line in lines) == 1, command


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ru-RU", "ru"),
        ("ru", "ru"),
        ("kk", "kk"),
        ("kk-KZ", "kk"),
        ("en-GB", "en"),
        ("EN_us", "en"),
        ("de", "ru"),
        ("uk", "ru"),
        ("", "ru"),
        (None, "ru"),
    ],
)
def test_pick_language_maps_telegram_codes(code: str | None, expected: str) -> None:
    assert pick_language(code, "ru") == expected


def test_unknown_or_missing_language_gets_english(catalogues: Catalogues) -> None:
    assert catalogues.translator(None).language == "en"
    assert catalogues.translator("de").language == "en"
    assert catalogues.translator("ru-RU").language == "ru"


@pytest.mark.parametrize("language", SUPPORTED)
def test_format_parameters_work_in_each_language(catalogues: Catalogues, language: str) -> None:
    t = catalogues.translator(language)
    report = t("breaking_report", delivered=3, failed=1, queued=0)
    assert re.findall(r"\d+", report) == ["3", "1", "0"]
    assert "Экономика" in t("section_title", section="Экономика")
    assert "7" in t("page", page=7, pages=9) and "9" in t("page", page=7, pages=9)
    assert "<b>" in t("nothing_found", query="<b>")  # plain text: callers escape it


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("ru", {1: "1 чат", 3: "3 чата", 5: "5 чатов", 11: "11 чатов", 21: "21 чат", 0: "0 чатов"}),
        ("en", {1: "1 chat", 3: "3 chats", 0: "0 chats"}),
        ("kk", {1: "1 чат", 5: "5 чат"}),
    ],
)
def test_counts_read_naturally_in_each_language(
    catalogues: Catalogues, language: str, counts: dict[int, str]
) -> None:
    t = catalogues.translator(language)
    assert {count: t.plural("chats_count", count) for count in counts} == counts


def test_russian_stories_take_the_three_plural_forms(catalogues: Catalogues) -> None:
    t = catalogues.translator("ru")
    assert [t.plural("stories_count", n) for n in (1, 3, 5)] == ["1 сюжет", "3 сюжета", "5 сюжетов"]


def test_missing_plural_falls_back_to_english_forms() -> None:
    catalogues = Catalogues.from_texts(
        {"en": {"chats_count": ("{count} chat", "{count} chats")}, "kk": {}}
    )
    t = catalogues.translator("kk")
    assert (t.plural("chats_count", 1), t.plural("chats_count", 2)) == ("1 chat", "2 chats")


def test_missing_kazakh_text_falls_back_to_english() -> None:
    catalogues = Catalogues.from_texts({"en": {"hello": "Hello, {name}"}, "kk": {}})
    assert catalogues.translator("kk")("hello", name="Aru") == "Hello, Aru"


def test_key_missing_everywhere_shows_the_key_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalogues = Catalogues.from_texts({"en": {}, "ru": {}})
    with caplog.at_level(logging.WARNING, logger="bot.outbound.i18n"):
        assert catalogues.translator("ru")("no_such_key") == "no_such_key"
        assert catalogues.translator("en")("no_such_key") == "no_such_key"
    assert [record.getMessage() for record in caplog.records].count(
        "i18n: no text for key 'no_such_key' in any catalogue"
    ) == 1


def test_broken_translation_falls_back_to_english_instead_of_failing() -> None:
    catalogues = Catalogues.from_texts({"en": {"x": "Hi {name}"}, "ru": {"x": "Привет {имя}"}})
    assert catalogues.translator("ru")("x", name="Аян") == "Hi Аян"


def test_dates_are_localised_in_the_newsroom_zone(catalogues: Catalogues) -> None:
    def date(language: str) -> str:
        return catalogues.translator(language).date(MOMENT, ALMATY).replace("\u202f", " ")

    assert date("en") == "18 November 2025, 17:38"
    assert date("ru") == "18 ноября 2025 г., 17:38"
    assert date("kk") == "2025 ж. 18 қараша, 17:38"


def test_day_and_time(catalogues: Catalogues) -> None:
    days = {language: catalogues.translator(language).day(MOMENT, ALMATY) for language in SUPPORTED}
    assert days == {"en": "18 November", "ru": "18 ноября", "kk": "18 қараша"}
    assert catalogues.translator("kk").time(MOMENT, ALMATY) == "17:38"


def test_durations_read_in_each_language_with_its_plural_forms(catalogues: Catalogues) -> None:
    def duration(language: str, length: timedelta) -> str:
        return catalogues.translator(language).duration(length)

    hour_five = timedelta(hours=1, minutes=5)
    assert duration("en", hour_five) == "1 hour 5 minutes"
    assert duration("ru", hour_five) == "1 час 5 минут"
    assert duration("kk", hour_five) == "1 сағат 5 минут"
    assert duration("ru", timedelta(days=2, hours=3, minutes=9)) == "2 дня 3 часа"
    assert duration("en", timedelta(minutes=31)) == "31 minutes"


def test_the_newsroom_day_is_not_the_utc_day(catalogues: Catalogues) -> None:
    late = datetime(2025, 11, 18, 20, 30, tzinfo=UTC)  # already 19 November in Astana
    assert catalogues.translator("en").day(late, ALMATY) == "19 November"


def test_naive_times_are_taken_as_utc(catalogues: Catalogues) -> None:
    t: Translator = catalogues.translator("en")
    assert t.time(MOMENT.replace(tzinfo=None), ALMATY) == "17:38"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt not installed")
@pytest.mark.parametrize("language", SUPPORTED)
def test_catalogues_are_valid_gettext(language: str) -> None:
    source = resources.files("bot.outbound") / "locales" / language / "LC_MESSAGES"
    with resources.as_file(source / "newsbot.po") as path:
        result = subprocess.run(
            ["msgfmt", "--check", "--output-file=/dev/null", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("kk", "Қазақша"),
        ("ru", "Русский"),
        ("en", "English"),
        ("de", "Deutsch"),
        ("uz", "O‘zbek"),
        ("tt", "Татар"),
        ("zz", "zz"),
    ],
)
def test_an_edition_is_named_in_its_own_language(code: str, name: str) -> None:
    """Edition toggles and version buttons: ours for the interface languages, else CLDR's
    name capitalised, else the code."""
    assert language_name(code) == name
