"""Start-up refuses a bad config with one clear line naming the key, and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import ConfigError, load_settings

GOOD = """
timezone = "Asia/Almaty"
language = "kk"
editors = [111111111]
poll_interval = 60

[[sections]]
slug = "parliament"
title = { en = "Parliament", ru = "Парламент", kk = "Парламент" }
categories = ["Parliament", "Парламент"]

[[feeds]]
url = "https://example.org/rss/en.xml"
section = "parliament"
language = "en"
poll_interval = 30
"""


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "newsbot.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "NEWSBOT_CONFIG",
        "NEWSBOT_DATABASE_URL",
        "NEWSBOT_POLL_INTERVAL",
        "NEWSBOT_TIMEZONE",
        "NEWSBOT_BOT_API_URL",
        "TELEGRAM_BOT_TOKEN",
        "NEWSBOT_CONSOLE_URL",
        "NEWSBOT_CONSOLE_SESSION_TTL",
        "NEWSBOT_HTTP_PORT",
    ):
        monkeypatch.delenv(name, raising=False)


def test_good_config_loads_with_localised_titles(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    assert settings.timezone == "Asia/Almaty"
    assert settings.sections[0].title_in("ru") == "Парламент"
    assert settings.feeds[0].poll_interval == 30
    assert settings.database_url == "sqlite:///newsbot.db"
    assert settings.bot_api_url == "https://api.telegram.org"


def test_environment_overrides_top_level_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBOT_POLL_INTERVAL", "5")
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "postgresql://bot:pw@db/news")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("NEWSBOT_CONFIG", _write(tmp_path, GOOD))
    settings = load_settings()
    assert settings.poll_interval == 5
    assert settings.database_url == "postgresql://bot:pw@db/news"
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123:abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('timezone = "Mars/Olympus"', "timezone: unknown time zone 'Mars/Olympus'"),
        ("poll_interval = 0", "poll_interval:"),
        ("pol_interval = 60", "pol_interval: unknown key"),
        ('language = "de"', "language:"),
        ('[[feeds]]\nurl = "ftp://x"', "feeds.0.url:"),
        ('[[feeds]]\nurl = "https://x.kz/rss"\nsectoin = "a"', "feeds.0.sectoin: unknown key"),
        ('[[feeds]]\nurl = "https://x.kz/rss"\nsection = "sport"', "names section 'sport'"),
        ("editors = ['bob']", "editors.0:"),
        ("timezone = ", "is not valid TOML"),
        (
            'editions = ["ru"]\n[[feeds]]\nurl = "https://x.kz/kk"\nlanguage = "kk"',
            "feeds: https://x.kz/kk has language 'kk', which is not in editions ['ru']",
        ),
        ('editions = ["ru", "Russian"]', "editions.1:"),
        ('editions = ["ru", "ru"]', "editions: an edition is listed twice"),
        (
            'http_port = 8080\nconsole_url = "http://news.example/console/"',
            "console_url: must be an https:// address",
        ),
        ('http_port = 8080\nconsole_url = "news.example/console/"', "console_url: must be an"),
        ('http_port = 8080\nconsole_url = "https://"', "console_url: must be an https:// address"),
        ('http_port = 8080\nconsole_url = "https://[::1/console"', "console_url: must be an"),
        ('console_url = "https://news.example/console/"', "console_url: needs http_port"),
        ("console_session_ttl = 30", "console_session_ttl:"),
        ('console_session_ttl = "an hour"', "console_session_ttl:"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_console_is_off_by_default_and_on_at_an_https_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    assert settings.console_url is None and settings.console_session_ttl == 3600
    text = 'http_port = 8080\nconsole_url = "https://news.example/console/"\n'
    settings = load_settings(_write(tmp_path, text + "console_session_ttl = 900\n"))
    assert settings.console_url == "https://news.example/console/"
    assert settings.console_session_ttl == 900
    monkeypatch.setenv("NEWSBOT_CONSOLE_URL", "http://news.example/console/")
    with pytest.raises(ConfigError, match="console_url: must be an https:// address"):
        load_settings(_write(tmp_path, text))


def test_editions_default_to_the_feeds_languages_in_their_order(tmp_path: Path) -> None:
    feeds = "".join(
        f'[[feeds]]\nurl = "https://x.kz/{n}"\nlanguage = "{code}"\n'
        for n, code in enumerate(("kk", "ru", "kk", "en"))
    )
    settings = load_settings(_write(tmp_path, 'language = "ru"\n' + feeds))
    assert settings.editions == ["kk", "ru", "en"] and settings.default_edition == "ru"
    assert load_settings(_write(tmp_path, 'language = "kk"')).editions == ["kk"]


def test_cli_exits_2_with_the_reason_and_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "poll_interval = -5\n")
    result = CliRunner().invoke(main, ["poll", "--config", path])
    assert result.exit_code == 2
    assert "poll_interval" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_missing_named_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["feeds", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "not found" in result.stderr


def test_the_readmes_example_config_loads() -> None:
    """The README's first command runs the bot with examples/newsbot.toml: it must be valid."""
    example = Path(__file__).resolve().parent.parent / "examples" / "newsbot.toml"
    settings = load_settings(str(example))
    assert settings.timezone == "Asia/Almaty" and len(settings.sections) >= 5
    assert {feed.language for feed in settings.feeds if feed.role == "news"} == {"en", "ru", "kk"}
    assert [feed.role for feed in settings.feeds].count("popular") == 1
    # A three-edition newsroom: a feed per language per section, each naming its language.
    assert settings.editions == ["kk", "ru", "en"]
    news = [feed for feed in settings.feeds if feed.role == "news"]
    assert {(feed.section, feed.language) for feed in news} == {
        (section.slug, edition) for section in settings.sections for edition in settings.editions
    }


def test_a_most_read_feed_is_polled_with_its_role(tmp_path: Path) -> None:
    """A role = "popular" feed is synced and polled like any feed; the poller keeps its order
    instead of storing its items (tests/feeds/test_most_read_feed.py)."""
    from bot.setup.config_sync import feed_specs

    config = tmp_path / "newsbot.toml"
    config.write_text(
        '[[feeds]]\nurl = "https://n.example/rss"\n\n'
        '[[feeds]]\nurl = "https://n.example/popular"\nrole = "popular"\n'
    )
    specs = feed_specs(load_settings(str(config)))
    assert [(spec.url, spec.role) for spec in specs] == [
        ("https://n.example/rss", "news"),
        ("https://n.example/popular", "popular"),
    ]
    config.write_text('[[feeds]]\nurl = "https://n.example/rss"\nrole = "trending"\n')
    with pytest.raises(ConfigError, match=r"feeds\.0\.role"):
        load_settings(str(config))
