"""Prometheus metrics for `/metrics` (served by mentorbot/health.py's server).

The core and the adapters know no metrics library: the delivery loop reports through a
`DeliveryObserver`, the core through `MentorBot.on_handled`, rejected requests through
mentorbot/logs.py's listeners; this module turns those calls into prometheus-client
metrics. What lives in the database (outbox depth, the oldest pending urgent alert) is read
when Prometheus scrapes. Labels are platforms, statuses and event kinds: never a person.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.clock import Clock
from bot.delivery import DeliveryObserver, DeliveryStats
from bot.model import Inbound
from mentorbot.health import oldest_pending_urgent_alert_age, outbox_depth
from storage.db import Database
from storage.enums import OutboxStatus

PREFIX = "mentorbot"
# Handler latency buckets (seconds): the core answers in milliseconds; Slack and Discord
# give up on an answer after 3 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
OUTBOX_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED)


class Metrics:
    """The process's metrics, in a registry of their own (tests make as many as they like)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.sent = Counter(
            f"{PREFIX}_messages_sent", "Messages the platform accepted.", ["platform"], registry=r
        )
        self.retries = Counter(
            f"{PREFIX}_send_retries", "Sends to be tried again.", ["platform"], registry=r
        )
        self.rate_limited = Counter(
            f"{PREFIX}_rate_limited",
            "Sends the platform refused with HTTP 429 (rate limited).",
            ["platform"],
            registry=r,
        )
        self.failures = Counter(
            f"{PREFIX}_send_failures", "Messages given up on.", ["platform"], registry=r
        )
        self.inbound = Counter(
            f"{PREFIX}_inbound_events",
            "Events from people (commands, buttons, forms, text).",
            ["platform", "kind"],
            registry=r,
        )
        self.latency = Histogram(
            f"{PREFIX}_handler_seconds",
            "Seconds the core took to answer an event.",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            f"{PREFIX}_rejected_requests",
            "Requests refused before processing (bad signature, old timestamp, ...).",
            ["reason"],
            registry=r,
        )

    def observer(self) -> DeliveryObserver:
        """The delivery loop's hooks, counting into these metrics."""
        return _Observer(self)

    def on_handled(self, inbound: Inbound, seconds: float) -> None:
        """The core's hook: one event handled in `seconds`."""
        platform = inbound.actor.platform
        self.inbound.labels(platform, inbound.kind).inc()
        self.latency.labels(platform).observe(seconds)

    def on_rejected(self, reason: str) -> None:
        """mentorbot.logs' hook: one request rejected."""
        self.rejected.labels(reason).inc()

    def watch_database(self, db: Database, clock: Clock) -> None:
        """Read the outbox depth and the oldest pending urgent alert at every scrape."""
        self.registry.register(_DatabaseCollector(db, clock))

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type (blocking: call off the event loop)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Observer(DeliveryObserver):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def sent(self, platform: str) -> None:
        self.metrics.sent.labels(platform).inc()

    def retried(self, platform: str, *, rate_limited: bool) -> None:
        self.metrics.retries.labels(platform).inc()
        if rate_limited:
            self.metrics.rate_limited.labels(platform).inc()

    def failed(self, platform: str) -> None:
        self.metrics.failures.labels(platform).inc()

    def pass_done(self, stats: DeliveryStats, seconds: float) -> None:
        pass


class _DatabaseCollector(Collector):
    """Gauges read from the database when Prometheus scrapes."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def describe(self) -> list[Metric]:
        # Without describe() the registry would collect (query the database) at register.
        return []

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            f"{PREFIX}_outbox_messages",
            "Outbox rows not sent, by platform and status.",
            labels=["platform", "status"],
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_pending_urgent_alert_seconds",
            "Age of the oldest open urgent alert not yet delivered (0 when none).",
        )
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the database answered this scrape.")
        try:
            with self.db.session() as session:
                counts = outbox_depth(session)
                age = oldest_pending_urgent_alert_age(session, self.clock.now())
        except Exception:
            up.add_metric([], 0.0)
            yield up
            return
        platforms = sorted({platform for platform, _ in counts})
        for platform in platforms:
            for status in OUTBOX_STATUSES:
                depth.add_metric([platform, status], float(counts.get((platform, status), 0)))
        oldest.add_metric([], age)
        up.add_metric([], 1.0)
        yield depth
        yield oldest
        yield up
