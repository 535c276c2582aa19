"""Forum topics through the fake Bot API: each section of a forum supergroup posts into its
own topic, created once (named in the forum's edition) or picked in the config; without
the right to manage topics, General; a lost topic is recreated once, then General with a
notice to the admin who added the bot; breaking news to General or its topic; every other
chat as before."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage import destinations
from tests.entrypoints.telegram.conftest import (
    EDITOR,
    STRANGER,
    Newsroom,
    newsroom_settings,
    running_newsroom,
)
from tests.fakes.bot_api import FakeBotAPI, FakeChat, FakeUser, SentMessage
from tests.fakes.conversation import ask, button_data
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
RU_ADMIN = FakeUser(id=777000001, first_name="Olga", language_code="ru")
KK_ADMIN = FakeUser(id=777000002, first_name="Erlan", language_code="kk")
RU_FORUM = FakeChat(-1003000000001, "supergroup", "Kazinform форум", is_forum=True)
KK_FORUM = FakeChat(-1003000000002, "supergroup", "Kazinform қауымы", is_forum=True)
GROUP = FakeChat(-1003000000003, "supergroup", "Readers' group")  # not a forum
CHANNEL = FakeChat(-1003000000004, "channel", "Kazinform channel")
SECTIONS: list[dict[str, Any]] = [
    {"slug": "politics", "title": {"en": "Politics", "ru": "Политика", "kk": "Саясат"}},
    {"slug": "society", "title": {"en": "Society", "ru": "Общество", "kk": "Қоғам"}},
]
FEEDS = [(edition, section) for edition in ("ru", "kk") for section in ("politics", "society")]
_versions = itertools.count(2)


def _backlog(edition: str, section: str) -> Item:
    return Item(f"{edition}-{section}-old", f"Old {edition} {section}", NOW - timedelta(hours=3))


@contextlib.asynccontextmanager
async def forum_newsroom(
    tmp_path: Path,
    api: FakeBotAPI,
    feeds: FeedServer,
    *,
    channel: dict[str, Any] | None = None,
) -> AsyncIterator[Newsroom]:
    """A newsroom in ru and kk with a feed per edition and section; RU_FORUM is declared in
    the config (ru, both sections, and `channel`'s keys); its backlog polled."""
    urls = {
        (edition, section): feeds.add(
            f"/rss/{edition}-{section}.xml", rss([_backlog(edition, section)], language=edition)
        )
        for edition, section in FEEDS
    }
    declared = {"chat": RU_FORUM.id, "sections": ["politics", "society"], "editions": ["ru"]}
    settings = newsroom_settings(
        tmp_path,
        api,
        [],
        feeds=[
            {"url": url, "section": section, "language": edition}
            for (edition, section), url in urls.items()
        ],
        sections=SECTIONS,
        editions=["ru", "kk"],
        channels=[{**declared, **(channel or {})}],
    )
    async with running_newsroom(settings, api, feeds) as newsroom:
        await newsroom.poll()
        yield newsroom


async def add_bot(
    newsroom: Newsroom, admin: FakeUser, chat: FakeChat, *, can_manage_topics: bool = True
) -> None:
    """The admin (who has a private chat with the bot) adds it to the chat as an admin."""
    await ask(newsroom.api, admin, "/start")
    before = len(newsroom.api.messages_to(admin.id))
    newsroom.api.add_bot_to_channel(admin, chat, can_manage_topics=can_manage_topics)
    await newsroom.api.wait_for(lambda m: m.chat_id == admin.id, count=before + 1)


async def subscribe_chat(newsroom: Newsroom, chat: FakeChat, sections: Sequence[str]) -> None:
    async with newsroom.core.database.sessions.begin() as session:
        found = await destinations.get_by_chat(session, chat.id)
        assert found is not None
        for section in sections:
            await destinations.subscribe(session, found.id, section, NOW)


async def publish(newsroom: Newsroom, edition: str, section: str, *titles: str) -> None:
    """New stories in a feed, polled and delivered."""
    items = [
        Item(f"{edition}-{section}-{title}", title, NOW - timedelta(minutes=len(titles) - i))
        for i, title in enumerate(titles)
    ]
    newsroom.feeds.add(
        f"/rss/{edition}-{section}.xml",
        rss([*items, _backlog(edition, section)], language=edition),
        etag=f'"v{next(_versions)}"',
    )
    await newsroom.poll()
    await newsroom.deliver_all(timeout=20)


def sent(api: FakeBotAPI, chat: FakeChat, title: str) -> SentMessage:
    """The story's message (the first naming it: later ones may list it as related)."""
    return next(m for m in api.messages_to(chat.id) if title in m.text)


def creations(api: FakeBotAPI, chat: FakeChat) -> list[str]:
    return [name for chat_id, _, name in api.topics_created if chat_id == chat.id]


async def test_a_section_gets_one_topic_named_in_the_forums_edition(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        await add_bot(newsroom, RU_ADMIN, RU_FORUM)
        await add_bot(newsroom, KK_ADMIN, KK_FORUM)
        await subscribe_chat(newsroom, KK_FORUM, ["politics"])
        await publish(newsroom, "ru", "politics", "Сенат принял закон", "Мажилис одобрил бюджет")
        await publish(newsroom, "ru", "society", "В Астане открыли парк")
        await publish(newsroom, "kk", "politics", "Сенат заңды қабылдады")
        await publish(newsroom, "ru", "politics", "Премьер провёл совещание")

        api = fake_api
        assert creations(api, RU_FORUM) == ["Политика", "Общество"]
        assert creations(api, KK_FORUM) == ["Саясат"]
        topics = {name: thread for thread, name in api.topics(RU_FORUM.id).items()}
        politics = {
            sent(api, RU_FORUM, title).message_thread_id
            for title in ("Сенат принял закон", "Мажилис одобрил бюджет", "Премьер провёл")
        }
        assert politics == {topics["Политика"]}
        assert sent(api, RU_FORUM, "В Астане").message_thread_id == topics["Общество"]
        (kk_topic,) = api.topics(KK_FORUM.id)
        assert sent(api, KK_FORUM, "Сенат заңды").message_thread_id == kk_topic


async def test_the_configs_topic_is_used_and_without_the_right_the_rest_goes_to_general(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    desk = fake_api.add_topic(RU_FORUM, "Политика и выборы")
    async with forum_newsroom(
        tmp_path, fake_api, feed_server, channel={"topics": {"politics": desk}}
    ) as newsroom:
        await add_bot(newsroom, RU_ADMIN, RU_FORUM, can_manage_topics=False)
        await publish(newsroom, "ru", "politics", "Сенат принял закон")
        await publish(newsroom, "ru", "society", "В Астане открыли парк")
    assert sent(fake_api, RU_FORUM, "Сенат").message_thread_id == desk
    general = sent(fake_api, RU_FORUM, "В Астане")
    assert general.message_thread_id is None and "message_thread_id" not in general.params
    assert [m for m, _ in fake_api.requests if m == "createForumTopic"] == []


async def test_a_deleted_topic_is_recreated_once_then_general_with_a_notice(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        await add_bot(newsroom, KK_ADMIN, KK_FORUM)
        await subscribe_chat(newsroom, KK_FORUM, ["politics"])
        await publish(newsroom, "kk", "politics", "Бірінші жаңалық")
        first = sent(fake_api, KK_FORUM, "Бірінші").message_thread_id
        assert first is not None
        fake_api.delete_topic(KK_FORUM.id, first)
        await publish(newsroom, "kk", "politics", "Екінші жаңалық")
        second = sent(fake_api, KK_FORUM, "Екінші").message_thread_id
        assert second not in (None, first)
        assert creations(fake_api, KK_FORUM) == ["Саясат", "Саясат"]
        notices = len(fake_api.messages_to(KK_ADMIN.id))

        fake_api.delete_topic(KK_FORUM.id, second)
        await publish(newsroom, "kk", "politics", "Үшінші жаңалық")
        await publish(newsroom, "kk", "politics", "Төртінші жаңалық")
    for title in ("Үшінші", "Төртінші"):
        assert sent(fake_api, KK_FORUM, title).message_thread_id is None  # General
    assert len(creations(fake_api, KK_FORUM)) == 2  # recreated once only
    (notice,) = fake_api.messages_to(KK_ADMIN.id)[notices:]
    assert "«Саясат»" in notice.text and "жойылған немесе жабылған" in notice.text


async def test_a_closed_topic_is_recreated(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        await add_bot(newsroom, RU_ADMIN, RU_FORUM)
        await publish(newsroom, "ru", "society", "Первая новость")
        first = sent(fake_api, RU_FORUM, "Первая").message_thread_id
        assert first is not None
        fake_api.close_topic(RU_FORUM.id, first)
        await publish(newsroom, "ru", "society", "Вторая новость")
        second = sent(fake_api, RU_FORUM, "Вторая").message_thread_id
    assert second not in (None, first)
    assert creations(fake_api, RU_FORUM) == ["Общество", "Общество"]
    assert fake_api.topics(RU_FORUM.id) == {second: "Общество"}


async def test_a_lost_topic_the_config_picked_goes_to_general_with_a_notice_in_russian(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    desk = fake_api.add_topic(RU_FORUM, "Политика")
    async with forum_newsroom(
        tmp_path, fake_api, feed_server, channel={"topics": {"politics": desk}}
    ) as newsroom:
        await add_bot(newsroom, RU_ADMIN, RU_FORUM)
        fake_api.delete_topic(RU_FORUM.id, desk)
        await publish(newsroom, "ru", "politics", "Сенат принял закон")
    assert sent(fake_api, RU_FORUM, "Сенат").message_thread_id is None
    assert creations(fake_api, RU_FORUM) == []  # the config's pick is not replaced
    notice = fake_api.messages_to(RU_ADMIN.id)[-1]
    assert "«Политика»" in notice.text and "удалена или закрыта" in notice.text


async def _breaking(newsroom: Newsroom, text: str) -> None:
    api = newsroom.api
    before = len(api.messages_to(EDITOR.id))
    api.send_message(EDITOR, f"/breaking {text}")
    messages = await api.wait_for(lambda m: m.chat_id == EDITOR.id, count=before + 2)
    confirm = messages[-1]
    api.press_button(EDITOR, confirm, button_data(confirm)[0])
    await api.wait_for(lambda m: m.method == "editMessageText" and m.chat_id == EDITOR.id)
    await newsroom.deliver_all()


async def test_breaking_news_goes_to_general_unless_a_topic_is_chosen(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    alerts = fake_api.add_topic(RU_FORUM, "Срочно")
    async with forum_newsroom(
        tmp_path, fake_api, feed_server, channel={"topics": {"breaking": alerts}}
    ) as newsroom:
        await add_bot(newsroom, RU_ADMIN, RU_FORUM)
        await add_bot(newsroom, KK_ADMIN, KK_FORUM)
        await _breaking(newsroom, "Earthquake felt across the region")
    assert sent(fake_api, RU_FORUM, "Earthquake").message_thread_id == alerts
    assert sent(fake_api, KK_FORUM, "Earthquake").message_thread_id is None
    assert creations(fake_api, RU_FORUM) == creations(fake_api, KK_FORUM) == []


async def test_breaking_news_whose_topic_is_gone_goes_to_general_and_the_admin_is_told(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    alerts = fake_api.add_topic(RU_FORUM, "Срочно")
    async with forum_newsroom(
        tmp_path, fake_api, feed_server, channel={"topics": {"breaking": alerts}}
    ) as newsroom:
        await add_bot(newsroom, RU_ADMIN, RU_FORUM)
        fake_api.delete_topic(RU_FORUM.id, alerts)
        await _breaking(newsroom, "Earthquake felt across the region")
    assert sent(fake_api, RU_FORUM, "Earthquake").message_thread_id is None
    notice = fake_api.messages_to(RU_ADMIN.id)[-1]
    assert "срочных новостей" in notice.text and "General" in notice.text


async def test_chats_that_are_not_forums_are_sent_to_as_before(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        await add_bot(newsroom, RU_ADMIN, GROUP)
        await add_bot(newsroom, RU_ADMIN, CHANNEL)
        for chat in (GROUP, CHANNEL):
            await subscribe_chat(newsroom, chat, ["politics"])
        await publish(newsroom, "ru", "politics", "Сенат принял закон")
    async with newsroom.core.database.sessions() as session:
        group = await destinations.get_by_chat(session, GROUP.id)
        assert group is not None and not group.is_forum
    for chat in (GROUP, CHANNEL):
        message = sent(fake_api, chat, "Сенат")
        assert message.message_thread_id is None and "message_thread_id" not in message.params
    assert [m for m, _ in fake_api.requests if m == "createForumTopic"] == []


async def test_a_429_on_createforumtopic_waits_and_creates_the_topic_once(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        await add_bot(newsroom, RU_ADMIN, RU_FORUM)
        fake_api.inject_failures(status=429, ratio=1.0, count=1, methods=["createForumTopic"])
        await publish(newsroom, "ru", "politics", "Сенат принял закон")
    assert fake_api.failures_injected == 1
    assert creations(fake_api, RU_FORUM) == ["Политика"]
    (thread,) = fake_api.topics(RU_FORUM.id)
    assert sent(fake_api, RU_FORUM, "Сенат").message_thread_id == thread


async def test_a_config_forum_named_by_username_is_learned_from_getchat(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    forum = FakeChat(-1003000000005, "supergroup", "Forum", username="kz_forum", is_forum=True)
    fake_api.register_chat(forum, bot_status="administrator")
    bot = FakeUser(fake_api.bot_id, "Newsbot")
    fake_api.set_member(forum, bot, "administrator", can_manage_topics=True)
    async with (
        forum_newsroom(tmp_path, fake_api, feed_server, channel={"chat": "@kz_forum"}) as newsroom,
        newsroom.core.database.sessions() as session,
    ):
        found = await destinations.get_by_chat(session, forum.id)
    assert found is not None and found.is_forum and found.can_manage_topics


async def test_an_admin_picks_a_topic_with_slash_topic_inside_it(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        await add_bot(newsroom, KK_ADMIN, KK_FORUM, can_manage_topics=False)
        fake_api.set_member(KK_FORUM, STRANGER, "member")
        await subscribe_chat(newsroom, KK_FORUM, ["politics", "society"])
        desk = fake_api.add_topic(KK_FORUM, "Саясат бөлімі")

        async def say(user: FakeUser, text: str) -> SentMessage:
            before = len(fake_api.messages_to(KK_FORUM.id))
            fake_api.send_message(user, text, chat=KK_FORUM, thread_id=desk)
            replies = await fake_api.wait_for(lambda m: m.chat_id == KK_FORUM.id, count=before + 1)
            return replies[-1]

        refused = await say(STRANGER, "/topic politics")
        picked = await say(KK_ADMIN, "/topic politics")
        await publish(newsroom, "kk", "politics", "Сенат заңды қабылдады")
        await publish(newsroom, "kk", "society", "Астанада саябақ ашылды")
    assert refused.message_thread_id == desk and "administrators" in refused.text
    assert picked.message_thread_id == desk and "«Саясат»" in picked.text
    assert sent(fake_api, KK_FORUM, "Сенат").message_thread_id == desk
    assert sent(fake_api, KK_FORUM, "Астанада").message_thread_id is None  # no right: General


async def test_a_group_that_turns_topics_on_later_posts_into_them_after_its_next_update(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    """No membership change tells the bot that a group became a forum; the next update from
    it does (every Chat object says is_forum), and the next story goes to its topic."""
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        await add_bot(newsroom, RU_ADMIN, GROUP)
        await subscribe_chat(newsroom, GROUP, ["politics"])
        await publish(newsroom, "ru", "politics", "Сенат принял закон")
        forum = dataclasses.replace(GROUP, is_forum=True)  # its admins turn topics on
        fake_api.send_message(RU_ADMIN, "/latest", chat=forum)

        async def is_forum() -> bool:
            async with newsroom.core.database.sessions() as session:
                found = await destinations.get_by_chat(session, GROUP.id)
                return found is not None and found.is_forum

        for _ in range(100):
            if await is_forum():
                break
            await asyncio.sleep(0.05)
        await publish(newsroom, "ru", "politics", "Мажилис одобрил бюджет")
    assert sent(fake_api, GROUP, "Сенат").message_thread_id is None
    assert creations(fake_api, GROUP) == ["Политика"]
    (topic,) = fake_api.topics(GROUP.id)
    assert sent(fake_api, GROUP, "Мажилис").message_thread_id == topic


async def test_an_admin_who_only_used_channels_is_told_when_a_topic_falls_back_to_general(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    """Before: "no admin to tell" in the log: /channels alone never registered their chat."""
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        fake_api.add_bot_to_channel(KK_ADMIN, KK_FORUM, can_manage_topics=True)
        for _ in range(100):
            async with newsroom.core.database.sessions() as session:
                if await destinations.get_by_chat(session, KK_FORUM.id) is not None:
                    break
            await asyncio.sleep(0.05)
        listed = await ask(fake_api, KK_ADMIN, "/channels")
        assert f"ch:{KK_FORUM.id}" in button_data(listed)
        await subscribe_chat(newsroom, KK_FORUM, ["politics"])
        await publish(newsroom, "kk", "politics", "Бірінші жаңалық")
        first = sent(fake_api, KK_FORUM, "Бірінші").message_thread_id
        fake_api.delete_topic(KK_FORUM.id, first)
        await publish(newsroom, "kk", "politics", "Екінші жаңалық")
        second = sent(fake_api, KK_FORUM, "Екінші").message_thread_id
        fake_api.delete_topic(KK_FORUM.id, second)
        notices = len(fake_api.messages_to(KK_ADMIN.id))
        await publish(newsroom, "kk", "politics", "Үшінші жаңалық")
    assert sent(fake_api, KK_FORUM, "Үшінші").message_thread_id is None  # General
    (notice,) = fake_api.messages_to(KK_ADMIN.id)[notices:]
    assert "«Саясат»" in notice.text and "жойылған немесе жабылған" in notice.text


async def test_when_the_adder_cannot_be_told_another_admin_who_used_the_bot_is(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer
) -> None:
    """The admin who added the bot never wrote to it; a co-admin used /channels: told."""
    async with forum_newsroom(tmp_path, fake_api, feed_server) as newsroom:
        fake_api.add_bot_to_channel(KK_ADMIN, KK_FORUM, can_manage_topics=True)
        fake_api.set_member(KK_FORUM, RU_ADMIN, "administrator")
        for _ in range(100):
            async with newsroom.core.database.sessions() as session:
                if await destinations.get_by_chat(session, KK_FORUM.id) is not None:
                    break
            await asyncio.sleep(0.05)
        await ask(fake_api, RU_ADMIN, "/channels")
        await subscribe_chat(newsroom, KK_FORUM, ["politics"])
        await publish(newsroom, "kk", "politics", "Бірінші жаңалық")
        fake_api.delete_topic(KK_FORUM.id, sent(fake_api, KK_FORUM, "Бірінші").message_thread_id)
        await publish(newsroom, "kk", "politics", "Екінші жаңалық")
        fake_api.delete_topic(KK_FORUM.id, sent(fake_api, KK_FORUM, "Екінші").message_thread_id)
        notices = len(fake_api.messages_to(RU_ADMIN.id))
        await publish(newsroom, "kk", "politics", "Үшінші жаңалық")
    (notice,) = fake_api.messages_to(RU_ADMIN.id)[notices:]
    assert "«Политика»" in notice.text and KK_FORUM.title in notice.text
    # The adder, never registered, only had the "I was added" hint (sent as the bot joined).
    assert [m for m in fake_api.messages_to(KK_ADMIN.id) if "/channels" not in m.text] == []
