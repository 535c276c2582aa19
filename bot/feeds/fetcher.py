"""Fetching feeds over HTTP: conditional GET, size caps, bounded concurrency, Retry-After.

CONTRACT (implemented by the fetcher helper; the poller depends on exactly this):

    fetcher = Fetcher(client, max_bytes=..., max_concurrency=..., max_per_host=...)
    result = await fetcher.fetch(url, etag=..., last_modified=...)

`fetch` never raises for network or HTTP problems: every failure is a FetchResult with
`error` set to a short stable key (see FetchError) and a human `detail`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FetchError(StrEnum):
    """Stable error keys, stored on the feed row and shown to operators."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    HTTP_CLIENT = "http_4xx"
    HTTP_SERVER = "http_5xx"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    EMPTY = "empty_body"
    INVALID_URL = "invalid_url"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one HTTP fetch of a feed produced."""

    url: str
    final_url: str
    status: int | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: FetchError | None = None
    detail: str | None = None
    retry_after: float | None = None
    max_age: float | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None
