"""Prometheus metrics, fed by the observers the poller, the dispatcher and the Bot API
request take (bot/app.py wires them), not by counters threaded through their code.

The registry is created per `Metrics` object (never prometheus-client's global one), so two
bots in one test process, or one bot restarted in place, never share or clash on counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.http.health import BotApiState
from storage.states import HEALTHY_POLLS, DeliveryStatus

# Bot API methods that put a message in a chat: their latency is the send latency.
SEND_METHODS = frozenset(
    {"sendmessage", "sendphoto", "copymessage", "forwardmessage", "sendmediagroup"}
)


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
        for result in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
            self.deliveries.labels(result=result)

    def poll_finished(self, outcome: PollResult | None) -> None:
        if outcome is None:
            return
        self.feeds_polled.labels(status=outcome.status).inc()
        if outcome.status not in HEALTHY_POLLS:
            self.fetch_errors.labels(kind=outcome.status).inc()
        if outcome.new:
            self.stories_stored.inc(outcome.new)

    def stories_added(self, count: int) -> None:
        if count:
            self.stories_stored.inc(count)

    def tick_finished(self, stats: TickResult, latencies: Iterable[float] = ()) -> None:
        if stats.sent:
            self.deliveries.labels(result=DeliveryStatus.SENT).inc(stats.sent)
        if stats.failed:
            self.deliveries.labels(result=DeliveryStatus.FAILED).inc(stats.failed)
        for seconds in latencies:
            self.publish_to_delivery.observe(max(seconds, 0.0))

    def bot_api_answered(self, method: str, status: int, seconds: float) -> None:
        if status == 429:
            self.telegram_429.inc()
        elif method.lower() in SEND_METHODS and status < 400:
            self.send_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class BotApiWatch:
    """The Bot API request's observer (bot/telegram/request.py): 429s and send latencies
    for the metrics, and the last exchange's outcome for readiness.

    Telegram answered when the status is anything but 401 and 5xx; no answer at all
    (network, DNS, timeout) counts as unreachable.
    """

    def __init__(self, metrics: Metrics, bot_api: BotApiState) -> None:
        self._metrics = metrics
        self._bot_api = bot_api

    def bot_api_answered(self, method: str, status: int, seconds: float) -> None:
        self._metrics.bot_api_answered(method, status, seconds)
        self._bot_api.record(status != 401 and status < 500)

    def bot_api_unreachable(self) -> None:
        self._bot_api.record(False)
