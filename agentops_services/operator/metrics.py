"""Prometheus metrics of the operator, on their own registry (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()
RECONCILES = Counter(
    "agentops_reconcile_total",
    "Reconciles by controller and outcome (ok, error)",
    ["controller", "outcome"],
    registry=REGISTRY,
)
RECONCILE_SECONDS = Histogram(
    "agentops_reconcile_seconds",
    "Time per reconcile",
    ["controller"],
    registry=REGISTRY,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_DEPTH = Gauge(
    "agentops_workqueue_depth", "Keys waiting per controller", ["controller"], registry=REGISTRY
)
API_REQUESTS = Gauge(
    "agentops_api_requests", "API requests made since start, by verb", ["verb"], registry=REGISTRY
)
LEADER = Gauge("agentops_leader", "1 while this operator holds the lease", registry=REGISTRY)
