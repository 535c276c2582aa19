"""Prometheus metrics, fed by observing the bot from the outside (app wiring), not by
threading counters through the poller and sender.

The registry is created per `Metrics` object (never prometheus-client's global one), so two
bots in one test process, or one bot restarted in place, never share or clash on counters.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Bot API methods that put a message in a chat: their latency is the send latency.
SEND_METHODS = frozenset(
    {"sendmessage", "sendphoto", "copymessage", "forwardmessage", "sendmediagroup"}
)
OK_STATUSES = ("ok", "not_modified", "skipped")


class PollResult(Protocol):
    status: str
    new: int


class TickResult(Protocol):
    sent: int
    failed: int


class Metrics:
    """Every metric newsbot exports, in its own registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.feeds_polled = Counter(
            "newsbot_feeds_polled", "Feed polls, by outcome status.", ["status"], registry=r
        )
        self.fetch_errors = Counter(
            "newsbot_fetch_errors", "Failed feed polls, by error kind.", ["kind"], registry=r
        )
        self.stories_stored = Counter(
            "newsbot_stories_stored", "New stories stored (feeds and the CMS API).", registry=r
        )
        self.deliveries = Counter(
            "newsbot_deliveries", "Deliveries finished, by result.", ["result"], registry=r
        )
        self.deliveries_queued = Gauge(
            "newsbot_deliveries_queued",
            "Deliveries waiting in the outbox (read from the database at scrape time).",
            registry=r,
        )
        self.telegram_429 = Counter(
            "newsbot_telegram_429", "Bot API answers 429 Too Many Requests.", registry=r
        )
        self.send_seconds = Histogram(
            "newsbot_send_seconds",
            "Bot API latency of a message send (request to answer).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.publish_to_delivery = Histogram(
            "newsbot_publish_to_delivery_seconds",
            "From a story's publication time to its message being sent.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600),
            registry=r,
        )
        for result in ("sent", "failed"):
            self.deliveries.labels(result=result)

    def poll_finished(self, outcome: PollResult | None) -> None:
        if outcome is None:
            return
        self.feeds_polled.labels(status=outcome.status).inc()
        if outcome.status not in OK_STATUSES:
            self.fetch_errors.labels(kind=outcome.status).inc()
        if outcome.new:
            self.stories_stored.inc(outcome.new)

    def stories_added(self, count: int) -> None:
        if count:
            self.stories_stored.inc(count)

    def tick_finished(self, stats: TickResult, latencies: Iterable[float] = ()) -> None:
        if stats.sent:
            self.deliveries.labels(result="sent").inc(stats.sent)
        if stats.failed:
            self.deliveries.labels(result="failed").inc(stats.failed)
        for seconds in latencies:
            self.publish_to_delivery.observe(max(seconds, 0.0))

    def bot_api_answered(self, method: str, status: int, seconds: float) -> None:
        if status == 429:
            self.telegram_429.inc()
        elif method.lower() in SEND_METHODS and status < 400:
            self.send_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


# PTB's BaseRequest.do_request(url, method, ...) -> (status code, body)
DoRequest = Callable[..., Awaitable[tuple[int, bytes]]]


def observe_bot_requests(
    request: Any,
    metrics: Metrics,
    on_answer: Callable[[bool], None],
) -> None:
    """Time every Bot API call made through `request` (a PTB BaseRequest) and record the
    outcome, by wrapping its `do_request` on the instance: PTB offers no request hook, and
    this sees 429s and latencies for sends, replies and edits alike.

    `on_answer(True)` when Telegram answered (any status but 401 and 5xx), False otherwise:
    readiness follows the last exchange without probing.
    """
    original: DoRequest = request.do_request

    async def timed(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        method = url.rsplit("/", 1)[-1]
        started = time.perf_counter()
        try:
            status, body = await original(url, *args, **kwargs)
        except Exception:
            on_answer(False)
            raise
        metrics.bot_api_answered(method, status, time.perf_counter() - started)
        on_answer(status != 401 and status < 500)
        return status, body

    request.do_request = timed
