"""New stories reach every chat subscribed to their section, once, formatted and escaped."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.entrypoints.telegram.conftest import CHANNEL, ENGLISH_READER, READER, Newsroom
from tests.fakes.conversation import subscribe
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
BACKLOG = Item("old-1", "Senate Speaker meets CIS IPA observers", NOW - timedelta(hours=3))


@pytest.fixture
def feed_urls(feed_server) -> list[str]:  # type: ignore[no-untyped-def]
    return [feed_server.add("/rss/en.xml", rss([BACKLOG]), etag='"v1"')]


def publish(newsroom: Newsroom, *items: Item, version: str = "v2") -> None:
    newsroom.feeds.add("/rss/en.xml", rss([*items, BACKLOG]), etag=f'"{version}"')


async def test_backlog_of_a_new_feed_is_never_pushed(newsroom: Newsroom) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()
    await newsroom.deliver()
    pushed = [m for m in newsroom.api.messages_to(ENGLISH_READER.id) if "CIS IPA" in m.text]
    assert pushed == []


async def test_new_story_reaches_each_subscriber_once_with_related_links(
    newsroom: Newsroom,
) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await subscribe(newsroom.api, READER, "economy")
    await newsroom.poll()
    publish(
        newsroom,
        Item(
            "new-1",
            "Senate Speaker meets TurkPA observers ahead of elections",
            NOW - timedelta(minutes=5),
            description="<p>Senate Speaker met observers of TurkPA.</p>",
        ),
    )
    await newsroom.poll()
    await newsroom.deliver()
    await newsroom.poll()  # 304 now: nothing new
    await newsroom.deliver()
    pushed = [m for m in newsroom.api.messages_to(ENGLISH_READER.id) if "TurkPA" in m.text]
    assert len(pushed) == 1
    message = pushed[0]
    assert message.parse_mode == "HTML"
    assert "<b>Senate Speaker meets TurkPA observers ahead of elections</b>" in message.text
    assert "#parliament" in message.text
    assert 'href="https://www.inform.kz/en/old-1"' in message.text  # related: earlier story
    buttons = [b for row in message.reply_markup["inline_keyboard"] for b in row]
    assert buttons[0]["url"] == "https://www.inform.kz/en/new-1"
    assert [m for m in newsroom.api.messages_to(READER.id) if "TurkPA" in m.text] == []


async def test_hostile_headline_is_escaped_and_accepted_by_telegram(newsroom: Newsroom) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()
    publish(
        newsroom,
        Item("evil", '<b>Bold</b> & </i> "quoted" <script>x</script>', NOW - timedelta(minutes=1)),
    )
    await newsroom.poll()
    await newsroom.deliver()
    (message,) = [m for m in newsroom.api.messages_to(ENGLISH_READER.id) if "quoted" in m.text]
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp;" in message.text  # the fake rejects bad HTML


async def test_photo_story_is_sent_as_photo_with_caption(newsroom: Newsroom) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()
    publish(
        newsroom,
        Item(
            "photo-1",
            "Astana hosts the CSTO PA delegation",
            NOW - timedelta(minutes=2),
            image="https://static.inform.kz/photo.jpg",
        ),
    )
    await newsroom.poll()
    await newsroom.deliver()
    (message,) = [m for m in newsroom.api.sent if m.method == "sendPhoto"]
    assert message.chat_id == ENGLISH_READER.id
    assert message.photo == "https://static.inform.kz/photo.jpg"
    assert "CSTO PA" in message.caption


async def test_channel_subscribed_to_a_section_gets_its_stories(newsroom: Newsroom) -> None:
    from tests.entrypoints.telegram.conftest import ADMIN

    newsroom.api.add_bot_to_channel(ADMIN, CHANNEL)
    await newsroom.api.wait_for(lambda m: m.chat_id == ADMIN.id)  # "how to choose topics"
    async with newsroom.core.database.sessions.begin() as session:
        from storage import destinations

        channel = await destinations.get_by_chat(session, CHANNEL.id)
        assert channel is not None
        await destinations.subscribe(session, channel.id, "parliament", NOW)
    await newsroom.poll()
    publish(newsroom, Item("new-2", "Mazhilis passes the budget", NOW - timedelta(minutes=1)))
    await newsroom.poll()
    await newsroom.deliver()
    assert [m.text for m in newsroom.api.messages_to(CHANNEL.id) if "budget" in m.text]


async def test_blocked_reader_is_marked_inactive_and_not_retried(newsroom: Newsroom) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()
    newsroom.api.block(ENGLISH_READER.id)
    publish(newsroom, Item("new-3", "Government meeting held", NOW - timedelta(minutes=1)))
    await newsroom.poll()
    await newsroom.deliver()
    publish(newsroom, Item("new-4", "Another government meeting", NOW), version="v3")
    await newsroom.poll()
    await newsroom.deliver()
    attempts = [
        params
        for method, params in newsroom.api.requests
        if method == "sendMessage"
        and int(params.get("chat_id", 0)) == ENGLISH_READER.id
        and "government" in str(params.get("text", "")).lower()
    ]
    assert len(attempts) == 1
    async with newsroom.core.database.sessions() as session:
        from storage import destinations

        reader = await destinations.get_by_chat(session, ENGLISH_READER.id)
    assert reader is not None and reader.active is False
    assert "blocked" in (reader.inactive_reason or "")


async def test_group_migrated_to_supergroup_gets_the_story_at_its_new_id(
    newsroom: Newsroom,
) -> None:
    from storage import destinations
    from storage.destinations import ChatInfo

    async with newsroom.core.database.sessions.begin() as session:
        group = await destinations.ensure_destination(
            session,
            ChatInfo(chat_id=-4000001, kind="group", title="Editors", editions=("en",)),
            NOW,
        )
        await destinations.subscribe(session, group.id, "parliament", NOW)
    newsroom.api.register_group(-4000001)
    newsroom.api.migrate(-4000001, -1004000001)
    await newsroom.poll()
    publish(newsroom, Item("new-5", "Senators adopt a law", NOW - timedelta(minutes=1)))
    await newsroom.poll()
    await newsroom.deliver()
    assert [m for m in newsroom.api.messages_to(-1004000001) if "Senators" in m.text]


async def test_rate_limited_send_waits_out_retry_after_and_loses_nothing(
    newsroom: Newsroom,
) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()
    newsroom.api.inject_failures(status=429, ratio=1.0, retry_after=1, count=1)
    publish(newsroom, Item("new-6", "Weather warning issued", NOW - timedelta(minutes=1)))
    await newsroom.poll()
    await newsroom.deliver()
    await asyncio.sleep(1.2)  # retry_after
    await newsroom.deliver()
    assert newsroom.api.too_many_requests >= 1
    assert len([m for m in newsroom.api.messages_to(ENGLISH_READER.id) if "Weather" in m.text]) == 1


async def test_corrected_headline_is_edited_in_place_in_every_chat(newsroom: Newsroom) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()
    publish(newsroom, Item("fix-1", "Senat adopts the law", NOW - timedelta(minutes=1)))
    await newsroom.poll()
    await newsroom.deliver()
    (sent,) = [m for m in newsroom.api.messages_to(ENGLISH_READER.id) if "adopts" in m.text]
    publish(
        newsroom, Item("fix-1", "Senate adopts the law", NOW - timedelta(minutes=1)), version="v3"
    )
    await newsroom.poll()
    await newsroom.deliver()
    current = newsroom.api.current_message(ENGLISH_READER.id, sent.message_id)
    assert current is not None and "Senate adopts the law" in str(current)
    edits = [m for m in newsroom.api.sent if m.method == "editMessageText"]
    assert len(edits) == 1
    await newsroom.deliver()  # nothing left to correct
    assert len([m for m in newsroom.api.sent if m.method == "editMessageText"]) == 1


async def test_bad_gateway_answers_are_retried_and_nothing_is_lost(newsroom: Newsroom) -> None:
    from storage import destinations
    from storage.destinations import ChatInfo

    readers = range(50_000, 50_030)
    async with newsroom.core.database.sessions.begin() as session:
        for chat_id in readers:
            reader = await destinations.ensure_destination(
                session, ChatInfo(chat_id=chat_id, kind="private", editions=("en",)), NOW
            )
            await destinations.subscribe(session, reader.id, "parliament", NOW)
    await newsroom.poll()
    newsroom.api.inject_failures(status=502, ratio=0.3, count=12)
    publish(newsroom, Item("chaos", "Flood warning in Atyrau", NOW - timedelta(minutes=1)))
    await newsroom.poll()
    # A chat refused n times in a row waits 2 + 4 + ... + 2^n s (the sender's backoff) before
    # its next try. At 30% a refusal, some chat of 30 is refused five times in a row in a few
    # runs in a hundred (62 s), six in about one in a hundred (126 s): the deadline allows six.
    await newsroom.deliver_all(timeout=150)
    received = Counter(m.chat_id for m in newsroom.api.sent if "Atyrau" in m.text)
    assert newsroom.api.failures_injected >= 3  # some sends really failed (random 30%)
    assert set(received) == set(readers) and set(received.values()) == {1}


async def test_other_bad_requests_fail_with_telegrams_reason(newsroom: Newsroom) -> None:
    from sqlalchemy import select

    from storage.models import Delivery

    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    await newsroom.poll()
    newsroom.api.inject_failures(status=400, ratio=1.0, count=1)
    publish(newsroom, Item("bad", "Rejected story", NOW - timedelta(minutes=1)))
    await newsroom.poll()
    await newsroom.deliver_all()
    async with newsroom.core.database.sessions() as session:
        (delivery,) = (await session.scalars(select(Delivery))).all()
    assert delivery.status == "failed" and "bad request" in (delivery.last_error or "")
