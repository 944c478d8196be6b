"""Prometheus metrics: requests, latency, documents coded, units proposed.

With several worker processes, ``ivus-coder serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` so that
every worker writes its samples there and ``GET /metrics`` (whichever worker answers) reports
the sum over workers (prometheus-client's multiprocess mode). Labels are bounded: routes are
route templates, never raw paths.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The service's metrics, on a registry of their own (several apps may live in one process)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        reg: Any = None if self.multiprocess else self.registry
        self.requests = Counter(
            "ivus_coder_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=reg,
        )
        self.latency = Histogram(
            "ivus_coder_http_request_duration_seconds",
            "Time from request start to the end of the response, by method and route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.documents = Counter(
            "ivus_coder_documents_total",
            "Documents submitted for coding, by interface and outcome (coded or error).",
            ("interface", "outcome"),
            registry=reg,
        )
        self.units = Counter(
            "ivus_coder_units_proposed_total",
            "CPT units proposed, by code.",
            ("code",),
            registry=reg,
        )
        self.coding_seconds = Histogram(
            "ivus_coder_coding_duration_seconds",
            "Time the coding pipeline spent on one document (extraction and coding).",
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        for code in ("37252", "37253"):
            self.units.labels(code)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_result(self, interface: str, result: dict[str, Any]) -> None:
        """Count one coded document (or error record) and the units it proposes."""
        if "error" in result:
            self.documents.labels(interface, "error").inc()
            return
        self.documents.labels(interface, "coded").inc()
        for code, units in result["codes"].items():
            if units:
                self.units.labels(code).inc(units)

    def observe_error(self, interface: str) -> None:
        self.documents.labels(interface, "error").inc()

    def exposition(self) -> bytes:
        """The text exposition format of every metric (summed over workers in multiprocess mode)."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
