"""Prometheus metrics, fed by the observers the poller, the dispatcher and the Bot API
request take (bot/app.py wires them), not by counters threaded through their code.

The registry is created per `Metrics` object (never prometheus-client's global one), so two
bots in one test process, or one bot restarted in place, never share or clash on counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.entrypoints.http.health import BotApiState
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
    bundles: list[int]
    waited: list[float]


class OutboxState(Protocol):
    depth: int
    oldest_queued_at: datetime | None


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
        self.oldest_pending = Gauge(
            "newsbot_outbox_oldest_pending_seconds",
            "Age of the oldest due delivery in the outbox (0 when none waits; at scrape time).",
            registry=r,
        )
        self.chat_lag = Histogram(
            "newsbot_chat_lag_seconds",
            "How long a chat waited for each message: from its oldest story's queueing to "
            "the send (fair turns keep this near chats / 30 s under load).",
            buckets=(1, 2, 5, 10, 20, 30, 60, 90, 120, 300, 600, 1800),
            registry=r,
        )
        self.bundles = Counter(
            "newsbot_bundles",
            "Messages that carried several stories (a reader's bundle, a channel's roundup).",
            registry=r,
        )
        self.stories_per_bundle = Histogram(
            "newsbot_stories_per_bundle",
            "Stories listed in one bundle or roundup message.",
            buckets=(2, 3, 5, 10, 20, 50),
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
        for seconds in stats.waited:
            self.chat_lag.observe(seconds)
        for stories in stats.bundles:
            self.bundles.inc()
            self.stories_per_bundle.observe(stories)

    def outbox_read(self, outbox: OutboxState, now: datetime) -> None:
        """The outbox as the database shows it at a scrape."""
        self.deliveries_queued.set(outbox.depth)
        oldest = outbox.oldest_queued_at
        self.oldest_pending.set(max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)

    def bot_api_answered(self, method: str, status: int, seconds: float) -> None:
        if status == 429:
            self.telegram_429.inc()
        elif method.lower() in SEND_METHODS and status < 400:
            self.send_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class BotApiWatch:
    """The Bot API request's observer (bot/entrypoints/telegram/request.py): 429s and send latencies
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
