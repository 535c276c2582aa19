"""The desk's config keys: the issue's whole example loads; bad ones stop start-up with one
line naming the key (re2's own error for a pattern it refuses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

BASE = """
editions = ["ru", "kk"]

[[sections]]
slug = "parliament"
title = "Parliament"

[[sections]]
slug = "elections"
title = "Elections"
"""

DESK = """
desk_chat = -1001111111111
approval_timeout = 21600
"""

EXAMPLE = """
[[channels]]
chat = "@kazinform_ru"
sections = ["parliament", "elections"]
editions = ["ru"]
breaking = true
include = ["Алматы", "Almaty"]
exclude = ["футбол"]
include_regex = []
exclude_regex = ['(?i)\\bреклама\\b']
template = "<b>{{ title }}</b>\\n\\n{{ summary }}\\n\\n{{ hashtags }}"
summary = true
related = true
image = true
link_preview = true
hashtags = true
read_button = "Читать"
signature = "@kazinform_ru"
utm = "utm_source=telegram&utm_medium=channel&utm_campaign={chat}"
max_posts_per_hour = 6
quiet_hours = "23:00-07:00"
quiet_mode = "silent"
approval = false
topics = { parliament = 12 }

[[channels]]
chat = -1002222222222
sections = ["elections"]
"""


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "newsbot.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(str(path))


def test_the_issues_example_loads(tmp_path: Path) -> None:
    settings = _load(tmp_path, DESK + BASE + EXAMPLE)
    assert settings.desk_chat == -1001111111111 and settings.approval_timeout == 21600
    first, second = settings.channels
    assert first.ref == "@kazinform_ru" and first.include == ["Алматы", "Almaty"]
    assert first.topics == {"parliament": 12} and first.max_posts_per_hour == 6
    assert second.ref == "-1002222222222" and second.breaking is True


def test_breaking_news_may_have_a_topic_of_its_own(tmp_path: Path) -> None:
    channel = "[[channels]]\nchat = 1\ntopics = { breaking = 4, parliament = 12 }\n"
    (only,) = _load(tmp_path, BASE + channel).channels
    assert only.topics == {"breaking": 4, "parliament": 12}


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (
            "exclude_regex = ['(?<=a)b']",
            "channels.0.exclude_regex: re2 refuses '(?<=a)b': invalid perl operator: (?<=",
        ),
        ("include_regex = ['(x']", "channels.0.include_regex: re2 refuses '(x': missing )"),
        ("includ = ['x']", "channels.0.includ: unknown key"),
        ("include = ['...']", "channels.0.include: '...' has no letters or digits"),
        (
            "include_regex = [" + ", ".join(["'a'"] * 11) + "]",
            "channels.0.include_regex: at most 10 regular expressions",
        ),
        ('quiet_hours = "23:00-7"', "channels.0.quiet_hours:"),
        ('quiet_mode = "loud"', "channels.0.quiet_mode:"),
        ("sections = ['sport']", "section 'sport' is not in [[sections]]"),
        ("editions = ['en']", "channels.0.editions: 'en' is not in editions ['ru', 'kk']"),
        ('chat = "kazinform"', "channels.0.chat:"),
        ("approval = true", "channels.0.approval: needs desk_chat, the editors' group"),
        ("topics = { sport = 3 }", "section 'sport' is not in [[sections]]"),
    ],
)
def test_bad_channel_keys_stop_start_up_in_one_line(
    tmp_path: Path, channel: str, expected: str
) -> None:
    text = BASE + "[[channels]]\n" + ("" if channel.startswith("chat") else "chat = 1\n")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text + channel + "\n")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_chat_listed_twice_is_refused(tmp_path: Path) -> None:
    text = BASE + '[[channels]]\nchat = "@kazinform_ru"\n[[channels]]\nchat = "@kazinform_ru"\n'
    with pytest.raises(ConfigError, match="channels: @kazinform_ru is listed twice"):
        _load(tmp_path, text)


def test_desk_keys_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="approval_timeout:"):
        _load(tmp_path, "approval_timeout = 0\n" + BASE)
    with pytest.raises(ConfigError, match="desk_chat:"):
        _load(tmp_path, 'desk_chat = "editors"\n' + BASE)
