"""A chat's format through the fake Bot API: its template in the chat's language, hostile
feed fields escaped, each switch, utm per chat, one render per (story, format, language)
however many chats share it, and the feed's categories matched by a channel's filters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import bot.delivery.compose as compose
import bot.outbound.render as render
from bot.domain.channel_rules import DeskFormat, DeskRules, DeskSettings
from bot.outbound.i18n import Catalogues
from storage import destinations
from storage.channel_rules import write_rules
from storage.models import Story
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    Newsroom,
    fake_api,  # noqa: F401 - the fixture
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeUser, SentMessage
from tests.fakes.conversation import subscribe
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
BACKLOG = Item("old-1", "Senate Speaker meets observers", NOW - timedelta(hours=3))
RU = FakeUser(id=700000001, first_name="Олег", language_code="ru")
KK = FakeUser(id=700000002, first_name="Асел", language_code="kk")
EN = [FakeUser(id=700000010 + n, first_name=f"Reader{n}", language_code="en") for n in range(5)]
LOCAL_TEMPLATE = "{{ section }} · {{ date }}\n<b>{{ title }}</b>\n\n{{ summary }}\n{{ hashtags }}"


@pytest.fixture
def feed_urls(feed_server: FeedServer) -> list[str]:
    return [feed_server.add("/rss/en.xml", rss([BACKLOG]), etag='"v1"')]


@pytest.fixture
async def newsroom(
    tmp_path: Path,
    fake_api: FakeBotAPI,  # noqa: F811 - the fixture imported above
    feed_server: FeedServer,
    feed_urls: list[str],
) -> AsyncIterator[Newsroom]:
    settings = newsroom_settings(tmp_path, fake_api, feed_urls)
    async with running_newsroom(settings, fake_api, feed_server) as running:
        await running.poll()  # the backlog: stored, never pushed
        yield running


async def _style(newsroom: Newsroom, chat_id: int, look: DeskFormat) -> None:
    """Give a chat a format, as the admin screens store it."""
    database = newsroom.core.database
    async with database.writing(), database.sessions.begin() as session:
        chat = await destinations.get_by_chat(session, chat_id)
        assert chat is not None
        await write_rules(session, chat.id, DeskSettings(DeskRules(chat.id, 0), look), NOW)


async def _publish(newsroom: Newsroom, *items: Item) -> None:
    newsroom.feeds.add("/rss/en.xml", rss([*items, BACKLOG]), etag=f'"{items[0].guid}"')
    await newsroom.poll()
    await newsroom.deliver_all()


def _story_message(newsroom: Newsroom, chat_id: int, title: str) -> SentMessage:
    found = [m for m in newsroom.api.messages_to(chat_id) if title in m.plain_text]
    assert len(found) == 1, [m.plain_text for m in newsroom.api.messages_to(chat_id)]
    return found[0]


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    calls: list[int] = []
    original: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


async def test_a_template_in_a_russian_and_a_kazakh_chat(newsroom: Newsroom) -> None:
    for user in (RU, KK):
        await subscribe(newsroom.api, user, "parliament")
        await _style(newsroom, user.id, DeskFormat(template=LOCAL_TEMPLATE))
    published = NOW - timedelta(minutes=1)
    title = "Senate passes the media law"
    await _publish(newsroom, Item("n-1", title, published, description="<p>Deputies agreed.</p>"))
    catalogues, zone = Catalogues.load(), ZoneInfo("Asia/Almaty")
    for user, section in ((RU, "Парламент"), (KK, "Парламент")):
        day = catalogues.translator(user.language_code or "").day(published, zone)
        message = _story_message(newsroom, user.id, title)
        assert message.plain_text == f"{section} · {day}\n{title}\n\nDeputies agreed.\n#parliament"
        assert {"type": "bold"}.items() <= message.entities[0].items()
    kazakh = _story_message(newsroom, KK.id, title).plain_text
    assert kazakh != _story_message(newsroom, RU.id, title).plain_text  # the month's name


async def test_hostile_feed_fields_are_escaped_inside_a_template(newsroom: Newsroom) -> None:
    await subscribe(newsroom.api, RU, "parliament")
    await _style(newsroom, RU.id, DeskFormat(template="<b>{{ title }}</b>\n<i>{{ summary }}</i>"))
    hostile = 'Tom &amp; Jerry &lt;/b&gt;&lt;script&gt;x&lt;/script&gt; "q"'
    await _publish(
        newsroom,
        Item("n-2", hostile, NOW, description="&lt;a href='javascript:x'&gt;click&lt;/a&gt; &amp;"),
    )
    async with newsroom.core.database.sessions() as session:
        title, summary = (await session.execute(select(Story.title, Story.summary))).all()[-1]
    message = newsroom.api.messages_to(RU.id)[-1]
    assert message.plain_text == f"{title}\n{summary}"  # Telegram took it; shown as written
    assert "<" in title + summary and "<script" not in message.text


async def test_each_switch_changes_what_the_chat_gets(newsroom: Newsroom) -> None:
    default, styled = EN[0], RU
    for user in (default, styled):
        await subscribe(newsroom.api, user, "parliament")
    look = DeskFormat(
        summary=False,
        image=False,
        link_preview=False,
        hashtags=False,
        read_button="Читать",
        signature="@kazinform_ru",
    )
    await _style(newsroom, styled.id, look)
    title = "Mazhilis adopts the budget"
    image = "https://www.inform.kz/images/budget.jpg"
    await _publish(
        newsroom, Item("n-3", title, NOW, description="<p>In the first reading.</p>", image=image)
    )
    standard = _story_message(newsroom, default.id, title)
    assert standard.method == "sendPhoto" and standard.photo == image
    assert "In the first reading." in standard.plain_text and "#parliament" in standard.plain_text
    message = _story_message(newsroom, styled.id, title)
    assert message.method == "sendMessage" and message.photo is None
    assert message.link_preview_options == {"is_disabled": True}
    assert "In the first reading." not in message.plain_text
    assert "#parliament" not in message.plain_text and "Парламент" in message.plain_text
    assert message.plain_text.endswith("\n\n@kazinform_ru")
    assert message.buttons[0]["text"] == "Читать"


async def test_one_render_per_story_format_and_language_with_utm_per_chat(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = DeskFormat(template="<b>{{ title }}</b>\n{{ summary }}")
    second = DeskFormat(
        template='<a href="{{ link }}">{{ title }}</a>',
        utm="utm_source=telegram&utm_campaign={chat}",
    )
    looks = {EN[0].id: first, EN[1].id: first, EN[2].id: second, EN[3].id: second}
    looks[RU.id] = first
    for user in (*EN, RU):
        await subscribe(newsroom.api, user, "parliament")
        if user.id in looks:
            await _style(newsroom, user.id, looks[user.id])
    stories = _counting(monkeypatch, compose, "render_story")
    templates = _counting(monkeypatch, render, "render_template")
    title = "Government approves the digital code"
    link = "https://www.inform.kz/en/code?id=5"
    await _publish(newsroom, Item("n-4", title, NOW, link=link))
    # (first, en), (first, ru), (second, en), and the standard layout for EN[4].
    assert len(stories) == 4 and len(templates) == 3
    for user in EN[2:4]:
        message = _story_message(newsroom, user.id, title)
        tagged = f"{link}&utm_source=telegram&utm_campaign={user.id}"
        assert message.buttons[0]["url"] == tagged
        assert message.entities[0]["url"] == tagged
    assert "utm_" not in _story_message(newsroom, EN[0].id, title).buttons[0]["url"]


@pytest.fixture
async def filtered_channel(
    tmp_path: Path,
    fake_api: FakeBotAPI,  # noqa: F811 - the fixture imported above
    feed_server: FeedServer,
    feed_urls: list[str],
) -> AsyncIterator[Newsroom]:
    channel = {
        "chat": CHANNEL.id,
        "sections": ["parliament"],
        "include": ["Almaty"],
        "template": "<b>{{ title }}</b>\n{{ hashtags }}",
    }
    settings = newsroom_settings(tmp_path, fake_api, feed_urls, channels=[channel])
    async with running_newsroom(settings, fake_api, feed_server) as running:
        running.api.add_bot_to_channel(ADMIN, CHANNEL)
        await running.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
        await running.poll()
        yield running


async def test_a_channels_filters_match_the_feeds_categories(filtered_channel: Newsroom) -> None:
    tagged = Item("c-1", "Metro gets three new stations", NOW, category="Almaty")
    other = Item("c-2", "Bridge repairs begin", NOW - timedelta(minutes=1), category="Astana")
    await _publish(filtered_channel, tagged, other)
    texts = [m.plain_text for m in filtered_channel.api.messages_to(CHANNEL.id)]
    assert texts == [f"{tagged.title}\n#parliament"]
    async with filtered_channel.core.database.sessions() as session:
        stored = dict((await session.execute(select(Story.title, Story.categories))).all())
    assert stored[tagged.title] == ["Almaty"] and stored[other.title] == ["Astana"]
