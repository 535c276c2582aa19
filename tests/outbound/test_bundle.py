"""Several stories in one message: a reader's bundle and a channel's "More news" roundup
(bot/outbound/bundle.py), parsed and counted as Telegram parses them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

import pytest

from bot.outbound.bundle import BUNDLE_LIMIT, render_bundle
from bot.outbound.i18n import Catalogues
from bot.outbound.text_limits import MESSAGE_LIMIT
from tests.fakes.telegram_html import parse_html

ALMATY = ZoneInfo("Asia/Almaty")
NOON = datetime(2026, 12, 1, 12, 38, tzinfo=UTC)  # 17:38 in Almaty
SECTIONS = {"parliament": "Парламент", "economy": "Экономика"}


@dataclass(frozen=True)
class FakeStory:
    id: int
    title: str
    link: str | None
    summary: str = ""
    image_url: str | None = None
    section: str | None = "parliament"
    published_at: datetime = NOON
    language: str | None = "ru"


def _stories(count: int, title: str) -> list[FakeStory]:
    """`count` stories a minute apart, the last one newest."""
    return [
        FakeStory(
            id=n,
            title=f"{title} {n}",
            link=f"https://inform.kz/{n}",
            summary=f"Lead of story {n}.\n\nSecond paragraph.",
            published_at=NOON + timedelta(minutes=n),
        )
        for n in range(count)
    ]


def _bundle(stories: list[FakeStory], language: str = "ru", *, overflow: bool = True):  # type: ignore[no-untyped-def]
    t = Catalogues.load().translator(language)
    title = t.plural("bundle_title", len(stories))
    return render_bundle(
        stories, title=title, t=t, zone=ALMATY, section_titles=SECTIONS, overflow=overflow
    )


def test_a_bundle_lists_the_stories_newest_first_with_section_time_and_the_newest_lead() -> None:
    bundle = _bundle(_stories(3, "Сюжет"))
    parsed = parse_html(bundle.message.text)
    assert bundle.listed == (2, 1, 0) and bundle.more == 0
    lines = parsed.text.split("\n")
    assert lines[0] == "3 новых сюжета"
    assert lines[2] == "• Сюжет 2 · Парламент · 17:40"
    assert lines[3] == "Lead of story 2."  # the newest one's lead: its first paragraph
    assert lines[5:] == ["• Сюжет 1 · Парламент · 17:39", "• Сюжет 0 · Парламент · 17:38"]
    assert "Second paragraph" not in parsed.text and "Lead of story 1" not in parsed.text
    links = [entity["url"] for entity in parsed.entities if entity["type"] == "text_link"]
    assert links == ["https://inform.kz/2", "https://inform.kz/1", "https://inform.kz/0"]
    assert bundle.message.link_preview_url is None and bundle.message.photo_url is None


@pytest.mark.parametrize(
    ("language", "count", "title"),
    [
        ("ru", 2, "2 новых сюжета"),
        ("ru", 5, "5 новых сюжетов"),
        ("ru", 21, "21 новый сюжет"),
        ("kk", 3, "3 жаңа жаңалық"),
        ("en", 2, "2 new stories"),
    ],
)
def test_the_title_counts_the_stories_in_the_reader_s_language(
    language: str, count: int, title: str
) -> None:
    bundle = _bundle(_stories(count, "Story"), language)
    assert parse_html(bundle.message.text).text.startswith(title + "\n")


def test_what_does_not_fit_is_counted_in_a_last_line_that_leads_to_today() -> None:
    bundle = _bundle(_stories(BUNDLE_LIMIT + 7, "Short"), "en")
    parsed = parse_html(bundle.message.text)
    assert len(bundle.listed) == BUNDLE_LIMIT and bundle.more == 7
    assert parsed.text.endswith("\n\n…and 7 more: /today")
    long = _bundle(_stories(60, "Очень длинный заголовок о важном " * 8))
    parsed = parse_html(long.message.text)
    assert 0 < len(long.listed) < BUNDLE_LIMIT and long.more == 60 - len(long.listed)
    assert parsed.utf16_length <= MESSAGE_LIMIT and parsed.text.endswith(f"{long.more}: /today")
    assert parsed.text.count("• ") == len(long.listed)


def test_a_roundup_lists_escaped_linked_headlines_in_the_chats_language() -> None:
    catalogues = Catalogues.load()
    stories = [FakeStory(id=1, title='Tax & "fees" <law>', link="https://inform.kz/a?x=1&y=2")]
    for language, title in (("ru", "Ещё новости"), ("kk", "Тағы жаңалықтар")):
        t = catalogues.translator(language)
        bundle = render_bundle(
            stories, title=t("roundup_title"), t=t, zone=ALMATY, section_titles={}, overflow=False
        )
        assert bundle.listed == (1,) and bundle.message.text.startswith(f"<b>{title}</b>")
        assert escape('Tax & "fees" <law>') in bundle.message.text
        assert 'href="https://inform.kz/a?x=1&amp;y=2"' in bundle.message.text
        assert not bundle.message.disable_notification


def test_a_roundup_lists_what_fits_and_leaves_the_rest_for_the_next() -> None:
    assert len(_bundle(_stories(BUNDLE_LIMIT + 5, "Short"), overflow=False).listed) == BUNDLE_LIMIT
    bundle = _bundle(_stories(30, "Долгий заголовок " * 17), overflow=False)
    parsed = parse_html(bundle.message.text)  # as Telegram parses and counts it
    assert 0 < len(bundle.listed) < BUNDLE_LIMIT and parsed.utf16_length <= MESSAGE_LIMIT
    assert bundle.more == 0 and "/today" not in parsed.text
    assert bundle.listed == tuple(range(29, 29 - len(bundle.listed), -1))  # the newest
    assert parsed.text.count("• ") == len(bundle.listed)
    assert len(bundle.message.text) > MESSAGE_LIMIT  # the links' HTML is not counted
