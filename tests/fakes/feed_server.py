"""A real HTTP server on loopback that serves feeds and misbehaves on request.

Tests and benchmarks talk to it through real sockets, so the fetcher's HTTP behaviour
(conditional GET, redirects, compression, resets, timeouts) is exercised as in production,
not against a mocked transport.

    server = FeedServer()
    url = server.add("/rss.xml", body, etag='"v1"')
    server.fail("/down.xml", "status", code=503, retry_after="120")
    ...
    server.hits("/rss.xml")[-1].headers["if-none-match"]
    server.close()

Within pytest, use the `feed_server` fixture (registered by tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"

MINIMAL_RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Slow</title>'
    b"<link>https://example.org/</link><item><title>Late</title>"
    b"<link>https://example.org/late</link><guid>late</guid></item></channel></rss>"
)
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Newsroom</title></head>"
    b"<body><h1>Latest news</h1><p>This is a web page, not a feed.</p></body></html>"
)
FAILURE_KINDS = frozenset(
    {
        "status",
        "delay",
        "reset",
        "redirect_loop",
        "redirect",
        "gzip_bomb",
        "endless",
        "html",
        "empty",
    }
)
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


def fixture_bytes(name: str) -> bytes:
    """The bytes of tests/fixtures/feeds/<name>, exactly as a server would send them."""
    return (FIXTURES / name).read_bytes()


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the server saw it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    time: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class _Route:
    kind: str
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    """Quiet, fast to stop, and able to take a benchmark's burst of connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default 5 drops SYNs under 64 concurrent fetches

    def __init__(self, owner: FeedServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-body (size caps, timeouts) are expected, not errors."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the fetcher's pool reuses connections
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    timeout = 30  # idle keep-alive connections do not pin a thread forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a benchmark makes thousands of requests."""

    def setup(self) -> None:
        super().setup()
        self.server.owner._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):  # the "reset" route closed the socket itself
            pass
        finally:
            self.server.owner._closed(self.connection)

    def do_GET(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        headers = {name.lower(): value for name, value in self.headers.items()}
        owner._arrived(path, Request(self.command, self.path, headers))
        try:
            self._respond(path, owner._route(path), headers)
        finally:
            owner._left()

    def _respond(self, path: str, route: _Route | None, headers: dict[str, str]) -> None:
        if route is None:
            self._send(path, HTTPStatus.NOT_FOUND, b"not found", {"Content-Type": "text/plain"})
            return
        respond = getattr(self, f"_serve_{route.kind}")
        respond(path, route, headers)

    # --- plain feeds ------------------------------------------------------------------

    def _serve_feed(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        validators = {"ETag": route.etag, "Last-Modified": route.last_modified}
        present = {name: value for name, value in validators.items() if value}
        if _not_modified(route, headers):
            self._send(path, HTTPStatus.NOT_MODIFIED, b"", {**present, **route.headers})
            return
        extra = {"Content-Type": route.content_type, **present, **route.headers}
        self._send(path, HTTPStatus.OK, route.body, extra)

    # --- failures ---------------------------------------------------------------------

    def _serve_status(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        code = int(route.params.get("code", 503))
        extra = {"Content-Type": "text/plain", **route.headers}
        retry_after = route.params.get("retry_after")
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        self._send(path, code, HTTPStatus(code).phrase.encode(), extra)

    def _serve_delay(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        if self.server.owner._stopping.wait(float(route.params.get("seconds", 1.0))):
            return
        self._serve_feed(path, route, headers)

    def _serve_reset(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        """RST the connection, optionally after the headers and `after_bytes` of the body."""
        after_bytes = route.params.get("after_bytes")
        if after_bytes is not None:
            self.server.owner._answered(path, HTTPStatus.OK)
            self.send_response_only(HTTPStatus.OK)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body[: int(after_bytes)])
        # Linger 0 makes close() send RST instead of FIN: an abrupt reset, as from a crash.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _serve_redirect(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        code = int(route.params.get("code", 301))
        self._send(path, code, b"", {"Location": str(route.params["to"]), **route.headers})

    def _serve_redirect_loop(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        hop = len(self.server.owner.hits(path))
        self._send(path, HTTPStatus.FOUND, b"", {"Location": f"{path}?hop={hop}"})

    def _serve_gzip_bomb(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        bomb = gzip_bomb(int(route.params.get("megabytes", 200)))
        extra = {"Content-Type": route.content_type, "Content-Encoding": "gzip"}
        self._send(path, HTTPStatus.OK, bomb, {**extra, **route.headers})

    def _serve_endless(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        """Chunked transfer that never ends, until the client hangs up or the server stops."""
        self.server.owner._answered(path, HTTPStatus.OK)
        self.send_response_only(HTTPStatus.OK)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = route.params.get("chunk", b"<item><title>more</title></item>" * 2048)
        interval = float(route.params.get("interval", 0.0))
        frame = _chunk_frame(chunk)
        self.close_connection = True
        try:
            self.wfile.write(_chunk_frame(b'<?xml version="1.0"?><rss version="2.0"><channel>'))
            while not self.server.owner._stopping.is_set():
                self.wfile.write(frame)
                if interval:
                    time.sleep(interval)
        except _DISCONNECTS:
            pass

    def _serve_html(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        extra = {"Content-Type": "text/html; charset=utf-8", **route.headers}
        self._send(path, HTTPStatus.OK, route.body or HTML_PAGE, extra)

    def _serve_empty(self, path: str, route: _Route, headers: dict[str, str]) -> None:
        self._send(path, HTTPStatus.OK, b"", {"Content-Type": route.content_type})

    # --- plumbing ---------------------------------------------------------------------

    def _send(self, path: str, code: int, body: bytes, headers: dict[str, str]) -> None:
        """One response with Content-Length, so the connection can be kept alive."""
        self.server.owner._answered(path, int(code))
        self.send_response_only(code)
        for name, value in headers.items():
            self.send_header(name, value)
        if code != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if body and code != HTTPStatus.NOT_MODIFIED:
                self.wfile.write(body)
        except _DISCONNECTS:
            self.close_connection = True


def _chunk_frame(data: bytes) -> bytes:
    """One chunk of HTTP/1.1 chunked transfer coding (RFC 9112 §7.1)."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _not_modified(route: _Route, headers: dict[str, str]) -> bool:
    """RFC 9110 §13.1.2-3: If-None-Match (weak comparison) wins; else If-Modified-Since."""
    if "if-none-match" in headers:
        if route.etag is None:
            return False
        wanted = {tag.strip().removeprefix("W/") for tag in headers["if-none-match"].split(",")}
        return "*" in wanted or route.etag.removeprefix("W/") in wanted
    since, modified = headers.get("if-modified-since"), route.last_modified
    if not since or not modified:
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


_bombs: dict[int, bytes] = {}
_bombs_lock = threading.Lock()


def gzip_bomb(megabytes: int) -> bytes:
    """A valid gzip body of ~1 KB per MB that inflates to `megabytes` MB of zeros.

    Built from one compressed megabyte repeated: after a full flush the compressor's state
    is reset, so every further megabyte compresses to the same bytes. Cached per size.
    """
    with _bombs_lock:
        if megabytes not in _bombs:
            _bombs[megabytes] = _build_gzip_bomb(megabytes)
        return _bombs[megabytes]


def _build_gzip_bomb(megabytes: int) -> bytes:
    megabyte = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(megabyte, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (megabytes << 20) & 0xFFFFFFFF)
    return header + block * megabytes + compressor.flush() + trailer


class FeedServer:
    """Serves registered paths on 127.0.0.1 from a daemon thread; records every request."""

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self._hits: dict[str, list[Request]] = defaultdict(list)
        self._statuses: dict[str, list[int]] = defaultdict(list)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._in_flight = 0
        self.peak_concurrency = 0
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # bounds how long close() waits
            name=f"FeedServer:{port}",
            daemon=True,
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + _absolute(path)

    def add(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve `body` at `path` (replacing what was there), answering 304 when unchanged."""
        route = _Route("feed", body, content_type, etag, last_modified, dict(headers or {}))
        return self._register(path, route)

    def fail(self, path: str, kind: str, **params: Any) -> str:
        """Make `path` misbehave; see FAILURE_KINDS and the `_serve_<kind>` handlers.

        status (code=503, retry_after=None) · delay (seconds=1.0, body=...) · reset
        (after_bytes=None: before any response) · redirect_loop · redirect (to=path or URL,
        code=301) · gzip_bomb (megabytes=200) · endless (interval=0.0) · html (body=...) ·
        empty. `headers`, `body`, `content_type`, `etag`, `last_modified` apply where sensible.
        """
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; choose from {sorted(FAILURE_KINDS)}")
        if kind == "redirect" and str(params["to"]).startswith("/"):
            params["to"] = self.url(str(params["to"]))
        route = _Route(
            kind,
            body=params.pop("body", MINIMAL_RSS if kind in ("delay", "reset") else b""),
            content_type=params.pop("content_type", "application/rss+xml; charset=utf-8"),
            etag=params.pop("etag", None),
            last_modified=params.pop("last_modified", None),
            headers=dict(params.pop("headers", None) or {}),
            params=params,
        )
        return self._register(path, route)

    def hits(self, path: str) -> list[Request]:
        """Requests for `path` (any query string), oldest first."""
        with self._lock:
            return list(self._hits[_absolute(path)])

    def status_log(self, path: str) -> list[int]:
        """Status codes answered for `path`, in order, e.g. [200, 304]."""
        with self._lock:
            return list(self._statuses[_absolute(path)])

    def close(self) -> None:
        """Stop serving, end streaming handlers, and drop kept-alive connections."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- called from handler threads -------------------------------------------------

    def _register(self, path: str, route: _Route) -> str:
        with self._lock:
            self._routes[_absolute(path)] = route
        return self.url(path)

    def _route(self, path: str) -> _Route | None:
        with self._lock:
            return self._routes.get(path)

    def _arrived(self, path: str, request: Request) -> None:
        with self._lock:
            self._hits[path].append(request)
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)

    def _left(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _answered(self, path: str, status: int) -> None:
        with self._lock:
            self._statuses[path].append(status)

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/" + path


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh loopback feed server per test."""
    server = FeedServer()
    try:
        yield server
    finally:
        server.close()
