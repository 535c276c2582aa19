"""Breaking news in several languages: `/breaking` with `kk:`, `ru:`, `en:` lines gives one
version per edition; the preview shows each, labelled; each chat gets the version of its
first edition that has one, once; the editor's report counts chats per edition."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import destinations
from storage import editions as edition_queries
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    EDITOR,
    ENGLISH_READER,
    READER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeUser, SentMessage
from tests.fakes.conversation import ask, button_data
from tests.fakes.feed_server import FeedServer

KAZAKH_READER = FakeUser(id=666666666, first_name="Asel", language_code="kk")
# Telegram in English, reading the Kazakh and Russian editions: no version in its interface
# language's edition among them, so the newsroom's order decides (kk before ru).
BILINGUAL_READER = FakeUser(id=777777777, first_name="Timur", language_code="en")

KK = "Алматыда 5 балдық жер сілкінісі болды"
RU = "В Алматы произошло землетрясение магнитудой 5"
EN = "Earthquake of magnitude 5 in Almaty"
THREE_VERSIONS = f"/breaking\nkk: {KK}\nru: {RU}\nen: {EN} https://news.example/quake"


@pytest.fixture
async def trilingual(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, editions=["kk", "ru", "en"])
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield newsroom


async def _readers(newsroom: Newsroom) -> None:
    """A reader per edition, a reader of two editions and a channel (added by an English
    speaker: it reads English)."""
    for user in (READER, ENGLISH_READER, KAZAKH_READER, BILINGUAL_READER):
        await ask(newsroom.api, user, "/subscribe parliament")
    async with newsroom.core.database.writing(), newsroom.core.database.sessions.begin() as s:
        chat = await destinations.get_by_chat(s, BILINGUAL_READER.id)
        await edition_queries.set_editions(s, chat.id, ["kk", "ru"])
    newsroom.api.add_bot_to_channel(ADMIN, CHANNEL)
    await newsroom.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)


async def _draft(newsroom: Newsroom, text: str, previews: int) -> list[SentMessage]:
    """Send the draft; the previews, then the question with Confirm and Cancel."""
    before = len(newsroom.api.messages_to(EDITOR.id))
    newsroom.api.send_message(EDITOR, text)
    messages = await newsroom.api.wait_for(
        lambda m: m.chat_id == EDITOR.id, count=before + previews + 1
    )
    return messages[before:]


async def _confirm(newsroom: Newsroom, question: SentMessage) -> None:
    newsroom.api.press_button(EDITOR, question, button_data(question)[0])
    await newsroom.api.wait_for(lambda m: m.method == "editMessageText" and m.chat_id == EDITOR.id)
    await newsroom.deliver_all()
    await newsroom.deliver()  # the report goes out at the tick after the fan-out ends


def _breaking_to(newsroom: Newsroom, chat_id: int) -> list[str]:
    texts = (KK, RU, EN)
    return [
        m.text
        for m in newsroom.api.messages_to(chat_id)
        if m.method == "sendMessage" and any(text in (m.text or "") for text in texts)
    ]


async def test_three_versions_each_chat_gets_its_own_once(trilingual: Newsroom) -> None:
    await _readers(trilingual)
    *previews, question = await _draft(trilingual, THREE_VERSIONS, previews=3)
    # Every version is previewed exactly, labelled with its language's own name.
    for preview, label, text in zip(
        previews, ("Қазақша", "Русский", "English"), (KK, RU, EN), strict=True
    ):
        assert label in preview.text and text in preview.text
        assert button_data(preview) == ["https://news.example/quake"]
    assert "kk:" not in previews[0].text
    await _confirm(trilingual, question)
    expected = {
        READER.id: RU,
        ENGLISH_READER.id: EN,
        KAZAKH_READER.id: KK,
        BILINGUAL_READER.id: KK,
        CHANNEL.id: EN,
    }
    for chat_id, text in expected.items():
        received = _breaking_to(trilingual, chat_id)
        assert len(received) == 1, (chat_id, received)
        assert text in received[0] and all(
            other not in received[0] for other in (KK, RU, EN) if other != text
        )
    # In the editor's language (Kazakh), a count per edition: 2 Kazakh, 1 Russian, 2 English.
    report = trilingual.api.messages_to(EDITOR.id)[-1].text
    assert "Қазақша — 2 чат" in report
    assert "Русский — 1 чат" in report
    assert "English — 2 чат" in report


async def test_one_version_goes_to_everyone(trilingual: Newsroom) -> None:
    await _readers(trilingual)
    *previews, question = await _draft(trilingual, f"/breaking {EN}", previews=1)
    assert EN in previews[0].text and "English" not in previews[0].text.replace(EN, "")
    await _confirm(trilingual, question)
    for chat_id in (READER.id, ENGLISH_READER.id, KAZAKH_READER.id, BILINGUAL_READER.id):
        assert len(_breaking_to(trilingual, chat_id)) == 1
    assert len(_breaking_to(trilingual, CHANNEL.id)) == 1
    report = trilingual.api.messages_to(EDITOR.id)[-1].text
    assert "Қазақша —" not in report and "5 чат" in report


async def test_a_colon_after_another_word_is_not_a_version(trilingual: Newsroom) -> None:
    await _readers(trilingual)
    text = f"/breaking UPDATE: {EN}\nen: the second line stays in it"
    *previews, question = await _draft(trilingual, text, previews=1)
    assert "UPDATE:" in previews[0].text and "en: the second line" in previews[0].text
    await _confirm(trilingual, question)
    received = _breaking_to(trilingual, READER.id)
    assert len(received) == 1 and "UPDATE:" in received[0]


async def test_a_chat_without_its_version_gets_the_newsrooms_language(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> None:
    """Versions in kk and ru only; the newsroom's `language` is ru: English readers get ru.
    With no ru version either, they get the first given."""
    settings = newsroom_settings(
        tmp_path, fake_api, feed_urls, editions=["kk", "ru", "en"], language="ru"
    )
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        await _readers(newsroom)
        *_, question = await _draft(newsroom, f"/breaking\nkk: {KK}\nru: {RU}", previews=2)
        await _confirm(newsroom, question)
        assert RU in _breaking_to(newsroom, ENGLISH_READER.id)[0]
        assert KK in _breaking_to(newsroom, KAZAKH_READER.id)[0]
        *_, question = await _draft(newsroom, f"/breaking\nkk: {KK} 2\nen: {EN} 2", previews=2)
        await _confirm(newsroom, question)
        assert f"{KK} 2" in _breaking_to(newsroom, READER.id)[-1]
