"""Prometheus metrics of the service: decisions by outcome and how long they take.

A registry of its own per app, so that two apps in one process (tests) do not collide.
Labels never carry ids or names: only kinds and outcomes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Seconds; face decisions take 0.1-1 s on a CPU, card and PIN decisions milliseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.decisions = Counter(
            "facegate_decisions",
            "Gate decisions by credential kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.decision_latency = Histogram(
            "facegate_decision_latency_seconds",
            "Time to answer a gate decision, by credential kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "facegate_http_requests",
            "HTTP requests by route template and status class.",
            ["route", "status"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "facegate_rate_limited",
            "Requests refused by a rate limit, by limit.",
            ["limit"],
            registry=self.registry,
        )
        # One process of several workers each answer /metrics for themselves: the pid says
        # which one did.
        self.worker_pid = Gauge(
            "facegate_worker_pid", "The id of the process that answered.", registry=self.registry
        )
        self.worker_pid.set(os.getpid())
        #: Set to read the store's cache by ``AppState`` (R-23: an erasure empties it).
        self.gallery_cached_subjects = Gauge(
            "facegate_gallery_cached_subjects",
            "Subjects whose templates this process holds decrypted in its gallery cache.",
            registry=self.registry,
        )
