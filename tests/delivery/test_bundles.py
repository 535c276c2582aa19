"""Under load each reader gets one message per turn: the stories that waited, bundled in
their language; one story alone in its full layout; breaking news first and alone. Through
the real python-telegram-bot stack and the fake Bot API, Telegram's limits enforced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

from storage import destinations
from storage.destinations import ChatInfo
from storage.models import Story
from tests.delivery.conftest import BACKLOG, breaking_mid_backlog
from tests.entrypoints.telegram.conftest import ENGLISH_READER, READER, Newsroom
from tests.fakes.bot_api import FakeUser
from tests.fakes.conversation import subscribe
from tests.fakes.rss import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
KAZAKH_READER = FakeUser(id=666666666, first_name="Dana", language_code="kk")
TITLES = ("Senate adopts the budget", "Mazhilis hears the minister", "Snow closes the Astana road")


def story_items(titles: tuple[str, ...], minutes_ago: int = 3) -> list[Item]:
    return [
        Item(f"bundle-{n}", title, NOW - timedelta(minutes=minutes_ago - n))
        for n, title in enumerate(titles)
    ]


def story_messages(newsroom: Newsroom, chat_id: int) -> list[str]:
    """The texts of the messages this chat got that bring any of TITLES."""
    texts = [m.text for m in newsroom.api.messages_to(chat_id)]
    return [text for text in texts if any(escape(title) in text for title in TITLES)]


async def test_a_reader_with_three_waiting_stories_gets_one_message_in_their_language(
    paced_newsroom: Newsroom,
) -> None:
    for reader in (READER, ENGLISH_READER, KAZAKH_READER):
        await subscribe(paced_newsroom.api, reader, "parliament")
    paced_newsroom.feeds.add("/en.xml", rss([*story_items(TITLES), BACKLOG]))
    await paced_newsroom.poll()
    await paced_newsroom.deliver_all()
    for reader, title in (
        (READER, "3 новых сюжета"),
        (ENGLISH_READER, "3 new stories"),
        (KAZAKH_READER, "3 жаңа жаңалық"),
    ):
        (bundle,) = story_messages(paced_newsroom, reader.id)
        assert bundle.startswith(f"<b>{title}</b>")
        positions = [bundle.index(escape(headline)) for headline in TITLES]
        assert positions == sorted(positions, reverse=True)  # newest first
    assert paced_newsroom.api.too_many_requests == 0


async def test_a_single_waiting_story_comes_in_its_full_layout_with_related_links(
    paced_newsroom: Newsroom,
) -> None:
    await subscribe(paced_newsroom.api, READER, "parliament")
    earlier = Item("budget-1", "Senate debates the budget", NOW - timedelta(hours=2))
    paced_newsroom.feeds.add("/en.xml", rss([earlier, BACKLOG]))
    await paced_newsroom.poll()
    await paced_newsroom.deliver_all()
    story = Item(
        "budget-2", "Senate adopts the budget", NOW, image="https://static.inform.kz/b.jpg"
    )
    paced_newsroom.feeds.add("/en.xml", rss([story, earlier, BACKLOG]))
    await paced_newsroom.poll()
    await paced_newsroom.deliver_all()
    last = paced_newsroom.api.messages_to(READER.id)[-1]
    assert last.method == "sendPhoto" and last.text.startswith("<b>Senate adopts the budget</b>")
    assert "Senate debates the budget" in last.text  # the Related block: the earlier story
    assert "новых" not in last.text


async def test_breaking_news_overtakes_a_long_backlog_and_goes_alone(
    paced_newsroom: Newsroom,
) -> None:
    """120 readers with stories waiting (over four seconds of sending at Telegram's pace):
    breaking news queued once the first of them are out reaches every reader before any
    story that was still waiting, but for the few already booked to go."""
    readers = range(700_000, 700_120)
    queued_at, sent = await breaking_mid_backlog(
        paced_newsroom, readers, story_items(TITLES[:2]), "Breaking: earthquake in Almaty"
    )
    alerts = [m for m in sent if "earthquake" in m.text]
    stories = [m for m in sent if "earthquake" not in m.text]
    assert {m.chat_id for m in alerts} == set(readers) == {m.chat_id for m in stories}
    assert all(escape(TITLES[0]) not in m.text for m in alerts)  # never bundled
    alert_at = {m.chat_id: m.time for m in alerts}
    # Every story not already on its way when the alert came goes after that reader's alert.
    overtaken = [m for m in stories if queued_at + 2.0 < m.time < alert_at[m.chat_id]]
    assert overtaken == [] and len(stories) == len(readers)  # one bundle each
    assert paced_newsroom.api.too_many_requests == 0


async def test_a_story_in_an_edition_the_reader_does_not_read_is_never_bundled(
    paced_newsroom: Newsroom,
) -> None:
    """Editions are decided per story before anything is bundled: of four waiting stories,
    the reader of English gets the three in English, in one message."""
    async with paced_newsroom.core.database.sessions.begin() as session:
        reader = await destinations.ensure_destination(
            session, ChatInfo(chat_id=42, kind="private", editions=("en",)), NOW
        )
        await destinations.subscribe(session, reader.id, "parliament", NOW)
        for n, (title, edition) in enumerate(
            [*((title, "en") for title in TITLES), ("Сенат бюджетті қабылдады", "kk")]
        ):
            session.add(
                Story(
                    identity=f"e-{n}",
                    link=f"https://www.inform.kz/{n}",
                    title=title,
                    summary="",
                    section="parliament",
                    language=edition,
                    edition=edition,
                    published_at=NOW,
                    first_seen_at=NOW,
                    updated_at=NOW,
                    content_hash=f"{n}",
                    pushable=True,
                )
            )
    await paced_newsroom.deliver_all()
    (bundle,) = paced_newsroom.api.messages_to(42)
    assert bundle.text.startswith("<b>3 new stories</b>")
    assert all(escape(title) in bundle.text for title in TITLES)
    assert "Сенат" not in bundle.text
