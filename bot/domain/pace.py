"""A chat's pace and quiet hours as time arithmetic (pure: no database, no Telegram).

The sender (bot/delivery/sender.py) asks `plan` about each story it claims for a chat with
a pace rule (bot.domain.channel_rules.DeskPace): send it now, send it silently (quiet hours,
mode "silent": Telegram's disable_notification), hold it for the chat's "More news"
roundup until a given time (over `max_posts_per_hour` in the rolling hour, or quiet hours in
mode "hold"), or leave it out (over the cap of a chat that takes no roundups). Breaking news
never comes here: it is never held, bundled or silenced.

Quiet hours are read on the newsroom's clock (Settings.zone) each day: "23:00-07:00" spans
midnight, "12:00-14:00" does not; a start equal to its end is no quiet period at all. Times
in and out are aware datetimes; what is stored stays UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.channel_rules import DeskPace

# The cap counts posts in a rolling hour: a post counts while less than this has passed.
WINDOW = timedelta(hours=1)
HOLD = "hold"


@dataclass(frozen=True, slots=True)
class QuietPeriod:
    """One night's (or day's) quiet hours, as moments: from `start` until `end`."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one story (or roundup) for a paced chat now.

    `hold_until` set: keep it (as a roundup member) until then; `leave_out`: over the cap of
    a chat without roundups, never send it; otherwise send it, without notification sound
    when `silent`.
    """

    hold_until: datetime | None = None
    silent: bool = False
    leave_out: bool = False


def parse_quiet_hours(spec: str) -> tuple[time, time]:
    """ "23:00-07:00" -> (23:00, 07:00); the config and the admin screens validate the form."""
    start, end = spec.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def quiet_period(spec: str | None, now: datetime, zone: ZoneInfo) -> QuietPeriod | None:
    """The quiet period `now` falls in, or None when `now` is not in quiet hours.

    A period that spans midnight began yesterday when `now` is before its end. On a day
    when the clock changes, a wall time that does not exist is taken as `fold` says
    (zoneinfo's rule): the period may be an hour shorter or longer that night.
    """
    if not spec:
        return None
    start, end = parse_quiet_hours(spec)
    if start == end:
        return None
    local = now.astimezone(zone)
    today = local.date()
    spans_midnight = start > end
    for day in (today - timedelta(days=1), today):
        begins = datetime.combine(day, start, zone)
        ends = datetime.combine(day + timedelta(days=1) if spans_midnight else day, end, zone)
        if begins <= local < ends:
            return QuietPeriod(begins.astimezone(UTC), ends.astimezone(UTC))
    return None


def next_allowed(posts: Sequence[datetime], cap: int, now: datetime) -> datetime:
    """When the chat may have its next post, given when its recent posts went out.

    At most `cap` posts in any rolling hour: with `cap` or more in the last hour, the next
    may go when the oldest of the latest `cap` of them is an hour old.
    """
    recent = sorted(at for at in posts if now - at < WINDOW)
    if len(recent) < cap:
        return now
    return recent[-cap] + WINDOW


def plan(pace: DeskPace, now: datetime, zone: ZoneInfo, posts: Sequence[datetime] = ()) -> Plan:
    """What to do now with a story for a chat paced by `pace` (see the module).

    Quiet hours in "hold" keep every story until they end (then one roundup goes, which
    itself counts against the cap); otherwise a full hour holds it until the window has
    room, or leaves it out when the chat takes no roundups; what goes during quiet hours in
    "silent" goes without sound.
    """
    quiet = quiet_period(pace.quiet_hours, now, zone)
    if quiet is not None and pace.quiet_mode == HOLD:
        return Plan(hold_until=quiet.end)
    if pace.max_posts_per_hour is not None:
        free = next_allowed(posts, pace.max_posts_per_hour, now)
        if free > now:
            return Plan(hold_until=free) if pace.roundup else Plan(leave_out=True)
    return Plan(silent=quiet is not None)
