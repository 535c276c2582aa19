"""The day's budget for Telegram's paid broadcasts (pure arithmetic on a clock).

With `allow_paid_broadcast`, breaking news may go at up to 1,000 messages a second for
0.1 Star a message (stories always go at the free 30 a second). `paid_stars_per_day` caps
what a day may cost: each paid message is counted at 0.1 Star when it is booked (an upper
bound: Telegram charges only the messages beyond the free rate), so the budget is never
overspent, and once it is spent breaking news goes at the free pace until the next UTC day.
Whenever an instance becomes the sender (at start-up, or taking over from one that died),
the day's count starts from the breaking messages already sent today
(storage.stats.alert_messages_since), again an upper bound.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

STARS_PER_MESSAGE = 0.1


class PaidBudget:
    """How many paid messages today may still have (None: paid broadcasts are off)."""

    def __init__(
        self,
        enabled: bool,
        stars_per_day: float | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.enabled = enabled
        self.stars_per_day = stars_per_day
        self._clock = clock
        self._day: date = clock().date()
        self._messages = 0

    @property
    def capped(self) -> bool:
        return self.enabled and self.stars_per_day is not None

    def spent_stars(self) -> float:
        self._roll()
        return self._messages * STARS_PER_MESSAGE

    def start_day_at(self, messages: int) -> None:
        """The messages already counted today (read at start-up)."""
        self._roll()
        self._messages = max(self._messages, messages)

    def take(self) -> bool:
        """Whether one more message may go on the paid lane; counts it when it may."""
        if not self.enabled:
            return False
        self._roll()
        if self.stars_per_day is not None:
            allowed = int(round(self.stars_per_day / STARS_PER_MESSAGE, 6))
            if self._messages >= allowed:
                return False
        self._messages += 1
        return True

    def refund(self) -> None:
        """A paid message that was not sent (refused, timed out) costs nothing."""
        self._messages = max(0, self._messages - 1)

    def _roll(self) -> None:
        today = self._clock().date()
        if today != self._day:
            self._day, self._messages = today, 0
