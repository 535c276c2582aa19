"""Forged buttons and deep links from a reader: refused with a clear answer, nothing changed.

Callback data is whatever a modified client sends; a /start argument is whatever a link (or
the reader) says. Ids no BIGINT holds used to fail with OverflowError ("Something went
wrong" and a traceback); a link naming a section that does not exist switched the reader's
edition all the same."""

from __future__ import annotations

import logging

import pytest

from tests.entrypoints.telegram.conftest import ENGLISH_READER, READER, Newsroom
from tests.entrypoints.telegram.test_editions import _reads, _sections, newsroom
from tests.fakes.conversation import ask

__all__ = ["newsroom"]

NO_LONGER_VALID = "This button is no longer valid. Please send the command again."
HUGE = "9" * 23


async def test_overflowing_or_misshapen_ids_are_refused_without_a_traceback(
    newsroom: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    api = newsroom.api
    keyboard = await ask(api, ENGLISH_READER, "/subscribe")
    forged = [
        f"rel:{HUGE}",
        f"ch:{HUGE}",
        f"ch:-{HUGE}",
        f"cs:{HUGE}:parliament",
        f"st:{HUGE}",
        f"sw:{HUGE}:silent",
        f"sk:ok:{HUGE}",
        f"bk:ok:{HUGE}",
        f"today:{HUGE}",
        "rel:١٢",
        "rel: 12",
        "sub:parliament:extra",
        "lang:en:",
    ]
    before = len(api.callback_answers)
    with caplog.at_level(logging.WARNING):
        for data in forged:
            api.press_button(ENGLISH_READER, keyboard, data)
        await api.wait_until(lambda: len(api.callback_answers) >= before + len(forged), timeout=10)
    answers = [answer["text"] for answer in api.callback_answers[before:]]
    assert answers == [NO_LONGER_VALID] * len(forged)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await _sections(newsroom, ENGLISH_READER.id) == set()  # sub:...:extra did nothing
    assert [m.method for m in api.messages_to(ENGLISH_READER.id)] == ["sendMessage"]


async def test_a_deep_link_to_a_missing_section_or_edition_says_so_and_changes_nothing(
    newsroom: Newsroom,
) -> None:
    api = newsroom.api
    await ask(api, READER, "/start")
    assert await _reads(newsroom, READER.id) == {"ru"}
    for argument, missing in [
        ("ru-sub_politics'--", "politics'--"),
        ("kk-sub_politics", "politics"),
        ("kk-politics", "politics"),
        ("de-sub_parliament", "de"),
        ("sub_politics", "politics"),
        ("xx", "xx"),
    ]:
        before = len(api.messages_to(READER.id))
        api.send_message(READER, f"/start {argument}")
        replies = await api.wait_for(lambda m: m.chat_id == READER.id, count=before + 2)
        refusal = replies[before].text
        assert f"«{missing}»" in refusal, refusal  # "there is no section/edition «…»"
        assert await _reads(newsroom, READER.id) == {"ru"}
        assert await _sections(newsroom, READER.id) == set()
    # A real link still works after all that.
    before = len(api.messages_to(READER.id))
    api.send_message(READER, "/start kk-sub_parliament")
    await api.wait_for(lambda m: m.chat_id == READER.id, count=before + 3)
    assert await _reads(newsroom, READER.id) == {"kk"}
    assert await _sections(newsroom, READER.id) == {"parliament"}
