"""What a feed response's headers say, read by HTTP's rules: pure functions, no I/O.

The fetcher (bot/feeds/fetcher.py) sends the previous response's validators back
(conditional GET, RFC 9110 §13.1.1-2) and reports the server's hints: how long the response
stays fresh (RFC 9111 §4.2.1) and when to retry (Retry-After, RFC 9110 §10.2.3). It never
acts on them; scheduling is the poller's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus

# Server hints beyond a week are typos or hostile; clamping also keeps timedelta arithmetic in
# the poller from overflowing on "Retry-After: 99999999999999".
MAX_HINT_SECONDS = 7 * 24 * 3600.0


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """Validators from the previous response, echoed verbatim (RFC 9110 §13.1.2, §13.1.3).

    Both are sent when both are known: servers that ignore ETags often honour dates, and a
    server that understands both gives If-None-Match precedence.
    """
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait per a Retry-After value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).

    A date in the past means "now" (0); an unparseable value means no hint (None).
    """
    if not value:
        return None
    value = value.strip()
    seconds = _non_negative_int(value)
    if seconds is not None:
        return _clamp(float(seconds))
    when = _http_date(value)
    if when is None:
        return None
    return _clamp((when - now).total_seconds())


def freshness_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the response stays fresh (RFC 9111 §4.2.1), from max-age or Expires, less Age.

    None when the server gave neither; the poller then relies on its own interval alone.
    """
    lifetime = _max_age_directive(headers.get("cache-control", ""))
    if lifetime is None and "expires" in headers:
        expires = _http_date(headers["expires"])
        date = _http_date(headers.get("date", "")) or now
        # RFC 9111 §5.3: an invalid Expires (often "0" or "-1") means already expired.
        lifetime = (expires - date).total_seconds() if expires else 0.0
    if lifetime is None:
        return None
    age = _non_negative_int(headers.get("age", ""))
    return _clamp(lifetime - (age or 0))


def _max_age_directive(cache_control: str) -> float | None:
    for directive in cache_control.split(","):
        name, _, argument = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            seconds = _non_negative_int(argument.strip().strip('"'))
            return None if seconds is None else float(seconds)
    return None


def retry_after_for(status: int, headers: Mapping[str, str], now: datetime) -> float | None:
    """Retry-After is honoured on 429 and 503, the statuses RFC 9110 and RFC 6585 pair it with."""
    if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
        return parse_retry_after(headers.get("retry-after"), now)
    return None


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def content_length(value: str | None) -> int | None:
    """The declared length; httpx joins repeated headers with ", ", so take the first."""
    return _non_negative_int((value or "").split(",")[0].strip())


def _non_negative_int(text: str) -> int | None:
    """ASCII digits only: str.isdigit() alone would accept "²" and crash int()."""
    return int(text) if text.isascii() and text.isdigit() else None


def _clamp(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_HINT_SECONDS)
