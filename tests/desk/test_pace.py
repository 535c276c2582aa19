"""Pace and quiet hours as time arithmetic (bot/delivery/pace.py) and the roundup's layout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.pace import next_allowed, plan, quiet_period
from bot.telegram.i18n import Catalogues
from bot.telegram.render import ROUNDUP_LIMIT, render_roundup
from bot.telegram.text_limits import MESSAGE_LIMIT
from storage.desk import DeskPace
from tests.fakes.telegram_html import parse_html

ALMATY = ZoneInfo("Asia/Almaty")  # UTC+5


def almaty(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ALMATY)


@pytest.mark.parametrize(
    ("now", "quiet"),
    [
        (almaty(1, 23, 30), (almaty(1, 23), almaty(2, 7))),
        (almaty(2, 3, 0), (almaty(1, 23), almaty(2, 7))),  # after midnight: began yesterday
        (almaty(2, 6, 59), (almaty(1, 23), almaty(2, 7))),
        (almaty(2, 7, 0), None),  # the end is not quiet
        (almaty(2, 12, 0), None),
        (almaty(2, 22, 59), None),
    ],
)
def test_quiet_hours_that_span_midnight(
    now: datetime, quiet: tuple[datetime, datetime] | None
) -> None:
    period = quiet_period("23:00-07:00", now, ALMATY)
    assert (None if period is None else (period.start, period.end)) == quiet


def test_quiet_hours_within_a_day_and_on_the_newsrooms_clock() -> None:
    period = quiet_period("12:00-14:00", almaty(2, 13), ALMATY)
    assert period is not None and period.end == datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert quiet_period("12:00-14:00", almaty(2, 14), ALMATY) is None
    assert quiet_period("12:00-14:00", almaty(2, 11, 59), ALMATY) is None
    # 13:00 UTC is 18:00 in Almaty: not quiet there, whatever UTC says.
    assert quiet_period("12:00-14:00", datetime(2026, 12, 2, 13, tzinfo=UTC), ALMATY) is None
    assert quiet_period("10:00-10:00", almaty(2, 10), ALMATY) is None
    assert quiet_period(None, almaty(2, 10), ALMATY) is None


def test_a_full_hour_waits_for_its_oldest_post_to_be_an_hour_old() -> None:
    now = almaty(2, 12)
    posts = [now - timedelta(minutes=50), now - timedelta(minutes=10)]
    assert next_allowed(posts, 3, now) == now
    assert next_allowed(posts, 2, now) == now + timedelta(minutes=10)
    assert next_allowed(posts, 1, now) == now + timedelta(minutes=50)
    assert next_allowed([now - timedelta(minutes=61), *posts[1:]], 2, now) == now


def test_plan_holds_sends_silently_or_sends() -> None:
    night, day = almaty(1, 23, 30), almaty(2, 12)
    hold = DeskPace(quiet_hours="23:00-07:00", quiet_mode="hold")
    silent = DeskPace(max_posts_per_hour=1, quiet_hours="23:00-07:00", quiet_mode="silent")
    assert plan(hold, night, ALMATY).hold_until == almaty(2, 7)
    assert plan(hold, day, ALMATY) == plan(DeskPace(), day, ALMATY)
    assert plan(silent, night, ALMATY).silent
    assert not plan(silent, day, ALMATY).silent
    posted = [night - timedelta(minutes=20)]
    assert plan(silent, night, ALMATY, posted).hold_until == night + timedelta(minutes=40)


@dataclass(frozen=True)
class FakeStory:
    id: int
    title: str
    link: str | None
    summary: str = ""
    image_url: str | None = None
    section: str | None = "parliament"
    published_at: datetime = datetime(2026, 12, 1, 12, 38, tzinfo=UTC)  # 17:38 in Almaty
    language: str | None = "ru"


def _stories(count: int, title: str) -> list[FakeStory]:
    return [
        FakeStory(id=n, title=f"{title} {n}", link=f"https://inform.kz/{n}") for n in range(count)
    ]


def test_the_roundup_lists_escaped_linked_headlines_in_the_chats_language() -> None:
    catalogues = Catalogues.load()
    stories = [FakeStory(id=1, title='Tax & "fees" <law>', link="https://inform.kz/a?x=1&y=2")]
    for language, title in (("ru", "Ещё новости"), ("kk", "Тағы жаңалықтар")):
        message, listed = render_roundup(stories, t=catalogues.translator(language), zone=ALMATY)
        assert listed == 1 and message.text.startswith(f"<b>{title}</b>")
        assert escape('Tax & "fees" <law>') in message.text
        assert 'href="https://inform.kz/a?x=1&amp;y=2"' in message.text
        assert not message.disable_notification and message.link_preview_url is None


def test_a_roundup_lists_what_fits_and_leaves_the_rest_for_the_next() -> None:
    t = Catalogues.load().translator("en")
    _, listed = render_roundup(_stories(ROUNDUP_LIMIT + 5, "Short"), t=t, zone=ALMATY)
    assert listed == ROUNDUP_LIMIT
    message, listed = render_roundup(_stories(30, "Долгий заголовок " * 17), t=t, zone=ALMATY)
    parsed = parse_html(message.text)  # as Telegram parses and counts it
    assert 0 < listed < ROUNDUP_LIMIT and parsed.utf16_length <= MESSAGE_LIMIT
    assert parsed.text.count("• ") == listed and len(parsed.entities) == 1 + listed
    assert len(message.text) > MESSAGE_LIMIT  # the links' HTML is not counted
