"""The day's budget for paid broadcasts (bot/delivery/paid.py), on a clock of our own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.delivery.paid import PaidBudget


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_without_paid_broadcasts_nothing_goes_on_the_paid_lane() -> None:
    assert not PaidBudget(False, None).take()


def test_without_a_cap_every_breaking_message_may_be_paid() -> None:
    budget = PaidBudget(True, None)
    assert all(budget.take() for _ in range(10_000)) and not budget.capped


def test_a_day_s_stars_buy_ten_messages_a_star_then_the_free_pace_until_midnight() -> None:
    clock = Clock()
    budget = PaidBudget(True, 2.5, clock)
    assert [budget.take() for _ in range(26)] == [True] * 25 + [False]
    assert budget.spent_stars() == 2.5
    clock.now += timedelta(hours=1)  # a new UTC day
    assert budget.take() and budget.spent_stars() == 0.1


def test_a_restart_counts_what_today_already_sent() -> None:
    budget = PaidBudget(True, 1.0, Clock())
    budget.start_day_at(8)
    assert [budget.take() for _ in range(3)] == [True, True, False]


def test_a_paid_message_that_was_not_sent_costs_nothing() -> None:
    budget = PaidBudget(True, 0.1, Clock())
    assert budget.take() and not budget.take()
    budget.refund()  # Telegram refused it (429, a timeout): not charged
    assert budget.take()
