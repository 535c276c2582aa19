"""The HTTP server itself: answers on a kept-alive connection come at once."""

from __future__ import annotations

import statistics
import time

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.entrypoints.http.server import HttpServer, build_app


async def _hello(request: Request) -> Response:
    return PlainTextResponse("hi")


async def test_kept_alive_connections_answer_without_nagles_delay() -> None:
    """With Nagle's algorithm on the server's connections, every answer after the first on
    a kept-alive connection waited ~40 ms for the client's delayed ACK (the console's API
    calls, the CMS API, Telegram's webhook POSTs)."""
    server = HttpServer(build_app([Route("/", _hello)]), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            await client.get("/")
            times = []
            for _ in range(7):
                started = time.perf_counter()
                assert (await client.get("/")).text == "hi"
                times.append(time.perf_counter() - started)
    finally:
        await server.stop()
    assert statistics.median(times) < 0.02, times
