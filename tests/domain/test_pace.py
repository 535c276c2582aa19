"""Pace and quiet hours as time arithmetic (bot/domain/pace.py), with plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.channel_rules import DeskPace
from bot.domain.pace import Plan, next_allowed, plan, quiet_period

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


def test_without_roundups_a_full_hour_leaves_the_story_out_but_quiet_hours_still_hold() -> None:
    night, day = almaty(1, 23, 30), almaty(2, 12)
    capped = DeskPace(max_posts_per_hour=1, roundup=False)
    posted = [day - timedelta(minutes=20)]
    assert plan(capped, day, ALMATY, posted) == Plan(leave_out=True)
    assert plan(capped, day + timedelta(minutes=41), ALMATY, posted) == Plan()
    held = DeskPace(
        max_posts_per_hour=1, quiet_hours="23:00-07:00", quiet_mode="hold", roundup=False
    )
    assert plan(held, night, ALMATY).hold_until == almaty(2, 7)
