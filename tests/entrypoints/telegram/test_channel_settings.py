"""A channel's desk settings from its admin's private chat, through the fake Bot API:
/channels -> the chat -> Settings; switches flip at a press, text settings are answered by
a reply, previewed on the newest story the chat would get, saved only on Confirm; every
change verified with Telegram; refusals change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.channel_rules import DeskSettings
from storage import channel_rules as desk_queries
from storage import destinations
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    READER,
    STRANGER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeUser, SentMessage
from tests.fakes.conversation import ask, button_data
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
ALMATY = "Almaty metro gets three new stations"
SENATE = "Senate passes the budget in the second reading"
BACKLOG = [
    Item("old-1", ALMATY, NOW - timedelta(hours=3)),
    Item("old-2", SENATE, NOW - timedelta(hours=2)),  # the newest: matches no Almaty filter
]


@pytest.fixture
def feed_urls(feed_server: FeedServer) -> list[str]:
    return [feed_server.add("/rss/en.xml", rss(BACKLOG), etag='"v1"')]


async def _start(newsroom: Newsroom) -> Newsroom:
    newsroom.api.add_bot_to_channel(ADMIN, CHANNEL)
    await newsroom.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
    # A Russian-speaking second administrator of the same channel.
    newsroom.api.set_member(CHANNEL, READER, "administrator", can_post_messages=True)
    await newsroom.poll()  # the backlog: stories to preview, never pushed
    return newsroom


@pytest.fixture
async def desk(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    settings = newsroom_settings(tmp_path, fake_api, feed_urls)
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield await _start(newsroom)


async def _settings(newsroom: Newsroom) -> DeskSettings:
    async with newsroom.core.database.sessions() as session:
        channel = await destinations.get_by_chat(session, CHANNEL.id)
        assert channel is not None
        return await desk_queries.settings_of(session, channel.id)


def _edits(newsroom: Newsroom, user: FakeUser) -> list[SentMessage]:
    return [m for m in newsroom.api.sent if m.method == "editMessageText" and m.chat_id == user.id]


async def _press(newsroom: Newsroom, user: FakeUser, message: SentMessage, data: str) -> dict:  # type: ignore[type-arg]
    """Press a button and return the bot's answer to the press."""
    before = len(newsroom.api.callback_answers)
    newsroom.api.press_button(user, message, data)
    await newsroom.api.wait_until(lambda: len(newsroom.api.callback_answers) > before)
    return newsroom.api.callback_answers[-1]


async def _open_settings(newsroom: Newsroom, user: FakeUser) -> SentMessage:
    """/channels -> the channel -> Settings; the Settings screen (the edited listing)."""
    listing = await ask(newsroom.api, user, "/channels")
    assert button_data(listing) == [f"ch:{CHANNEL.id}"]
    edits = len(_edits(newsroom, user))
    await _press(newsroom, user, listing, f"ch:{CHANNEL.id}")
    await newsroom.api.wait_until(lambda: len(_edits(newsroom, user)) > edits)
    assert f"st:{CHANNEL.id}" in button_data(_edits(newsroom, user)[-1])
    await _press(newsroom, user, listing, f"st:{CHANNEL.id}")
    await newsroom.api.wait_until(lambda: len(_edits(newsroom, user)) > edits + 1)
    return _edits(newsroom, user)[-1]


async def _question(newsroom: Newsroom, user: FakeUser, screen: SentMessage, setting: str):  # type: ignore[no-untyped-def]
    """Press ✏️ on a text setting: the bot's question (a ForceReply message)."""
    before = len(newsroom.api.messages_to(user.id))
    await _press(newsroom, user, screen, f"sp:{CHANNEL.id}:{setting}")
    sent = await newsroom.api.wait_for(lambda m: m.chat_id == user.id, count=before + 1)
    question = sent[-1]
    assert question.params["reply_markup"]["force_reply"] is True
    return question


async def _answer(
    newsroom: Newsroom, user: FakeUser, question: SentMessage, text: str, replies: int = 1
) -> list[SentMessage]:
    """Reply to the question; the bot's next `replies` messages in that chat."""
    before = len(newsroom.api.messages_to(user.id))
    newsroom.api.send_message(user, text, reply_to=question.message_id)
    sent = await newsroom.api.wait_for(lambda m: m.chat_id == user.id, count=before + replies)
    return sent[before:]


async def _subscribe_channel(newsroom: Newsroom, user: FakeUser) -> None:
    listing = await ask(newsroom.api, user, "/channels")
    edits = len(_edits(newsroom, user))
    await _press(newsroom, user, listing, f"cs:{CHANNEL.id}:parliament")
    await newsroom.api.wait_until(lambda: len(_edits(newsroom, user)) > edits)


async def test_admin_opens_settings_and_a_switch_is_stored(desk: Newsroom) -> None:
    screen = await _open_settings(desk, ADMIN)
    assert "Settings of “Kazinform Partner”" in screen.text
    assert "Include words: —" in screen.text
    data = button_data(screen)
    assert f"sw:{CHANNEL.id}:summary" in data and f"sp:{CHANNEL.id}:include" in data
    assert f"sw:{CHANNEL.id}:approval" not in data  # no desk_chat: no approval to offer
    answer = await _press(desk, ADMIN, screen, f"sw:{CHANNEL.id}:summary")
    assert answer["text"] == "Off: Summary"
    assert (await _settings(desk)).format.summary is False
    await _press(desk, ADMIN, screen, f"sw:{CHANNEL.id}:quiet_mode")
    assert (await _settings(desk)).pace.quiet_mode == "hold"
    roundup = await _press(desk, ADMIN, screen, f"sw:{CHANNEL.id}:roundup")
    assert roundup["text"] == "Off: More news roundup over the cap"
    assert (await _settings(desk)).pace.roundup is False
    await desk.api.wait_until(lambda: "▫️ Summary" in str(_edits(desk, ADMIN)[-1].reply_markup))
    # The chat's next story comes without its summary.
    await _subscribe_channel(desk, ADMIN)
    fresh = Item("n-1", "Mazhilis approves the water code", NOW, description="Summary kept out.")
    desk.feeds.add("/rss/en.xml", rss([fresh, *BACKLOG]), etag='"v2"')
    await desk.poll()
    await desk.deliver_all()
    (posted,) = [m for m in desk.api.messages_to(CHANNEL.id) if fresh.title in (m.text or "")]
    assert "Summary kept out" not in posted.text


async def test_include_words_preview_confirm_then_only_matching_stories_go_out(
    desk: Newsroom,
) -> None:
    """In Russian: the admin's Telegram language."""
    await _subscribe_channel(desk, READER)
    screen = await _open_settings(desk, READER)
    assert "Настройки «Kazinform Partner»" in screen.text
    question = await _question(desk, READER, screen, "include")
    assert "по одной в строке или через запятую" in question.text
    preview, confirm = await _answer(desk, READER, question, "Almaty, Алматы", replies=2)
    # The newest story these words admit (not the newest story: the Senate's).
    assert ALMATY in preview.text and SENATE not in preview.text
    assert "Almaty, Алматы" in confirm.text and "Сохранить?" in confirm.text
    assert (await _settings(desk)).filters.include == ()  # nothing saved before Confirm
    answer = await _press(desk, READER, confirm, f"sk:ok:{question.message_id}")
    assert "Сохранено" in answer["text"]
    assert (await _settings(desk)).filters.include == ("Almaty", "Алматы")

    matching = Item("n-1", "Almaty opens a new park", NOW - timedelta(minutes=2))
    other = Item("n-2", "Astana hosts a forum of economists", NOW - timedelta(minutes=1))
    desk.feeds.add("/rss/en.xml", rss([matching, other, *BACKLOG]), etag='"v2"')
    await desk.poll()
    await desk.deliver_all()
    posted = [m.text or m.caption or "" for m in desk.api.messages_to(CHANNEL.id)]
    assert any(matching.title in text for text in posted)
    assert not any(other.title in text for text in posted)


async def test_preview_shows_the_story_with_the_new_format(desk: Newsroom) -> None:
    screen = await _open_settings(desk, ADMIN)
    await _subscribe_channel(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "read_button")
    preview, confirm = await _answer(desk, ADMIN, question, "Read on the site", replies=2)
    assert SENATE in preview.text  # no filters: the newest story
    assert preview.buttons[0]["text"] == "Read on the site"
    await _press(desk, ADMIN, confirm, f"sk:ok:{question.message_id}")
    assert (await _settings(desk)).format.read_button == "Read on the site"
    # Cleared with one press.
    await _press(desk, ADMIN, screen, f"sx:{CHANNEL.id}:read_button")
    assert (await _settings(desk)).format.read_button is None


async def test_filters_that_match_nothing_say_so(desk: Newsroom) -> None:
    await _subscribe_channel(desk, ADMIN)
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "include")
    (confirm,) = await _answer(desk, ADMIN, question, "Karaganda")
    assert "Nothing matches" in confirm.text


async def test_an_answer_sent_the_instant_the_question_appears_is_taken(desk: Newsroom) -> None:
    """The reply reaches the bot before it has recorded its question (updates are handled
    concurrently): it waits for the record and is answered, not dropped."""
    screen = await _open_settings(desk, ADMIN)
    desk.api.answer_at_once(
        lambda m: m.chat_id == ADMIN.id and "force_reply" in str(m.params.get("reply_markup")),
        ADMIN,
        "Karaganda",
    )
    before = len(desk.api.messages_to(ADMIN.id))
    await _press(desk, ADMIN, screen, f"sp:{CHANNEL.id}:include")
    sent = await desk.api.wait_for(lambda m: m.chat_id == ADMIN.id, count=before + 2)
    assert "Nothing matches" in sent[-1].text  # the answer, previewed


async def test_cancel_discards_the_answer(desk: Newsroom) -> None:
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "exclude")
    (confirm,) = await _answer(desk, ADMIN, question, "football\nсайлау")
    await _press(desk, ADMIN, confirm, f"sk:no:{question.message_id}")
    await desk.api.wait_until(lambda: "Cancelled" in _edits(desk, ADMIN)[-1].text)
    assert (await _settings(desk)).filters.exclude == ()
    answer = await _press(desk, ADMIN, confirm, f"sk:ok:{question.message_id}")
    assert answer["show_alert"] and "closed" in answer["text"]
    assert (await _settings(desk)).filters.exclude == ()


async def test_a_non_admin_changes_nothing(desk: Newsroom) -> None:
    untouched = await _settings(desk)
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "include")
    (confirm,) = await _answer(desk, ADMIN, question, "Almaty")
    desk.api.set_member(CHANNEL, ADMIN, "member")  # demoted: Telegram now says "member"
    for data in (f"sw:{CHANNEL.id}:summary", f"sp:{CHANNEL.id}:utm", f"sx:{CHANNEL.id}:include"):
        answer = await _press(desk, ADMIN, screen, data)
        assert answer["show_alert"]
    answer = await _press(desk, ADMIN, confirm, f"sk:ok:{question.message_id}")
    assert answer["show_alert"] and "administrator" in answer["text"]
    (refused,) = await _answer(desk, ADMIN, question, "Astana")
    assert "administrator" in refused.text
    assert await _settings(desk) == untouched


async def test_a_reply_by_someone_else_changes_nothing(desk: Newsroom) -> None:
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "include")
    before = len(desk.api.messages_to(ADMIN.id))
    desk.api.send_message(STRANGER, "casino", chat=ADMIN.private_chat, reply_to=question.message_id)
    refused = (await desk.api.wait_for(lambda m: m.chat_id == ADMIN.id, count=before + 1))[-1]
    assert "someone else" in refused.text
    (confirm,) = await _answer(desk, ADMIN, question, "Almaty")
    assert "Almaty" in confirm.text and "casino" not in confirm.text


async def test_a_pattern_re2_refuses_gets_re2s_message(desk: Newsroom) -> None:
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "exclude_regex")
    (refused,) = await _answer(desk, ADMIN, question, "(?i)sponsored\n(unclosed")
    assert "missing ): (unclosed" in refused.text and "Not saved" in refused.text
    assert not refused.buttons  # nothing to confirm
    (confirm,) = await _answer(desk, ADMIN, question, r"(?i)\bsponsored\b")  # try again
    await _press(desk, ADMIN, confirm, f"sk:ok:{question.message_id}")
    assert (await _settings(desk)).filters.exclude_regex == (r"(?i)\bsponsored\b",)


async def test_too_many_filters_are_refused(desk: Newsroom) -> None:
    screen = await _open_settings(desk, READER)
    question = await _question(desk, READER, screen, "include")
    words = ", ".join(f"word{number}" for number in range(101))
    (refused,) = await _answer(desk, READER, question, words)
    assert "Не сохранено" in refused.text and "at most 100 words or phrases" in refused.text
    question = await _question(desk, READER, screen, "include_regex")
    patterns = "\n".join(f"a{number}" for number in range(11))
    (refused,) = await _answer(desk, READER, question, patterns)
    assert "at most 10 regular expressions" in refused.text
    assert not (await _settings(desk)).filters.filtered


async def test_an_invalid_template_is_refused_with_reason_and_line(desk: Newsroom) -> None:
    screen = await _open_settings(desk, ADMIN)
    question = await _question(desk, ADMIN, screen, "template")
    (refused,) = await _answer(desk, ADMIN, question, "<b>{{ title }}</b>\n<i>{{ summary }}</b>")
    assert "Not saved" in refused.text and "(line 2)" in refused.text
    question = await _question(desk, ADMIN, screen, "quiet_hours")
    (refused,) = await _answer(desk, ADMIN, question, "late at night")
    assert "23:00-07:00" in refused.text
    assert (await _settings(desk)).format.template is None


@pytest.fixture
async def managed(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    channel = {"chat": CHANNEL.id, "sections": ["parliament"], "include": ["Almaty"]}
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, channels=[channel])
    async with running_newsroom(settings, fake_api, feed_server) as newsroom:
        yield await _start(newsroom)


async def test_a_config_managed_chat_refuses_every_edit(managed: Newsroom) -> None:
    screen = await _open_settings(managed, ADMIN)
    assert "managed in the newsroom's config" in screen.text
    for data in (
        f"sw:{CHANNEL.id}:summary",
        f"sp:{CHANNEL.id}:include",
        f"sx:{CHANNEL.id}:include",
    ):
        answer = await _press(managed, ADMIN, screen, data)
        assert answer["show_alert"] and "config" in answer["text"]
    settings = await _settings(managed)
    assert settings.filters.include == ("Almaty",) and settings.format.summary is True
