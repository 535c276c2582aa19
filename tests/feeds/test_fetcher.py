"""The fetcher against a real HTTP server on loopback: no mocked transport anywhere."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.feeds.fetcher import (
    Fetcher,
    FetchError,
    build_http_client,
    default_user_agent,
)
from tests.fakes.feed_server import FeedServer

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>'
    b"<item><title>Senate meets</title><link>https://example.kz/1</link></item>"
    b"</channel></rss>"
)
MAY_1 = "Fri, 01 May 2026 10:00:00 GMT"
CAP = 1024 * 1024


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(timeout=2.0, user_agent=default_user_agent()) as http:
        yield http


@pytest.fixture
def fetcher(client: httpx.AsyncClient) -> Fetcher:
    return Fetcher(client, max_bytes=CAP, max_concurrency=8, max_per_host=4)


# --- success and conditional GET (RFC 9110 §13) ---------------------------------------------


async def test_first_fetch_returns_body_validators_and_headers(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = feed_server.add("/rss.xml", RSS, etag='"v1"', last_modified=MAY_1)

    result = await fetcher.fetch(url)

    assert result.ok
    assert (result.status, result.content) == (200, RSS)
    assert (result.etag, result.last_modified) == ('"v1"', MAY_1)
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert result.final_url == url
    assert result.elapsed > 0


async def test_second_fetch_sends_etag_and_gets_304_without_body(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = feed_server.add("/rss.xml", RSS, etag='"v1"')
    first = await fetcher.fetch(url)

    second = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)

    assert second.ok and second.not_modified
    assert (second.status, second.content, second.etag) == (304, None, '"v1"')
    assert feed_server.hits("/rss.xml")[-1].headers["if-none-match"] == '"v1"'
    assert feed_server.status_log("/rss.xml") == [200, 304]


async def test_last_modified_is_used_when_no_etag(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = feed_server.add("/rss.xml", RSS, last_modified=MAY_1)

    result = await fetcher.fetch(url, last_modified=MAY_1)

    assert result.not_modified
    assert result.last_modified == MAY_1
    sent = feed_server.hits("/rss.xml")[-1].headers
    assert sent["if-modified-since"] == MAY_1
    assert "if-none-match" not in sent


async def test_304_without_validators_keeps_the_ones_sent(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = feed_server.fail("/rss.xml", "status", code=304)

    result = await fetcher.fetch(url, etag='"old"', last_modified=MAY_1)

    assert result.not_modified and result.content is None
    assert (result.etag, result.last_modified) == ('"old"', MAY_1)


async def test_changed_feed_answers_200_with_new_validators(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = feed_server.add("/rss.xml", RSS, etag='"v2"')

    result = await fetcher.fetch(url, etag='"v1"')

    assert not result.not_modified
    assert (result.content, result.etag) == (RSS, '"v2"')


async def test_windows_1251_content_type_reaches_the_parser(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    body = '<rss version="2.0"><channel><title>Новости</title></channel></rss>'.encode("cp1251")
    url = feed_server.add("/ru.xml", body, content_type="text/xml; charset=windows-1251")

    result = await fetcher.fetch(url)

    assert result.content == body
    assert result.headers["content-type"] == "text/xml; charset=windows-1251"


async def test_html_page_is_fetched_ok(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.fail("/news", "html")

    result = await fetcher.fetch(url)

    assert result.ok  # the parser, not the fetcher, decides it is not a feed
    assert result.headers["content-type"].startswith("text/html")
    assert result.content is not None and b"<html>" in result.content


async def test_user_agent_names_newsbot(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("/rss.xml", RSS)

    await fetcher.fetch(url)

    sent = feed_server.hits("/rss.xml")[0].headers
    assert sent["user-agent"].startswith("newsbot/0.1.0 (+https://")
    assert sent["accept"].startswith("application/rss+xml, application/atom+xml")
    assert sent["accept-encoding"] == "gzip, deflate"


# --- compression and size caps ---------------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    """Deflate without the zlib wrapper, as some servers wrongly send for `deflate`."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
async def test_compressed_feed_is_decoded(
    feed_server: FeedServer, fetcher: Fetcher, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    url = feed_server.add("/rss.xml", compress(RSS), headers={"Content-Encoding": encoding})

    result = await fetcher.fetch(url)

    assert result.ok and result.content == RSS


async def test_gzip_bomb_is_cut_off_at_cap(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.fail("/bomb.xml", "gzip_bomb", megabytes=200)

    started = time.perf_counter()
    result = await fetcher.fetch(url)

    assert result.error is FetchError.TOO_LARGE
    assert result.content is None
    assert time.perf_counter() - started < 3


async def test_declared_length_over_cap_is_refused_up_front(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    fetcher = Fetcher(client, max_bytes=100, max_concurrency=1, max_per_host=1)
    url = feed_server.add("/big.xml", RSS * 10)

    result = await fetcher.fetch(url)

    assert result.error is FetchError.TOO_LARGE
    assert result.detail == f"Content-Length {len(RSS) * 10} exceeds the limit of 100 bytes"


async def test_endless_body_is_cut_off(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.fail("/endless.xml", "endless")

    result = await fetcher.fetch(url)

    assert result.error is FetchError.TOO_LARGE
    assert result.status == 200


async def test_empty_body_is_an_error(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.fail("/empty.xml", "empty")

    result = await fetcher.fetch(url)

    assert result.error is FetchError.EMPTY
    assert result.status == 200


# --- time ------------------------------------------------------------------------------------


async def test_timeout_is_an_error_not_an_exception(feed_server: FeedServer) -> None:
    url = feed_server.fail("/slow.xml", "delay", seconds=5)
    async with build_http_client(timeout=0.3, user_agent=default_user_agent()) as http:
        fetcher = Fetcher(http, max_bytes=CAP, max_concurrency=1, max_per_host=1)
        result = await fetcher.fetch(url)

    assert result.error is FetchError.TIMEOUT
    assert result.detail is not None and result.detail.startswith("timed out after 0.3 s")
    assert result.elapsed < 2


async def test_slow_trickle_is_stopped_by_the_overall_deadline(feed_server: FeedServer) -> None:
    # Each chunk arrives well within the read timeout; only a whole-fetch deadline stops this.
    url = feed_server.fail("/trickle.xml", "endless", interval=0.05, chunk=b"<item/>")
    async with build_http_client(timeout=0.5, user_agent=default_user_agent()) as http:
        fetcher = Fetcher(http, max_bytes=CAP, max_concurrency=1, max_per_host=1)
        result = await fetcher.fetch(url)

    assert result.error is FetchError.TIMEOUT
    assert result.detail == "timed out after 0.5 s"


# --- redirects -------------------------------------------------------------------------------


async def test_final_url_after_redirect(feed_server: FeedServer, fetcher: Fetcher) -> None:
    target = feed_server.add("/new/rss.xml", RSS)
    url = feed_server.fail("/old/rss.xml", "redirect", to="/new/rss.xml")

    result = await fetcher.fetch(url)

    assert result.ok and result.content == RSS
    assert (result.url, result.final_url) == (url, target)
    assert feed_server.status_log("/old/rss.xml") == [301]


async def test_redirect_loop(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.fail("/loop.xml", "redirect_loop")

    result = await fetcher.fetch(url)

    assert result.error is FetchError.TOO_MANY_REDIRECTS
    assert result.detail == "more than 5 redirects"
    assert len(feed_server.hits("/loop.xml")) == 6  # the request and five redirects


# --- connection failures ---------------------------------------------------------------------


async def test_reset_connection(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.fail("/reset.xml", "reset")

    result = await fetcher.fetch(url)

    assert result.error is FetchError.CONNECTION
    assert result.detail


async def test_reset_mid_body(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.fail("/reset.xml", "reset", after_bytes=40)

    result = await fetcher.fetch(url)

    assert result.error is FetchError.CONNECTION
    assert result.content is None


async def test_refused_connection_is_a_connection_error(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed at once: nothing listens there

    result = await fetcher.fetch(f"http://127.0.0.1:{port}/rss.xml")

    assert result.error is FetchError.CONNECTION
    assert result.detail is not None and result.detail.startswith("could not connect")


@pytest.mark.parametrize("url", ["ftp://example.kz/rss.xml", "not a url", "http://[::1/rss"])
async def test_invalid_url_is_an_error(fetcher: Fetcher, url: str) -> None:
    result = await fetcher.fetch(url)

    assert result.error is FetchError.INVALID_URL
    assert result.detail is not None and result.detail.startswith("invalid URL")


# --- HTTP errors and server hints (RFC 9110 §10.2.3, RFC 9111 §4.2.1) ---------------------------


async def test_503_with_retry_after_seconds(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.fail("/down.xml", "status", code=503, retry_after="120")

    result = await fetcher.fetch(url)

    assert result.error is FetchError.HTTP_SERVER
    assert (result.status, result.detail) == (503, "HTTP 503 Service Unavailable")
    assert result.retry_after == 120


async def test_429_retry_after_http_date(feed_server: FeedServer, fetcher: Fetcher) -> None:
    later = datetime.now(UTC) + timedelta(seconds=300)
    url = feed_server.fail(
        "/busy.xml", "status", code=429, retry_after=format_datetime(later, True)
    )

    result = await fetcher.fetch(url)

    assert result.error is FetchError.RATE_LIMITED
    assert result.retry_after is not None and 290 <= result.retry_after <= 300


async def test_404_is_a_client_error_without_retry_after(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/gone.xml"))

    assert result.error is FetchError.HTTP_CLIENT
    assert (result.detail, result.retry_after) == ("HTTP 404 Not Found", None)


async def test_cache_control_max_age_less_age_is_reported(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    headers = {"Cache-Control": "public, max-age=600", "Age": "100"}
    url = feed_server.add("/rss.xml", RSS, headers=headers)

    result = await fetcher.fetch(url)

    assert result.max_age == 500


# --- concurrency -----------------------------------------------------------------------------


async def _fetch_slow_feeds(
    server: FeedServer, fetcher: Fetcher, count: int, base_url: str | None = None
) -> None:
    paths = [f"/slow/{n}.xml" for n in range(count)]
    for path in paths:
        server.fail(path, "delay", seconds=0.2)
    base = base_url or server.base_url
    results = await asyncio.gather(*(fetcher.fetch(base + path) for path in paths))
    assert all(result.ok for result in results)


async def test_per_host_concurrency_is_bounded(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    fetcher = Fetcher(client, max_bytes=CAP, max_concurrency=10, max_per_host=2)

    await _fetch_slow_feeds(feed_server, fetcher, 6)

    assert feed_server.peak_concurrency == 2


async def test_global_concurrency_is_bounded(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    fetcher = Fetcher(client, max_bytes=CAP, max_concurrency=3, max_per_host=10)

    await _fetch_slow_feeds(feed_server, fetcher, 6)

    assert feed_server.peak_concurrency == 3


async def test_busy_host_does_not_starve_other_hosts(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    # "127.0.0.1" and "localhost" are two hosts to the fetcher, one server to the test.
    # Were the global slot taken before the host slot, the second busy task would sit on the
    # last global slot while it waits for its host, and the fast feed would wait 0.6 s.
    fetcher = Fetcher(client, max_bytes=CAP, max_concurrency=2, max_per_host=1)
    slow = [feed_server.fail(f"/slow/{n}.xml", "delay", seconds=0.6) for n in range(2)]
    fast = feed_server.add("/fast.xml", RSS).replace("127.0.0.1", "localhost")
    started = time.perf_counter()

    busy = [asyncio.create_task(fetcher.fetch(url)) for url in slow]
    await asyncio.sleep(0)  # let the busy host's tasks queue first
    result = await fetcher.fetch(fast)
    fast_done = time.perf_counter() - started
    await asyncio.gather(*busy)

    assert result.ok
    assert fast_done < 0.5
