"""Prometheus metrics of one gateway process (its own registry, so several apps can live in one test)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger("wacloud.gateway.metrics")


class Metrics:
    """The gateway's counters, gauges and histograms, with a hook to refresh gauges on scrape."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sends = Counter(
            "wacloud_sends",
            "Send attempts by outcome and Graph error code (0 = none)",
            ["outcome", "code"],
            registry=r,
        )
        self.retries = Counter("wacloud_retries", "Sends scheduled for retry, by error code", ["code"], registry=r)
        self.jobs = Gauge("wacloud_jobs", "Outbox jobs by state", ["state"], registry=r)
        self.failed_jobs = Gauge(
            "wacloud_failed_jobs", "Outbox jobs that ended failed, by error code", ["code"], registry=r
        )
        self.queue_depth = Gauge("wacloud_queue_depth", "Jobs waiting to be sent (queued or retrying)", registry=r)
        self.pacing_tokens = Gauge(
            "wacloud_pacing_tokens", "Tokens left in the throughput bucket", ["phone_number_id"], registry=r
        )
        self.held_jobs = Gauge("wacloud_held_jobs", "Jobs held by a limit, by reason", ["reason"], registry=r)
        self.cost = Gauge("wacloud_cost", "What sent messages cost (statuses' pricing at the rate card), by "
                          "category", ["category"], registry=r)
        self.webhook_latency = Histogram(
            "wacloud_webhook_latency_seconds",
            "Time to answer a webhook POST",
            ["status"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.webhook_payloads = Gauge(
            "wacloud_webhook_payloads",
            "Webhook payloads of this process: processed, failed attempts retried, dead-lettered",
            ["outcome"],
            registry=r,
        )
        self.api_requests = Counter(
            "wacloud_api_requests",
            "HTTP API requests by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.unrouted = Counter(
            "wacloud_webhooks_unrouted",
            "Webhook updates for a number this gateway does not serve (kept apart)",
            ["phone_number_id"],
            registry=r,
        )
        self.number_backlog = Gauge(
            "wacloud_number_backlog", "Jobs of one number still owed a send", ["phone_number_id"], registry=r
        )
        self.number_rate = Gauge(
            "wacloud_number_rate_mps", "Messages per second one number paces to", ["phone_number_id"], registry=r
        )
        self.number_paused = Gauge(
            "wacloud_number_paused", "1 while sending from one number is paused", ["phone_number_id"], registry=r
        )
        self.number_jobs = Gauge(
            "wacloud_number_jobs", "Outbox jobs of one number by state", ["phone_number_id", "state"], registry=r
        )
        self.enqueued = Counter("wacloud_enqueued", "Jobs accepted by the HTTP API", ["kind"], registry=r)
        self._refreshers: list[Callable[[Metrics], None]] = []

    def on_scrape(self, refresh: Callable[[Metrics], None]) -> None:
        """Call ``refresh(self)`` before each scrape (to set gauges from the store)."""
        self._refreshers.append(refresh)

    def render(self) -> bytes:
        """The exposition text, after refreshing the gauges."""
        for refresh in self._refreshers:
            try:
                refresh(self)
            except Exception:  # a broken gauge must not break the scrape
                log.warning("metrics refresh failed", exc_info=True)
        return generate_latest(self.registry)
