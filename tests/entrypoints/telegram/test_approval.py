"""Approval at the editors' desk, through the fake Bot API: a channel with `approval` gets a
story only after an editor approves it in the desk chat; Skip, "Edit headline" (the reply
becomes the headline for that channel only), refusals for non-editors, expiry after
approval_timeout, filters first, the preview in the desk's language, and `newsbot stats`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.operations import show_stats
from storage.models import Approval, Delivery, Story
from storage.states import ApprovalStatus, DeliveryStatus
from tests.delivery.test_pace_delivery import Clock, deliver_due
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    EDITOR,
    ENGLISH_READER,
    STRANGER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeChat, SentMessage
from tests.fakes.conversation import subscribe
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
BACKLOG = Item("old-1", "Senate Speaker meets observers", NOW - timedelta(hours=3))
STORY = Item("n-1", "Almaty metro gets three new stations", NOW - timedelta(minutes=2))
OTHER = Item("n-2", "Senate passes the budget in the second reading", NOW - timedelta(minutes=1))
DESK = FakeChat(id=-1009000000001, type="supergroup", title="Newsroom desk")
TIMEOUT = 3600


@pytest.fixture
def feed_urls(feed_server: FeedServer) -> list[str]:
    return [feed_server.add("/rss/en.xml", rss([BACKLOG]), etag='"v1"')]


async def _start(
    tmp_path: Path,
    api: FakeBotAPI,
    feeds: FeedServer,
    feed_urls: list[str],
    channel: dict[str, Any] | None = None,
    **extra: Any,
):  # type: ignore[no-untyped-def]
    spec = {"chat": CHANNEL.id, "sections": ["parliament"], "approval": True, **(channel or {})}
    settings = newsroom_settings(
        tmp_path,
        api,
        feed_urls,
        channels=[spec],
        desk_chat=DESK.id,
        approval_timeout=TIMEOUT,
        **extra,
    )
    api.register_chat(DESK)
    return settings, running_newsroom(settings, api, feeds)


async def _joined(newsroom: Newsroom) -> Newsroom:
    newsroom.api.add_bot_to_channel(ADMIN, CHANNEL)
    await newsroom.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()  # the backlog: stored, never pushed
    return newsroom


@pytest.fixture
async def desk(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[Newsroom]:
    _, running = await _start(tmp_path, fake_api, feed_server, feed_urls)
    async with running as newsroom:
        yield await _joined(newsroom)


async def _publish(newsroom: Newsroom, *items: Item) -> None:
    newsroom.feeds.add("/rss/en.xml", rss([*items, BACKLOG]), etag=f'"v{len(items) + 1}"')
    await newsroom.poll()
    await newsroom.deliver_all()


def _texts(newsroom: Newsroom, chat_id: int) -> list[str]:
    return [m.plain_text or m.text for m in newsroom.api.messages_to(chat_id)]


async def _preview(newsroom: Newsroom, title: str) -> SentMessage:
    found = await newsroom.api.wait_for(
        lambda m: m.chat_id == DESK.id and m.method == "sendMessage" and title in m.text
    )
    return found[-1]


async def _edited(newsroom: Newsroom, preview: SentMessage, words: str) -> dict[str, Any]:
    def shows() -> bool:
        current = newsroom.api.current_message(DESK.id, preview.message_id)
        return current is not None and words in current.get("text", "")

    await newsroom.api.wait_until(shows)
    current = newsroom.api.current_message(DESK.id, preview.message_id)
    assert current is not None
    return current


async def _approval(newsroom: Newsroom) -> Approval:
    async with newsroom.core.database.sessions() as session:
        from sqlalchemy import select

        found = (await session.scalars(select(Approval))).all()
    assert len(found) == 1
    return found[0]


async def _statuses(newsroom: Newsroom, approval_id: int) -> list[DeliveryStatus]:
    from sqlalchemy import select

    async with newsroom.core.database.sessions() as session:
        rows = await session.scalars(
            select(Delivery.status).where(Delivery.approval_id == approval_id)
        )
        return list(rows)


def _buttons(current: dict[str, Any]) -> list[str]:
    rows = (current.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


async def test_channel_gets_the_story_only_after_an_editor_approves(desk: Newsroom) -> None:
    await _publish(desk, STORY)
    # The reader (no approval) has it at once; the channel has nothing yet.
    assert any(STORY.title in text for text in _texts(desk, ENGLISH_READER.id))
    assert not any(STORY.title in text for text in _texts(desk, CHANNEL.id))
    preview = await _preview(desk, STORY.title)
    assert CHANNEL.title in preview.plain_text and "1 chat" in preview.plain_text
    approval = await _approval(desk)
    assert preview.callback_data[:3] == [f"ap:{a}:{approval.id}" for a in ("ok", "no", "hl")]
    assert await _statuses(desk, approval.id) == [DeliveryStatus.AWAITING]
    await desk.deliver_all()  # nothing is due while it waits
    assert not any(STORY.title in text for text in _texts(desk, CHANNEL.id))

    desk.api.press_button(EDITOR, preview, f"ap:ok:{approval.id}")
    current = await _edited(desk, preview, "Approved by Aigerim")
    assert _buttons(current) == []  # decided: no buttons left
    await desk.deliver_all()
    assert sum(STORY.title in text for text in _texts(desk, CHANNEL.id)) == 1
    decided = await _approval(desk)
    assert decided.status is ApprovalStatus.APPROVED
    assert decided.decided_by == EDITOR.id and decided.decided_at is not None
    assert await _statuses(desk, approval.id) == [DeliveryStatus.SENT]
    # A second press (or another editor's) decides nothing more.
    desk.api.press_button(EDITOR, preview, f"ap:no:{approval.id}")
    await desk.api.wait_until(lambda: len(desk.api.callback_answers) >= 2)
    assert desk.api.callback_answers[-1]["show_alert"]
    assert (await _approval(desk)).status is ApprovalStatus.APPROVED


async def test_skipped_story_never_reaches_the_channel(desk: Newsroom) -> None:
    await _publish(desk, STORY)
    preview = await _preview(desk, STORY.title)
    approval = await _approval(desk)
    desk.api.press_button(EDITOR, preview, f"ap:no:{approval.id}")
    await _edited(desk, preview, "Skipped by Aigerim")
    await desk.deliver_all()
    assert not any(STORY.title in text for text in _texts(desk, CHANNEL.id))
    assert await _statuses(desk, approval.id) == [DeliveryStatus.SKIPPED]
    assert (await _approval(desk)).status is ApprovalStatus.SKIPPED


async def test_edited_headline_goes_to_the_approval_chat_only(desk: Newsroom) -> None:
    await _publish(desk, STORY)
    preview = await _preview(desk, STORY.title)
    approval = await _approval(desk)
    desk.api.press_button(EDITOR, preview, f"ap:hl:{approval.id}")
    prompts = await desk.api.wait_for(
        lambda m: m.chat_id == DESK.id and "new headline" in m.plain_text
    )
    prompt = prompts[-1]
    markup = prompt.params["reply_markup"]
    assert (json.loads(markup) if isinstance(markup, str) else markup) == {
        "force_reply": True,
        "selective": True,
        "input_field_placeholder": "New headline",
    }
    assert prompt.message.get("reply_to_message", {}).get("message_id") == preview.message_id
    # Someone else's reply to the prompt is not the headline.
    desk.api.reply_to(STRANGER, prompt, "Mallory's headline")
    desk.api.reply_to(EDITOR, prompt, "Metro: <b>three</b> stations\nopen in Almaty\x07")
    await desk.api.wait_for(lambda m: m.chat_id == DESK.id and "Press Approve" in m.plain_text)
    edited = "Metro: <b>three</b> stations open in Almaty"
    current = await _edited(desk, preview, edited)  # the preview shows it, escaped
    assert "Headline edited" in current["text"]
    assert _buttons(current)[:3] == [f"ap:{a}:{approval.id}" for a in ("ok", "no", "hl")]
    assert (await _approval(desk)).headline == edited
    assert not any("Mallory" in text for text in _texts(desk, CHANNEL.id))
    await desk.deliver_all()
    assert not any(edited in text for text in _texts(desk, CHANNEL.id))  # still waits

    desk.api.press_button(EDITOR, preview, f"ap:ok:{approval.id}")
    await _edited(desk, preview, "Approved by")
    await desk.deliver_all()
    channel = [m for m in desk.api.messages_to(CHANNEL.id) if edited in m.plain_text]
    assert len(channel) == 1 and "<b>Metro: &lt;b&gt;three&lt;/b&gt;" in channel[0].text
    assert not any(STORY.title in text for text in _texts(desk, CHANNEL.id))
    reader = _texts(desk, ENGLISH_READER.id)
    assert any(STORY.title in text for text in reader)
    assert not any(edited in text for text in reader)

    # Corrected at the source later: the channel's copy is edited, keeping the editor's
    # headline; the reader's gets the correction under the original one.
    fixed = Item(STORY.guid, STORY.title, STORY.published, description="<p>Corrected.</p>")
    desk.feeds.add("/rss/en.xml", rss([fixed, BACKLOG]), etag='"v9"')
    await desk.poll()
    await desk.deliver_all()
    current = desk.api.current_message(CHANNEL.id, channel[0].message_id)
    assert current is not None and "Corrected." in current["text"]
    assert edited in current["text"]


async def test_a_headline_sent_the_instant_the_prompt_appears_is_taken(desk: Newsroom) -> None:
    """Updates are handled concurrently: a reply that arrives before the bot has recorded
    its prompt waits for the record instead of being dropped without a word."""
    await _publish(desk, STORY)
    preview = await _preview(desk, STORY.title)
    approval = await _approval(desk)
    desk.api.answer_at_once(
        lambda m: m.chat_id == DESK.id and "new headline" in m.plain_text,
        EDITOR,
        "Metro opens three stations",
    )
    desk.api.press_button(EDITOR, preview, f"ap:hl:{approval.id}")
    await _edited(desk, preview, "Metro opens three stations")
    assert (await _approval(desk)).headline == "Metro opens three stations"


async def test_a_non_editor_is_refused_and_nothing_changes(desk: Newsroom) -> None:
    await _publish(desk, STORY)
    preview = await _preview(desk, STORY.title)
    approval = await _approval(desk)
    for action in ("ok", "no", "hl"):
        desk.api.press_button(STRANGER, preview, f"ap:{action}:{approval.id}")
    await desk.api.wait_until(lambda: len(desk.api.callback_answers) >= 3)
    for answer in desk.api.callback_answers[-3:]:
        assert answer["show_alert"]
        assert answer["text"] == "Only the newsroom's editors may decide on stories at the desk."
    await desk.deliver_all()
    assert not any(STORY.title in text for text in _texts(desk, CHANNEL.id))
    unchanged = await _approval(desk)
    assert unchanged.status is ApprovalStatus.PENDING and unchanged.decided_by is None
    assert await _statuses(desk, approval.id) == [DeliveryStatus.AWAITING]
    current = desk.api.current_message(DESK.id, preview.message_id)
    assert current is not None and current["text"] == preview.message["text"]
    # No prompt was asked for: nothing but the preview in the desk chat.
    assert [m.message_id for m in desk.api.messages_to(DESK.id)] == [preview.message_id]


async def test_a_story_nobody_approves_expires(desk: Newsroom) -> None:
    await _publish(desk, STORY)
    preview = await _preview(desk, STORY.title)
    approval = await _approval(desk)
    approvals = desk.side.services.approvals
    assert approvals is not None
    real = approvals.clock
    approvals.clock = lambda: real() + timedelta(seconds=TIMEOUT - 60)
    await desk.deliver()
    assert (await _approval(desk)).status is ApprovalStatus.PENDING  # not yet
    approvals.clock = lambda: real() + timedelta(seconds=TIMEOUT + 1)
    await desk.deliver()
    await _edited(desk, preview, "Expired")
    expired = await _approval(desk)
    assert expired.status is ApprovalStatus.EXPIRED and expired.decided_by is None
    assert await _statuses(desk, approval.id) == [DeliveryStatus.SKIPPED]
    desk.api.press_button(EDITOR, preview, f"ap:ok:{approval.id}")  # too late
    await desk.api.wait_until(lambda: len(desk.api.callback_answers) >= 1)
    assert desk.api.callback_answers[-1]["show_alert"]
    await desk.deliver_all()
    assert not any(STORY.title in text for text in _texts(desk, CHANNEL.id))


async def test_filters_apply_before_the_desk(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> None:
    _, running = await _start(
        tmp_path, fake_api, feed_server, feed_urls, channel={"include": ["Almaty"]}
    )
    async with running as newsroom:
        await _joined(newsroom)
        await _publish(newsroom, STORY, OTHER)
        await _preview(newsroom, STORY.title)
        await newsroom.deliver_all()
        desk_texts = _texts(newsroom, DESK.id)
        assert len(desk_texts) == 1 and not any(OTHER.title in text for text in desk_texts)
        reader = _texts(newsroom, ENGLISH_READER.id)
        assert any(OTHER.title in text for text in reader)


async def test_the_desk_speaks_the_newsrooms_language(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> None:
    """A desk chat that never chose a language gets the newsroom's (here ru): the preview,
    its buttons and the decision line; a refusal speaks the presser's own language."""
    _, running = await _start(tmp_path, fake_api, feed_server, feed_urls, language="ru")
    async with running as newsroom:
        await _joined(newsroom)
        await _publish(newsroom, STORY)
        preview = await _preview(newsroom, STORY.title)
        assert "На согласование, в 1 чат" in preview.plain_text
        labels = [button["text"] for button in preview.buttons]
        assert labels[:3] == ["Одобрить", "Пропустить", "Изменить заголовок"]
        approval = await _approval(newsroom)
        russian = STRANGER.__class__(id=666, first_name="Пётр", language_code="ru")
        newsroom.api.press_button(russian, preview, f"ap:ok:{approval.id}")
        await newsroom.api.wait_until(lambda: len(newsroom.api.callback_answers) >= 1)
        assert newsroom.api.callback_answers[-1]["text"].startswith("Решать по новостям")
        newsroom.api.press_button(EDITOR, preview, f"ap:no:{approval.id}")
        await _edited(newsroom, preview, "Пропущено: Aigerim")


async def test_stats_show_the_decisions(
    tmp_path: Path,
    fake_api: FakeBotAPI,
    feed_server: FeedServer,
    feed_urls: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings, running = await _start(tmp_path, fake_api, feed_server, feed_urls)
    async with running as newsroom:
        await _joined(newsroom)
        await _publish(newsroom, STORY, OTHER)
        first = await _preview(newsroom, STORY.title)
        second = await _preview(newsroom, OTHER.title)
        ok, no = (m.callback_data[0] for m in (first, second))
        newsroom.api.press_button(EDITOR, first, ok)
        newsroom.api.press_button(EDITOR, second, no.replace(":ok:", ":no:"))
        await _edited(newsroom, first, "Approved by")
        await _edited(newsroom, second, "Skipped by")
    capsys.readouterr()
    await show_stats(settings, now=datetime.now(UTC))
    out = capsys.readouterr().out
    section = out[out.index("Approvals (editors' desk)") :]
    counts = {
        line.split()[0]: line.split()[-1] for line in section.splitlines()[3:7] if line.strip()
    }
    assert counts == {"pending": "0", "approved": "1", "skipped": "1", "expired": "0"}
    decisions = section[section.index("Latest decisions") :]
    assert "approved  Aigerim" in decisions and STORY.title in decisions
    assert "skipped   Aigerim" in decisions and OTHER.title in decisions


async def test_a_roundup_lists_an_approved_story_under_its_edited_headline(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> None:
    """A paced approval channel (one post an hour): the first approved story goes alone, the
    next two wait for the "More news" roundup, which lists the one an editor re-headlined
    under the editor's headline, as it would have gone alone."""
    third = Item("n-3", "Snow closes the mountain roads", NOW - timedelta(seconds=30))
    _, running = await _start(
        tmp_path, fake_api, feed_server, feed_urls, channel={"max_posts_per_hour": 1}
    )
    async with running as started:
        newsroom = await _joined(started)
        clock = Clock()
        newsroom.side.sender._clock = clock
        await _publish(newsroom, STORY, OTHER, third)
        previews = {
            item.title: await _preview(newsroom, item.title) for item in (STORY, OTHER, third)
        }
        async with newsroom.core.database.sessions() as session:
            approval_of = {
                title: approval_id
                for title, approval_id in (
                    await session.execute(
                        select(Story.title, Approval.id).join(Story, Story.id == Approval.story_id)
                    )
                ).all()
            }
        preview = previews[OTHER.title]
        newsroom.api.press_button(EDITOR, preview, f"ap:hl:{approval_of[OTHER.title]}")
        (prompt, *_) = await newsroom.api.wait_for(
            lambda m: m.chat_id == DESK.id and "new headline" in m.plain_text
        )
        newsroom.api.reply_to(EDITOR, prompt, "Budget passes its second reading")
        # The longest path of the suite (three previews, a prompt, a reply): more time.
        await newsroom.api.wait_for(
            lambda m: m.chat_id == DESK.id and "Press Approve" in m.plain_text, timeout=20
        )
        await _edited(newsroom, preview, "Budget passes its second reading")
        for item in (STORY, OTHER, third):
            newsroom.api.press_button(
                EDITOR, previews[item.title], f"ap:ok:{approval_of[item.title]}"
            )
            await _edited(newsroom, previews[item.title], "Approved by")
        await deliver_due(newsroom, clock)
        alone = [text for text in _texts(newsroom, CHANNEL.id) if "More news" not in text]
        assert sum(STORY.title in text for text in alone) == 1
        clock.offset += timedelta(minutes=61)
        await deliver_due(newsroom, clock)
        (roundup,) = [t for t in _texts(newsroom, CHANNEL.id) if "More news" in t]
        assert "Budget passes its second reading" in roundup and third.title in roundup
        assert OTHER.title not in roundup
