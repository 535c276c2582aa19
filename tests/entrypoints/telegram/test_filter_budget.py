"""Desk filters under a budget (issue 20, finding 9): a chat's patterns together are within
re2's budget, refused with the reason at the Settings prompt and at start-up, and the
fan-out compiles them off the event loop."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.domain import filters
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.entrypoints.telegram.test_channel_settings import (
    ALMATY,
    NOW,
    _answer,
    _open_settings,
    _question,
    _settings,
    _start,
    desk,
    feed_urls,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

__all__ = ["desk", "feed_urls"]  # fixtures shared with test_screens

# Each accepted alone (under 200 characters, re2 compiles it); 1,397 re2 instructions each.
HEAVY = [f"(?s).{{199}}{number}" for number in range(10)]
TOO_LARGE = "the regular expressions are too large together"


def test_patterns_over_the_chats_budget_stop_start_up(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.toml"
    path.write_text(
        '[[channels]]\nchat = "@kazinform_ru"\n'
        f"include_regex = {HEAVY[:5]!r}\nexclude_regex = {HEAVY[5:]!r}\n".replace("'", '"'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(str(path))
    assert "channels.0" in str(refused.value) and TOO_LARGE in str(refused.value)


async def test_patterns_over_the_chats_budget_are_refused_at_the_prompt(desk: Newsroom) -> None:
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "include_regex")
    (refused,) = await _answer(desk, ADMIN, question, "\n".join(HEAVY))
    assert "Not saved" in refused.text and TOO_LARGE in refused.text
    assert not (await _settings(desk)).filters.filtered


@pytest.fixture
async def filtered(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    channel = {"chat": CHANNEL.id, "sections": ["parliament"], "include_regex": ["(?i)metro"]}
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, channels=[channel])
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield await _start(newsroom)


async def test_the_fan_out_compiles_filters_off_the_event_loop(
    filtered: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled_on: list[threading.Thread] = []
    compile_pattern = filters.compile_pattern

    def spy(pattern: str):  # type: ignore[no-untyped-def]
        compiled_on.append(threading.current_thread())
        return compile_pattern(pattern)

    monkeypatch.setattr(filters, "compile_pattern", spy)
    fresh = [Item("n-1", f"{ALMATY} again", NOW), Item("n-2", "Senate meets", NOW)]
    filtered.feeds.add("/rss/en.xml", rss(fresh), etag='"v2"')
    await filtered.poll()
    await filtered.deliver_all()
    posts = [m.plain_text for m in filtered.api.messages_to(CHANNEL.id)]
    assert any("metro" in post for post in posts) and not any("Senate" in p for p in posts)
    assert compiled_on, "the chat's filter was never compiled"
    assert threading.main_thread() not in compiled_on  # the event loop's thread
