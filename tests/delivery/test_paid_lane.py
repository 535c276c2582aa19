"""Paid broadcasts carry breaking news only, within the day's Stars; stories stay free.
Through the real python-telegram-bot stack and the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from storage import alerts, deliveries
from storage.models import Delivery
from tests.delivery.conftest import BACKLOG, NOW, add_readers, breaking_mid_backlog
from tests.entrypoints.telegram.conftest import (
    EDITOR,
    Newsroom,
    newsroom_settings,
    queue_breaking,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

READERS = range(800_000, 800_008)


@pytest.fixture
async def paid_newsroom(
    tmp_path: Path, strict_api: FakeBotAPI, feed_server: FeedServer
) -> AsyncIterator[Newsroom]:
    """Paid broadcasts allowed, half a Star a day: five paid messages; paced as deployed."""
    url = feed_server.add("/en.xml", rss([BACKLOG]))
    settings = newsroom_settings(
        tmp_path,
        strict_api,
        [url],
        allow_paid_broadcast=True,
        paid_stars_per_day=0.5,
        send_rate=28.0,
        private_chat_interval=1.0,
    )
    async with running_newsroom(settings, strict_api, feed_server) as newsroom:
        await newsroom.poll()
        yield newsroom


async def test_only_breaking_news_is_paid_and_only_while_the_budget_lasts(
    paid_newsroom: Newsroom,
) -> None:
    await add_readers(paid_newsroom, READERS)
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


async def test_with_paid_broadcasts_breaking_news_still_overtakes_a_backlog_at_once(
    paid_newsroom: Newsroom,
) -> None:
    """Claims of stories stay a quarter second's worth at the free pace even when the paid
    lane allows 1,000 a second: breaking news queued behind 120 waiting readers goes before
    every story not already booked."""
    readers = range(810_000, 810_120)
    queued_at, sent = await breaking_mid_backlog(
        paid_newsroom, readers, [Item("s2", "Budget adopted", NOW)], "Breaking: earthquake"
    )
    alert_at = {m.chat_id: m.time for m in sent if "earthquake" in m.text}
    story_at = {m.chat_id: m.time for m in sent if "Budget" in m.text}
    assert set(alert_at) == set(story_at) == set(readers)
    # Every story not already on its way when the alert came goes after that reader's alert.
    overtaken = [c for c in readers if queued_at + 2.0 < story_at[c] < alert_at[c]]
    assert overtaken == []


async def test_a_sender_counts_the_paid_messages_today_already_had(
    paid_newsroom: Newsroom,
) -> None:
    """The day's five paid messages were spent (by this instance before a restart, or by
    another that was the sender until it died): breaking news now goes at the free pace."""
    await add_readers(paid_newsroom, READERS)
    earlier = await queue_breaking(paid_newsroom, "Earlier alert")
    async with paid_newsroom.core.database.sessions.begin() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.alert_id == earlier, Delivery.chat_id.is_(None))
            .values(status="sent", sent_at=datetime.now(UTC))
        )
    await queue_breaking(paid_newsroom, "Later alert")
    await paid_newsroom.deliver_all()
    later = [m for m in paid_newsroom.api.sent if "Later alert" in m.text]
    assert len(later) == len(READERS)
    assert not any(m.params.get("allow_paid_broadcast") for m in later)
