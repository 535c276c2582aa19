"""When the editors hear about a failing feed: once when it has failed for `feed_alert_after`,
once more when it answers again, nothing in between.

Pure: the feed-alerts service (bot/services/feed_alerts.py) reads each feed's state, asks
`next_alert` what is due, claims it in the database (storage/feeds.py, so only one instance
sends it) and sends it.

A feed's state is three times the poller records (storage/feeds.py record_poll):
`failing_since`, when its current run of failed polls began (None once a poll succeeds);
`alerted_since`, the start of the outage the editors were told about (None when they were
told of none, or told it ended); and `last_success_at`, its latest successful poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class FeedAlert(StrEnum):
    """What is due to the editors about one feed."""

    NONE = "none"
    DOWN = "down"  # it has failed for the threshold: tell them, once
    RECOVERED = "recovered"  # they were told it was down, and a poll has since succeeded


@dataclass(frozen=True, slots=True)
class AlertState:
    failing_since: datetime | None
    alerted_since: datetime | None
    last_success_at: datetime | None


def next_alert(state: AlertState, now: datetime, after: timedelta) -> FeedAlert:
    """The alert due for a feed in `state` at `now`, with `after` as the threshold.

    A failure shorter than `after` is nothing; an outage already told is nothing while it
    lasts (a success followed by a new failure before the recovery was sent counts as the
    same outage: the editors hear of its end once, when the feed answers again).
    """
    if state.alerted_since is None:
        if state.failing_since is not None and now - state.failing_since >= after:
            return FeedAlert.DOWN
        return FeedAlert.NONE
    if state.failing_since is None:
        return FeedAlert.RECOVERED
    return FeedAlert.NONE


def outage(state: AlertState, now: datetime) -> timedelta:
    """How long the feed has been (or, recovered, was) down: from the start of the outage to
    its first success (its latest success when the recovery is sent late), else to `now`."""
    start = state.alerted_since or state.failing_since
    if start is None:
        return timedelta(0)
    end = now
    if state.failing_since is None and state.last_success_at is not None:
        end = state.last_success_at
    return max(end - start, timedelta(0))


def describe_error(status: str | None, error: str | None) -> str:
    """The error as editors read it: the stable key and its detail ("http_5xx: HTTP 503")."""
    if status and error:
        return f"{status}: {error}"
    return error or status or "unknown"


def duration_parts(length: timedelta) -> list[tuple[str, int]]:
    """A duration as it is read: its largest unit and the next one down when not zero, whole
    and rounded down ("day", "hour", "minute") -> [("hour", 1), ("minute", 35)]. Under a
    minute reads as one minute."""
    minutes = max(int(length.total_seconds() // 60), 1)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = [("day", days), ("hour", hours), ("minute", minutes)]
    first = next(index for index, (_, count) in enumerate(units) if count)
    return [unit for unit in units[first : first + 2] if unit[1]]
