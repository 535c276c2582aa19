"""Fetching feeds over HTTP: conditional GET, size caps, bounded concurrency, Retry-After.

CONTRACT (implemented by the fetcher helper; the poller depends on exactly this):

    fetcher = Fetcher(client, max_bytes=..., max_concurrency=..., max_per_host=...)
    result = await fetcher.fetch(url, etag=..., last_modified=...)

`fetch` never raises for network or HTTP problems: every failure is a FetchResult with
`error` set to a short stable key (see FetchError) and a human `detail`.

Why each limit exists:

* Conditional GET (RFC 9110 §13.1.1-2, §15.4.5): most polls of a newsroom feed find nothing
  new; a 304 costs the publisher and us almost nothing, and nothing is parsed or stored.
* `max_bytes` counts DECODED bytes while streaming, so a gzip bomb or an endless body is cut
  off after `max_bytes`, never held in memory whole.
* Concurrency is bounded globally (our sockets and CPU) and per host (politeness: a
  newsroom's twenty feeds on one CMS must not get twenty simultaneous requests).
* One deadline covers the whole fetch: httpx's timeouts are per network operation, so a server
  trickling one byte every few seconds would otherwise hold a slot forever.
* Retry-After (RFC 9110 §10.2.3) and freshness (RFC 9111 §4.2.1) are reported, never acted
  upon here: scheduling is the poller's business.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from http import HTTPStatus

import httpx

import bot

# Feed types first; generic XML/JSON next (many CMSs serve feeds as text/xml); anything last,
# because a feed served as text/html or application/octet-stream still parses.
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.1"
)
# Only what _Inflater can decode under the size cap; httpx would otherwise also offer br/zstd
# whenever those optional packages happen to be installed.
ACCEPT_ENCODING = "gzip, deflate"
MAX_REDIRECTS = 5
# The pool must never be the bottleneck (Fetcher's semaphores are), or requests would queue
# for a connection inside httpx and fail with a pool timeout. Matches the config's ceiling.
POOL_CONNECTIONS = 1000
POOL_KEEPALIVE = 100
# Server hints beyond a week are typos or hostile; clamping also keeps timedelta arithmetic in
# the poller from overflowing on "Retry-After: 99999999999999".
MAX_HINT_SECONDS = 7 * 24 * 3600.0
_DETAIL_LIMIT = 200


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


def default_user_agent() -> str:
    """Names newsbot and where to learn about it, so publishers can identify and reach us."""
    return f"newsbot/{bot.__version__} (+https://github.com/newsbot)"


def build_http_client(*, timeout: float, user_agent: str) -> httpx.AsyncClient:
    """The one HTTP client the process shares, so connections are pooled across feeds.

    Redirects are followed (at most MAX_REDIRECTS) for other users of the client; the Fetcher
    follows them itself so that it never reads a redirect's body.
    """
    return httpx.AsyncClient(
        headers={
            "User-Agent": user_agent,
            "Accept": FEED_ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=httpx.Timeout(timeout),
        verify=_tls_context(),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        limits=httpx.Limits(
            max_connections=POOL_CONNECTIONS, max_keepalive_connections=POOL_KEEPALIVE
        ),
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~0.1 s per client otherwise.

    Built as httpx would build it, honouring SSL_CERT_FILE / SSL_CERT_DIR.
    """
    return httpx.create_ssl_context(trust_env=True)


class Fetcher:
    """Fetches feeds through a shared client, within size, time and concurrency bounds."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int,
        max_concurrency: int,
        max_per_host: int,
        deadline: float | None = None,
    ) -> None:
        """`deadline` bounds a whole fetch; by default it is the client's read timeout."""
        self._client = client
        self._max_bytes = max_bytes
        self._max_per_host = max_per_host
        self._slots = asyncio.Semaphore(max_concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._deadline = deadline if deadline is not None else client.timeout.read

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        read_at_most: int | None = None,
    ) -> FetchResult:
        """GET `url`, conditionally when validators from the last fetch are given.

        With `read_at_most`, only the body's first that many (decoded) bytes are read and the
        rest is left unread, not an error: an article page's <head>, not its whole length.
        """
        try:
            host = httpx.URL(url).host
        except httpx.InvalidURL as exc:
            detail = _short(f"invalid URL: {exc}")
            return FetchResult(url=url, final_url=url, error=FetchError.INVALID_URL, detail=detail)
        # The host slot is taken first: a task queued behind a busy host must not sit on a
        # global slot that a task for another host could be using.
        async with self._host_slot(host), self._slots:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self._deadline):
                    result = await self._exchange(url, etag, last_modified, read_at_most)
            except (TimeoutError, httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
                error, detail = self._classify(exc)
                result = FetchResult(url=url, final_url=url, error=error, detail=detail)
            return replace(result, elapsed=time.perf_counter() - started)

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        """The per-host semaphore, created on first use: the set of hosts is not known ahead."""
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self._max_per_host)
        return slot

    async def _exchange(
        self, url: str, etag: str | None, last_modified: str | None, read_at_most: int | None
    ) -> FetchResult:
        """Send the request and follow redirects by hand, never reading a redirect's body.

        httpx's own redirect handling reads each intermediate body whole, with no cap.
        """
        request = self._client.build_request(
            "GET", url, headers=conditional_headers(etag, last_modified)
        )
        for _hop in range(self._client.max_redirects + 1):
            response = await self._client.send(request, stream=True, follow_redirects=False)
            try:
                if response.next_request is None:
                    return await self._interpret(url, response, etag, last_modified, read_at_most)
                request = response.next_request
            finally:
                await response.aclose()
        return FetchResult(
            url=url,
            final_url=str(request.url),
            error=FetchError.TOO_MANY_REDIRECTS,
            detail=f"more than {self._client.max_redirects} redirects",
        )

    async def _interpret(
        self,
        url: str,
        response: httpx.Response,
        etag: str | None,
        last_modified: str | None,
        read_at_most: int | None = None,
    ) -> FetchResult:
        """Turn the final response into a FetchResult, reading the body only on 2xx."""
        headers = {key.lower(): value for key, value in response.headers.items()}
        result = FetchResult(
            url=url, final_url=str(response.url), status=response.status_code, headers=headers
        )
        now = datetime.now(UTC)
        status = response.status_code
        if status == HTTPStatus.NOT_MODIFIED:
            # A 304 has no body, but reading its end lets the connection go back to the pool.
            await response.aread()
            # RFC 9110 §15.4.5: a 304 may omit validators; the ones we sent still hold.
            return replace(
                result,
                not_modified=True,
                etag=headers.get("etag") or etag,
                last_modified=headers.get("last-modified") or last_modified,
                max_age=freshness_lifetime(headers, now),
            )
        if not 200 <= status < 300:
            return replace(
                result,
                error=error_for_status(status),
                detail=describe_status(status),
                retry_after=_retry_after_for(status, headers, now),
            )
        content = await self._read_body(response, result, read_at_most)
        if isinstance(content, FetchResult):
            return content
        if not content or content.isspace():
            return replace(result, error=FetchError.EMPTY, detail=f"HTTP {status} with no body")
        return replace(
            result,
            content=content,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            max_age=freshness_lifetime(headers, now),
        )

    async def _read_body(
        self, response: httpx.Response, result: FetchResult, read_at_most: int | None = None
    ) -> bytes | FetchResult:
        """The decoded body, or an error result once it would exceed max_bytes (with
        `read_at_most`: its first `read_at_most` bytes, however long it is)."""
        declared = _content_length(response.headers.get("content-length"))
        if read_at_most is None and declared is not None and declared > self._max_bytes:
            return self._too_large(result, f"Content-Length {declared} exceeds")
        cap = self._max_bytes if read_at_most is None else min(read_at_most, self._max_bytes)
        body = _CappedBody(
            response.headers.get("content-encoding", ""), cap, truncate=read_at_most is not None
        )
        if body.unsupported:
            detail = f"unsupported Content-Encoding {body.unsupported!r}"
            return replace(result, error=FetchError.CONNECTION, detail=detail)
        try:
            async for raw in response.aiter_raw():
                body.feed(raw)
            return body.finish()
        except _CapExceeded:
            if body.truncate:
                return body.finish(flush=False)
            return self._too_large(result, "body exceeds")
        except zlib.error as exc:
            detail = _short(f"body is not valid {body.encoding}: {exc}")
            return replace(result, error=FetchError.CONNECTION, detail=detail)

    def _too_large(self, result: FetchResult, what: str) -> FetchResult:
        detail = f"{what} the limit of {self._max_bytes} bytes"
        return replace(result, error=FetchError.TOO_LARGE, detail=detail)

    def _classify(self, exc: BaseException) -> tuple[FetchError, str]:
        """A stable key and a short sentence for an exception raised while fetching."""
        if isinstance(exc, httpx.TimeoutException):
            return FetchError.TIMEOUT, self._describe_timeout(exc)
        if isinstance(exc, TimeoutError):
            return FetchError.TIMEOUT, f"timed out after {self._deadline:.1f} s"
        if isinstance(exc, httpx.TooManyRedirects):
            return (
                FetchError.TOO_MANY_REDIRECTS,
                f"more than {self._client.max_redirects} redirects",
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return FetchError.INVALID_URL, _short(f"invalid URL: {exc}")
        return FetchError.CONNECTION, _short(_describe_connection_failure(exc))

    def _describe_timeout(self, exc: httpx.TimeoutException) -> str:
        timeouts = self._client.timeout
        phases: list[tuple[type[httpx.TimeoutException], str, float | None]] = [
            (httpx.ConnectTimeout, "connecting", timeouts.connect),
            (httpx.ReadTimeout, "waiting for data", timeouts.read),
            (httpx.WriteTimeout, "sending the request", timeouts.write),
            (httpx.PoolTimeout, "waiting for a free connection", timeouts.pool),
        ]
        for kind, phase, seconds in phases:
            if isinstance(exc, kind) and seconds is not None:
                return f"timed out after {seconds:.1f} s {phase}"
        return "timed out"


class _CapExceeded(Exception):
    """The decoded body grew past the cap."""


class _Inflater:
    """Incremental gzip/deflate decoding whose output per call is bounded.

    `deflate` is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw
    deflate; like browsers, fall back to raw when the first bytes are not a zlib header.
    """

    def __init__(self, encoding: str) -> None:
        gzip = encoding in ("gzip", "x-gzip")
        self._raw_fallback = not gzip
        self._started = False
        self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)

    def inflate(self, data: bytes, limit: int) -> bytes:
        """At most `limit` (>= 1) decoded bytes; input beyond that is left unconsumed."""
        try:
            out = self._decoder.decompress(data, limit)
        except zlib.error:
            if self._started or not self._raw_fallback:
                raise
            self._raw_fallback = False
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._decoder.decompress(data, limit)
        self._started = self._started or bool(out)
        return out

    def flush(self) -> bytes:
        return self._decoder.flush()


class _CappedBody:
    """Accumulates a body, decoding it as it arrives, and refuses to grow past `cap` bytes.

    Decompression is asked for at most one byte more than the room left, so a 200 MB gzip
    bomb costs `cap` bytes of memory, not 200 MB (httpx's own decoder inflates whole chunks).
    """

    def __init__(self, content_encoding: str, cap: int, *, truncate: bool = False) -> None:
        codings = [
            coding.strip().lower()
            for coding in content_encoding.split(",")
            if coding.strip().lower() not in ("", "identity")
        ]
        self.encoding = codings[0] if len(codings) == 1 else ""
        self.unsupported = ", ".join(codings) if len(codings) > 1 else ""
        if self.encoding and self.encoding not in ("gzip", "x-gzip", "deflate"):
            self.unsupported = self.encoding
        self._inflater = _Inflater(self.encoding) if self.encoding else None
        self._cap = cap
        self.truncate = truncate  # keep what fits, then stop, instead of refusing the body
        self._buffer = bytearray()

    def feed(self, raw: bytes) -> None:
        if self._inflater is None:
            self._append(raw)
        else:
            self._append(self._inflater.inflate(raw, self._room() + 1))

    def finish(self, *, flush: bool = True) -> bytes:
        if flush and self._inflater is not None:
            self._append(self._inflater.flush())
        return bytes(self._buffer)

    def _room(self) -> int:
        return self._cap - len(self._buffer)

    def _append(self, chunk: bytes) -> None:
        if len(chunk) > self._room():
            if self.truncate:
                self._buffer += chunk[: self._room()]
            raise _CapExceeded
        self._buffer += chunk


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


def error_for_status(status: int) -> FetchError:
    """429 is its own key (back off, RFC 6585 §4); 5xx is the server's fault; the rest ours."""
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return FetchError.RATE_LIMITED
    if status >= 500:
        return FetchError.HTTP_SERVER
    return FetchError.HTTP_CLIENT


def describe_status(status: int) -> str:
    """ "HTTP 503 Service Unavailable": the standard phrase, not the server's free text."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


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


def _retry_after_for(status: int, headers: Mapping[str, str], now: datetime) -> float | None:
    """Retry-After is honoured on 429 and 503, the statuses RFC 9110 and RFC 6585 pair it with."""
    if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
        return parse_retry_after(headers.get("retry-after"), now)
    return None


_CONNECTION_PHRASES: tuple[tuple[type[BaseException], str], ...] = (
    (httpx.ConnectError, "could not connect"),
    (httpx.ReadError, "connection lost while reading the response"),
    (httpx.WriteError, "connection lost while sending the request"),
    (httpx.RemoteProtocolError, "server broke the HTTP protocol"),
    (httpx.ProxyError, "proxy failed"),
)


def _describe_connection_failure(exc: BaseException) -> str:
    """A phrase per failure class; httpx's own messages are often empty (a bare reset)."""
    phrase = next(
        (text for kind, text in _CONNECTION_PHRASES if isinstance(exc, kind)), "connection failed"
    )
    reason = str(exc).strip()
    return f"{phrase}: {reason}" if reason else phrase


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _content_length(value: str | None) -> int | None:
    """The declared length; httpx joins repeated headers with ", ", so take the first."""
    return _non_negative_int((value or "").split(",")[0].strip())


def _non_negative_int(text: str) -> int | None:
    """ASCII digits only: str.isdigit() alone would accept "²" and crash int()."""
    return int(text) if text.isascii() and text.isdigit() else None


def _clamp(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_HINT_SECONDS)


def _short(text: object) -> str:
    message = str(text)
    return message if len(message) <= _DETAIL_LIMIT else message[: _DETAIL_LIMIT - 1] + "…"
