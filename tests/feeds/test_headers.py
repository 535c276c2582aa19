"""Reading a feed response's headers by HTTP's rules (bot/feeds/headers.py), plain values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.feeds.headers import freshness_lifetime, parse_retry_after

MAY_1 = "Fri, 01 May 2026 10:00:00 GMT"


def test_expires_counts_from_the_response_date() -> None:
    headers = {"date": MAY_1, "expires": "Fri, 01 May 2026 10:15:00 GMT"}

    assert freshness_lifetime(headers, datetime.now(UTC)) == 900
    assert freshness_lifetime({"expires": "0"}, datetime.now(UTC)) == 0
    assert freshness_lifetime({}, datetime.now(UTC)) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Fri, 01 May 2026 09:00:00 GMT", 0.0),  # in the past: retry now
        ("Fri, 01 May 2026 10:02:00 GMT", 120.0),
        ("soon", None),
        ("-5", None),
        ("²", None),
        ("99999999999", 7 * 24 * 3600.0),
        (None, None),
    ],
)
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    now = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)

    assert parse_retry_after(value, now) == expected
