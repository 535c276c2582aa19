"""Feed links Telegram would refuse never cost a story: they are encoded, stripped of
credentials, or (when Telegram still refuses the button) sent with the link in the text."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage import destinations
from storage.destinations import ChatInfo
from storage.models import Delivery
from tests.entrypoints.telegram.conftest import ENGLISH_READER, Newsroom
from tests.fakes.bot_api import SentMessage
from tests.fakes.conversation import subscribe
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "hunter2"
BACKLOG = Item("old-1", "Senate Speaker meets CIS IPA observers", NOW - timedelta(hours=3))
READERS = range(60_000, 60_003)

# Headline -> (link in the feed, the Read button Telegram accepts; None: no button).
STORIES = {
    "Senate adopts the budget": (
        "https://www.inform.kz/en/senate\u00a0budget",
        "https://www.inform.kz/en/senate%C2%A0budget",
    ),
    "Mazhilis hears the minister": (
        "https://www.inform.kz/en/hearing\u3000today?day=\u3000mon",
        "https://www.inform.kz/en/hearing%E3%80%80today?day=%E3%80%80mon",
    ),
    "Senators visit Kyiv": (
        "https://пример.укр/новини/сенат",
        "https://xn--e1afmkfd.xn--j1amh/%D0%BD%D0%BE%D0%B2%D0%B8%D0%BD%D0%B8/"
        "%D1%81%D0%B5%D0%BD%D0%B0%D1%82",
    ),
    "Internal memo on elections": ("http://intranet/memo", None),
    "Budget talks resume": (
        f"https://editor:{SECRET}@www.inform.kz/en/talks",
        "https://www.inform.kz/en/talks",
    ),
}
PHOTOS = {
    "Budget talks resume": f"https://editor:{SECRET}@static.inform.kz/talks.jpg",
    # Telegram can fetch neither: the story goes out as text, and the button as a link.
    "Internal memo on elections": "http://intranet/memo.jpg",
}


@pytest.fixture
def feed_urls(feed_server) -> list[str]:  # type: ignore[no-untyped-def]
    return [feed_server.add("/rss/en.xml", rss([BACKLOG]), etag='"v1"')]


def items() -> list[Item]:
    return [
        Item(
            f"links-{number}",
            title,
            NOW - timedelta(minutes=10 - number),
            link=link,
            image=PHOTOS.get(title),
        )
        for number, (title, (link, _)) in enumerate(STORIES.items())
    ]


def received(messages: list[SentMessage], title: str) -> list[SentMessage]:
    """The messages with this headline (other stories show it too, as a related link)."""
    headline = f"<b>{title}</b>"
    return [m for m in messages if m.method in {"sendMessage", "sendPhoto"} and headline in m.text]


async def test_every_story_reaches_every_chat_with_the_buttons_telegram_accepts(
    newsroom: Newsroom,
) -> None:
    await subscribe(newsroom.api, ENGLISH_READER, "parliament")
    async with newsroom.core.database.sessions.begin() as session:
        for chat_id in READERS:
            reader = await destinations.ensure_destination(
                session, ChatInfo(chat_id=chat_id, kind="private", editions=("en",)), NOW
            )
            await destinations.subscribe(session, reader.id, "parliament", NOW)
    await newsroom.poll()
    # One story at a time, as a quiet day brings them: each in its own full layout (stories
    # that wait together for a reader would come as one bundle of headlines).
    for count in range(1, len(STORIES) + 1):
        newsroom.feeds.add("/rss/en.xml", rss([*items()[:count], BACKLOG]), etag=f'"story-{count}"')
        await newsroom.poll()
        await newsroom.deliver_all()

    for chat_id in (ENGLISH_READER.id, *READERS):
        messages = newsroom.api.messages_to(chat_id)
        for title, (_, button) in STORIES.items():
            (message,) = received(messages, title)
            urls = [b["url"] for b in message.buttons if "url" in b]
            if button is not None:
                assert urls == [button], title
            else:  # Telegram refuses a dot-less host: the link went into the text instead
                assert urls == [] and message.method == "sendMessage"
                assert 'href="http://intranet/memo"' in message.text
                assert "Read" in message.plain_text
    (photo,) = {m.photo for m in newsroom.api.sent if m.method == "sendPhoto"}
    assert photo == "https://static.inform.kz/talks.jpg"
    sent = [params for method, params in newsroom.api.requests if method.startswith("send")]
    assert sent and all(SECRET not in json.dumps(params, default=str) for params in sent)
    async with newsroom.core.database.sessions() as session:
        statuses = Counter((await session.scalars(select(Delivery.status))).all())
    assert statuses == {"sent": len(STORIES) * (1 + len(READERS))}
