"""A chat's template under a budget (issue 20, findings 1-3): it renders in the sandbox's
worker process with a time and a memory limit, so a slow or greedy template is refused with
its reason at the Settings prompt and at start-up while every other reader is answered, and
one that fails for one story sends that story in the standard layout."""

from __future__ import annotations

import asyncio
import logging
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    STRANGER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.entrypoints.telegram.test_channel_settings import (
    NOW,
    _answer,
    _open_settings,
    _question,
    _settings,
    _start,
    _subscribe_channel,
    desk,
    feed_urls,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.conversation import ask
from tests.fakes.feed_server import FeedServer
from tests.fakes.processes import NEWSBOT, environment, write_config
from tests.fakes.rss import Item, rss

__all__ = ["desk", "feed_urls"]  # fixtures shared with test_screens

# Finding 1: 100 x 100 x 100 x 30 turns (26 s on the event loop before the sandbox).
NESTED_LOOPS = (
    "{% for a in range(100) %}{% for b in range(100) %}{% for c in range(100) %}"
    "{% for d in range(30) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}<b>{{ title }}</b>"
)
# Finding 2: each builds a string of 300 million characters before any limit looked.
MEMORY_TEMPLATES = (
    '{{ "x"|center(300000000) }}',
    '{{ "{:>300000000}".format(1) }}',
    '{{ "%300000000d"|format(1) }}',
)
MEMORY_REFUSED = "the template used more than 128 MB of memory"
# Finding 3: a macro that calls itself, for one headline only (no sample story has it).
MAZHILIS = "Mazhilis approves the water code"
RECURSIVE = (
    "{% macro again() %}{{ again() }}{% endmacro %}"
    '{% if "Mazhilis" in title %}{{ again() }}{% endif %}🔹 <b>{{ title }}</b>'
)


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _help_waits(newsroom: Newsroom, seconds: float) -> list[float]:
    """Another reader's /help, asked again and again for `seconds`: how long each waited."""
    waits: list[float] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        started = loop.time()
        reply = await ask(newsroom.api, STRANGER, "/help")
        waits.append(loop.time() - started)
        assert reply.text
        await asyncio.sleep(0.2)
    return waits


async def test_a_slow_template_is_refused_while_other_readers_are_answered(
    desk: Newsroom,
) -> None:
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "template")
    before = len(desk.api.messages_to(ADMIN.id))
    desk.api.send_message(ADMIN, NESTED_LOOPS, reply_to=question.message_id)
    waits = await _help_waits(desk, 2.5)  # the check takes its whole second meanwhile
    sent = await desk.api.wait_for(lambda m: m.chat_id == ADMIN.id, count=before + 1)
    refused = sent[before]
    assert "Not saved" in refused.text and "took longer than 1 s" in refused.text
    assert max(waits) < 2.0, waits
    assert (await _settings(desk)).format.template is None


async def test_memory_templates_are_refused_and_the_bot_does_not_grow(desk: Newsroom) -> None:
    screen = await _open_settings(desk, ADMIN)
    peak = _peak_rss_kb()
    for template in MEMORY_TEMPLATES:
        question = await _question(desk, ADMIN, screen, "template")
        (refused,) = await _answer(desk, ADMIN, question, template)
        assert "Not saved" in refused.text and MEMORY_REFUSED in refused.text, template
    grown_mb = (_peak_rss_kb() - peak) / 1024
    assert grown_mb < 50, f"the bot's peak RSS grew by {grown_mb:.0f} MB"
    assert (await _settings(desk)).format.template is None


async def test_a_template_is_tried_on_the_chats_recent_stories_when_saved(desk: Newsroom) -> None:
    await _subscribe_channel(desk, ADMIN)  # its recent stories: the parliament backlog
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "template")
    # Fails for the Almaty story of the chat's backlog only (no sample story has it).
    failing = '<b>{{ title }}</b>{% if "Almaty" in title %}{{ 1 / 0 }}{% endif %}'
    (refused,) = await _answer(desk, ADMIN, question, failing)
    assert "Not saved" in refused.text and "division by zero (line 1)" in refused.text


@pytest.fixture
async def templated(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    channel = {"chat": CHANNEL.id, "sections": ["parliament"], "template": RECURSIVE}
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, channels=[channel])
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield await _start(newsroom)


async def test_a_template_failing_for_one_story_sends_it_in_the_standard_layout(
    templated: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    await ask(templated.api, ADMIN, "/start")  # the admin's private chat, to be told in
    fresh = [
        Item("n-1", MAZHILIS, NOW, description="The code goes to the Senate."),
        Item("n-2", "Senate meets on Monday", NOW),
        Item("n-3", "Mazhilis meets again", NOW),
    ]
    templated.feeds.add("/rss/en.xml", rss(fresh), etag='"v2"')
    await templated.poll()
    told = len(templated.api.messages_to(ADMIN.id))
    with caplog.at_level(logging.WARNING):
        await templated.deliver_all()
    posts = {m.plain_text.splitlines()[0]: m for m in templated.api.messages_to(CHANNEL.id)}
    assert "🔹 Senate meets on Monday" in posts  # the template, for the other story
    # The standard layout (its headline first, no 🔹) for the two it fails for.
    assert MAZHILIS in posts and "Mazhilis meets again" in posts
    failures = [r for r in caplog.records if "template failed" in r.getMessage()]
    assert len(failures) == 2 and "calls itself too deeply" in failures[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    # The admin who added the bot is told once for the template, not once per story.
    notices = templated.api.messages_to(ADMIN.id)[told:]
    assert len(notices) == 1, [m.text for m in notices]
    assert "template of “Kazinform Partner” failed" in notices[0].text
    assert "a macro calls itself too deeply" in notices[0].text


# Start-up ---------------------------------------------------------------------------------

# Runs newsbot and writes the peak RSS of it and its children (the sandbox's workers).
_MEASURED = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code)\n"
)


def _start_up(tmp_path: Path, extra: str) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """`newsbot run` with `extra` in its config: its result, seconds taken, peak RSS (KB)."""
    config = write_config(tmp_path, ["http://127.0.0.1:9/feed.xml"], extra)
    peak_file = tmp_path / "peak"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(peak_file), *NEWSBOT, "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=environment(
            tmp_path, TELEGRAM_BOT_TOKEN="1:x", NEWSBOT_BOT_API_URL="http://127.0.0.1:9"
        ),
    )
    return result, time.monotonic() - started, int(peak_file.read_text())


def _channel(template: str) -> str:
    escaped = template.replace("\\", "\\\\").replace('"', '\\"')
    return f'\n[[channels]]\nchat = "@kazinform_ru"\ntemplate = "{escaped}"\n'


@pytest.mark.parametrize(
    ("template", "reason"),
    [(NESTED_LOOPS, "took longer than 1 s")] + [(t, MEMORY_REFUSED) for t in MEMORY_TEMPLATES],
)
def test_a_bad_channels_template_stops_start_up_in_one_line(
    tmp_path: Path, template: str, reason: str
) -> None:
    normal, _, normal_peak = _start_up(tmp_path, 'unknown_key = "refused"')
    assert normal.returncode == 2, normal.stderr
    result, seconds, peak = _start_up(tmp_path, _channel(template))
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, output
    assert seconds < 10, f"refused after {seconds:.1f} s"
    assert "Traceback" not in output
    (line,) = output.splitlines()
    assert "channels.0.template" in line and reason in line, line
    assert (peak - normal_peak) / 1024 < 50, (
        f"peak RSS {peak // 1024} MB, normal {normal_peak // 1024} MB"
    )
