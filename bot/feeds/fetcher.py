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

Reading the headers by those RFCs is bot/feeds/headers.py; decoding a body under the cap is
bot/feeds/body.py; here is the client, the limits on it and the request's outcome.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus

import httpx

import bot
from bot.feeds.body import CapExceeded, CappedBody
from bot.feeds.headers import (
    conditional_headers,
    content_length,
    freshness_lifetime,
    retry_after_for,
)

# Feed types first; generic XML/JSON next (many CMSs serve feeds as text/xml); anything last,
# because a feed served as text/html or application/octet-stream still parses.
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.1"
)
# Only what bot/feeds/body.py can decode under the size cap; httpx would otherwise also offer
# br/zstd whenever those optional packages happen to be installed.
ACCEPT_ENCODING = "gzip, deflate"
MAX_REDIRECTS = 5
# The pool must never be the bottleneck (Fetcher's semaphores are), or requests would queue
# for a connection inside httpx and fail with a pool timeout. Matches the config's ceiling.
POOL_CONNECTIONS = 1000
POOL_KEEPALIVE = 100
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
                retry_after=retry_after_for(status, headers, now),
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
        declared = content_length(response.headers.get("content-length"))
        if read_at_most is None and declared is not None and declared > self._max_bytes:
            return self._too_large(result, f"Content-Length {declared} exceeds")
        cap = self._max_bytes if read_at_most is None else min(read_at_most, self._max_bytes)
        body = CappedBody(
            response.headers.get("content-encoding", ""), cap, truncate=read_at_most is not None
        )
        if body.unsupported:
            detail = f"unsupported Content-Encoding {body.unsupported!r}"
            return replace(result, error=FetchError.CONNECTION, detail=detail)
        try:
            async for raw in response.aiter_raw():
                body.feed(raw)
            return body.finish()
        except CapExceeded:
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


def _short(text: object) -> str:
    message = str(text)
    return message if len(message) <= _DETAIL_LIMIT else message[: _DETAIL_LIMIT - 1] + "…"
