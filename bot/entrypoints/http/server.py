"""The one ASGI app (Starlette) and its uvicorn server, run as a task in the bot's own loop.

uvicorn's lifespan is off (the bot owns start-up and shutdown order) and its log config is
not applied (our handlers, JSON format and secret redaction apply to its records too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.entrypoints.http.health import Readiness, is_ready
from bot.entrypoints.http.metrics import Metrics
from storage import stats as stats_queries
from storage.db import Database

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def ops_routes(readiness: Readiness, metrics: Metrics, database: Database) -> list[Route]:
    """/healthz, /readyz, /metrics."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = await readiness.check()
        ready = is_ready(checks)
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def scrape(request: Request) -> Response:
        try:
            async with database.sessions() as session:
                now = datetime.now(UTC)
                metrics.outbox_read(await stats_queries.outbox(session, now), now)
        except Exception as exc:  # the rest of the metrics are still worth serving
            log.warning("metrics: could not read the outbox: %s", type(exc).__name__)
        return PlainTextResponse(metrics.render(), media_type=metrics.content_type)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", scrape, methods=["GET"]),
    ]


def build_app(routes: Sequence[BaseRoute]) -> Starlette:
    return Starlette(routes=list(routes))


def _bind(host: str, port: int) -> socket.socket:
    """Bind ourselves so a busy port is an OSError here, not uvicorn's sys.exit in a task.

    The protocol is named (IPPROTO_TCP, not 0): asyncio turns Nagle's algorithm off
    (TCP_NODELAY) only on connections whose socket says TCP, and with it on, every answer
    after the first on a kept-alive connection waited about 40 ms for the client's delayed
    ACK (benchmarks/console.py)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the bot owns SIGTERM/SIGINT and stops the
    server itself, in its own order (updates first, deliveries last)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class HttpServer:
    """uvicorn serving `app` on host:port (0: any free port; see `port` once started)."""

    app: Starlette
    host: str
    port: int

    def __post_init__(self) -> None:
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        self._socket = _bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(STOP_TIMEOUT),
            server_header=False,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not self._server.started:
            if self._task.done() or loop.time() > deadline:
                await self.stop()
                raise RuntimeError(f"HTTP server did not start on {self.host}:{self.port}")
            await asyncio.sleep(0.01)
        log.info("HTTP server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop accepting, let requests in progress finish (up to STOP_TIMEOUT)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, STOP_TIMEOUT + 1)
            except (TimeoutError, Exception) as exc:
                log.warning("HTTP server stopped uncleanly: %s", type(exc).__name__)
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None
