"""Related links only from stories the chat was or could be shown: a story the editors
skipped (or still hold) for a chat with approval, or one a chat's filters leave out, never
appears under "Related" in that chat, while other chats still get it linked."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.entrypoints.telegram.conftest import CHANNEL, EDITOR, ENGLISH_READER, Newsroom
from tests.entrypoints.telegram.test_approval import BACKLOG, DESK, _joined, _preview, _start
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
SECOND = Item("b-2", "Senate passes the budget in the second reading", NOW - timedelta(minutes=3))
THIRD = Item("b-3", "Senate passes the budget in the third reading", NOW - timedelta(minutes=1))
_versions = itertools.count(10)


def link_of(item: Item) -> str:
    return f'href="https://www.inform.kz/en/{item.guid}"'


async def publish(newsroom: Newsroom, *items: Item) -> None:
    newsroom.feeds.add("/rss/en.xml", rss([*items, BACKLOG]), etag=f'"v{next(_versions)}"')
    await newsroom.poll()
    await newsroom.deliver_all()


def message_with(newsroom: Newsroom, chat_id: int, item: Item) -> str:
    (text,) = [m.text for m in newsroom.api.messages_to(chat_id) if item.title in (m.text or "")]
    return text


async def decide(newsroom: Newsroom, item: Item, action: str) -> None:
    preview = await _preview(newsroom, item.title)
    approval = await _approval_of(newsroom, item)
    newsroom.api.press_button(EDITOR, preview, f"ap:{action}:{approval}")
    await newsroom.api.wait_until(lambda: len(newsroom.api.callback_answers) >= 1)


async def _approval_of(newsroom: Newsroom, item: Item) -> int:
    from sqlalchemy import select

    from storage.models import Approval, Story

    async with newsroom.core.database.sessions() as session:
        found = await session.scalar(
            select(Approval.id)
            .join(Story, Story.id == Approval.story_id)
            .where(Story.title == item.title)
        )
    assert found is not None
    return int(found)


async def _running(
    tmp_path: Path,
    api: FakeBotAPI,
    feeds: FeedServer,
    database_url: str,
    channel: dict[str, Any] | None = None,
):  # type: ignore[no-untyped-def]
    url = feeds.add("/rss/en.xml", rss([BACKLOG]), etag='"v1"')
    _, running = await _start(
        tmp_path, api, feeds, [url], channel=channel, database_url=database_url
    )
    return running


async def test_a_story_skipped_for_a_channel_is_never_its_related_link(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, database_url: str
) -> None:
    async with await _running(tmp_path, fake_api, feed_server, database_url) as newsroom:
        await _joined(newsroom)
        await publish(newsroom, SECOND)
        await decide(newsroom, SECOND, "no")
        answered = len(fake_api.callback_answers)
        await publish(newsroom, THIRD, SECOND)
        await decide(newsroom, THIRD, "ok")
        await fake_api.wait_until(lambda: len(fake_api.callback_answers) > answered)
        await newsroom.deliver_all()
        channel = message_with(newsroom, CHANNEL.id, THIRD)
        reader = message_with(newsroom, ENGLISH_READER.id, THIRD)
    assert link_of(SECOND) in reader  # the pick: a reader was shown the skipped story
    assert link_of(SECOND) not in channel and SECOND.title not in channel
    assert not [m for m in fake_api.messages_to(CHANNEL.id) if SECOND.title in (m.text or "")]


async def test_a_story_still_at_the_desk_is_never_a_related_link_there(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, database_url: str
) -> None:
    async with await _running(tmp_path, fake_api, feed_server, database_url) as newsroom:
        await _joined(newsroom)
        await publish(newsroom, SECOND)
        await _preview(newsroom, SECOND.title)  # waiting: nobody decides
        await publish(newsroom, THIRD, SECOND)
        await decide(newsroom, THIRD, "ok")
        await newsroom.deliver_all()
        channel = message_with(newsroom, CHANNEL.id, THIRD)
        reader = message_with(newsroom, ENGLISH_READER.id, THIRD)
    assert link_of(SECOND) in reader
    assert link_of(SECOND) not in channel


async def test_a_story_a_channel_filters_out_is_never_its_related_link(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, database_url: str
) -> None:
    channel_rules = {"approval": False, "exclude": ["second"]}
    async with await _running(
        tmp_path, fake_api, feed_server, database_url, channel_rules
    ) as newsroom:
        await _joined(newsroom)
        await publish(newsroom, SECOND)
        await publish(newsroom, THIRD, SECOND)
        channel = message_with(newsroom, CHANNEL.id, THIRD)
        reader = message_with(newsroom, ENGLISH_READER.id, THIRD)
    assert not [m for m in fake_api.messages_to(CHANNEL.id) if SECOND.title in (m.text or "")]
    assert link_of(SECOND) in reader
    assert link_of(SECOND) not in channel
    assert not [m for m in fake_api.messages_to(DESK.id)]  # no approval: the desk is quiet
