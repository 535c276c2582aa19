"""Paid broadcasts carry breaking news only, within the day's Stars; stories stay free.
Through the real python-telegram-bot stack and the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import alerts, deliveries, destinations
from storage.destinations import ChatInfo
from tests.delivery.conftest import BACKLOG, NOW
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss
from tests.telegram.conftest import EDITOR, Newsroom, newsroom_settings, running_newsroom

READERS = range(800_000, 800_008)


@pytest.fixture
async def paid_newsroom(
    tmp_path: Path, strict_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    """Paid broadcasts allowed, half a Star a day: five paid messages."""
    url = feed_server.add("/en.xml", rss([BACKLOG]))
    settings = newsroom_settings(
        tmp_path,
        strict_api,
        [url],
        allow_paid_broadcast=True,
        paid_stars_per_day=0.5,
        private_chat_interval=1.0,
    )
    async with running_newsroom(settings, strict_api, feed_server) as newsroom:
        await newsroom.poll()
        yield newsroom


async def test_only_breaking_news_is_paid_and_only_while_the_budget_lasts(
    paid_newsroom: Newsroom,
) -> None:
    async with paid_newsroom.core.database.sessions.begin() as session:
        for chat_id in READERS:
            reader = await destinations.ensure_destination(
                session, ChatInfo(chat_id=chat_id, kind="private", editions=("en",)), NOW
            )
            await destinations.subscribe(session, reader.id, "parliament", NOW)
    paid_newsroom.feeds.add("/en.xml", rss([Item("s1", "Budget adopted", NOW), BACKLOG]))
    await paid_newsroom.poll()
    await paid_newsroom.deliver_all()
    now = datetime.now(UTC)
    async with paid_newsroom.core.database.sessions.begin() as session:
        alert = await alerts.create_draft(
            session, editor_id=EDITOR.id, chat_id=EDITOR.id, text="Earthquake", link=None, now=now
        )
        await alerts.confirm(session, alert.id, now)
        await deliveries.queue_alert(session, alert.id, now)
    await paid_newsroom.deliver_all()
    sent = [m for m in paid_newsroom.api.sent if m.chat_id in READERS]
    paid = [m for m in sent if m.params.get("allow_paid_broadcast")]
    stories = [m for m in sent if "Budget adopted" in m.text]
    breaking = [m for m in sent if "Earthquake" in m.text]
    assert len(stories) == len(breaking) == len(READERS)
    assert all("Earthquake" in m.text for m in paid) and len(paid) == 5  # 0.1 Star each
    (told,) = [m for m in paid_newsroom.api.messages_to(EDITOR.id) if "0.5 Stars" in m.text]
    assert "free pace" in told.text
