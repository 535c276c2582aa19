"""When editors hear of a failing feed: once past the threshold, once when it works again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.feed_alerts import (
    AlertState,
    FeedAlert,
    describe_error,
    duration_parts,
    next_alert,
    outage,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
AFTER = timedelta(minutes=30)


def state(
    failing: timedelta | None = None,
    alerted: timedelta | None = None,
    success: timedelta | None = None,
) -> AlertState:
    """A feed failing since `failing` ago, told of an outage since `alerted` ago, last
    successful `success` ago."""
    return AlertState(
        failing_since=NOW - failing if failing is not None else None,
        alerted_since=NOW - alerted if alerted is not None else None,
        last_success_at=NOW - success if success is not None else None,
    )


def test_a_healthy_feed_is_nothing() -> None:
    assert next_alert(state(success=timedelta(minutes=1)), NOW, AFTER) is FeedAlert.NONE
    assert next_alert(state(), NOW, AFTER) is FeedAlert.NONE


def test_a_failure_shorter_than_the_threshold_is_nothing() -> None:
    short = state(failing=timedelta(minutes=29, seconds=59), success=timedelta(minutes=31))
    assert next_alert(short, NOW, AFTER) is FeedAlert.NONE


def test_a_failure_reaching_the_threshold_is_an_alert() -> None:
    assert next_alert(state(failing=AFTER), NOW, AFTER) is FeedAlert.DOWN
    long = state(failing=timedelta(days=3), success=timedelta(days=3, minutes=2))
    assert next_alert(long, NOW, AFTER) is FeedAlert.DOWN


def test_nothing_more_while_the_told_outage_lasts() -> None:
    told = state(failing=timedelta(hours=5), alerted=timedelta(hours=5))
    assert next_alert(told, NOW, AFTER) is FeedAlert.NONE


def test_a_success_after_the_alert_is_the_recovery() -> None:
    back = state(alerted=timedelta(hours=2), success=timedelta(minutes=1))
    assert next_alert(back, NOW, AFTER) is FeedAlert.RECOVERED


def test_failing_again_before_the_recovery_went_out_is_the_same_outage() -> None:
    """Told at 2 h, back for a moment, failing again: no recovery, and no second alert."""
    hour = timedelta(hours=1)
    again = state(failing=hour, alerted=2 * hour, success=hour + timedelta(minutes=2))
    assert next_alert(again, NOW, AFTER) is FeedAlert.NONE


def test_the_outage_runs_from_its_start_to_now_or_to_the_first_success() -> None:
    assert outage(state(failing=timedelta(minutes=45)), NOW) == timedelta(minutes=45)
    back = state(alerted=timedelta(hours=2), success=timedelta(minutes=5))
    assert outage(back, NOW) == timedelta(hours=1, minutes=55)
    assert outage(state(), NOW) == timedelta(0)


def test_the_error_reads_as_its_key_and_detail() -> None:
    assert describe_error("http_5xx", "HTTP 503 Service Unavailable") == (
        "http_5xx: HTTP 503 Service Unavailable"
    )
    assert describe_error("timeout", None) == "timeout"
    assert describe_error(None, None) == "unknown"


@pytest.mark.parametrize(
    ("length", "parts"),
    [
        (timedelta(seconds=10), [("minute", 1)]),
        (timedelta(minutes=35, seconds=59), [("minute", 35)]),
        (timedelta(hours=1), [("hour", 1)]),
        (timedelta(hours=1, minutes=5), [("hour", 1), ("minute", 5)]),
        (timedelta(days=2, hours=3, minutes=7), [("day", 2), ("hour", 3)]),
        (timedelta(days=2, minutes=7), [("day", 2)]),
    ],
)
def test_a_duration_reads_as_its_two_largest_units(
    length: timedelta, parts: list[tuple[str, int]]
) -> None:
    assert duration_parts(length) == parts
