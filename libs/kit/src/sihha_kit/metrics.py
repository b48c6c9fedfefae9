"""Prometheus metrics of a service, in one registry per process.

Names follow Prometheus conventions; every metric carries the `service` label
so that one scrape config covers the platform.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

http_requests = Counter(
    "sihha_http_requests",
    "HTTP requests served",
    ["service", "method", "route", "status"],
    registry=REGISTRY,
)
http_latency = Histogram(
    "sihha_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
outbox_backlog = Gauge(
    "sihha_outbox_backlog",
    "Outbox rows not yet confirmed by the broker",
    ["service"],
    registry=REGISTRY,
)
outbox_published = Counter(
    "sihha_outbox_published",
    "Events published from the outbox and confirmed by the broker",
    ["service"],
    registry=REGISTRY,
)
outbox_publish_failures = Counter(
    "sihha_outbox_publish_failures",
    "Publish attempts that failed (broker away, nack, unroutable)",
    ["service", "reason"],
    registry=REGISTRY,
)
consumer_processed = Counter(
    "sihha_consumer_processed",
    "Events consumed and committed",
    ["consumer", "event_type"],
    registry=REGISTRY,
)
consumer_duplicates = Counter(
    "sihha_consumer_duplicates",
    "Redelivered events skipped by the inbox",
    ["consumer"],
    registry=REGISTRY,
)
consumer_conflicts = Counter(
    "sihha_consumer_conflicts",
    "Copies of an applied event under another event id (same producer, aggregate and "
    "sequence), not applied; listed in the inbox_conflicts table",
    ["consumer"],
    registry=REGISTRY,
)
consumer_database_unavailable = Gauge(
    "sihha_consumer_database_unavailable",
    "1 while the consumer waits for its database (deliveries held, none dead-lettered)",
    ["consumer"],
    registry=REGISTRY,
)
retention_deleted = Counter(
    "sihha_retention_deleted_rows",
    "Rows deleted by the retention of a table",
    ["service", "table"],
    registry=REGISTRY,
)
consumer_rejected = Counter(
    "sihha_consumer_rejected",
    "Messages sent towards the dead-letter queue",
    ["consumer", "reason"],
    registry=REGISTRY,
)
consumer_lag = Gauge(
    "sihha_consumer_lag_seconds",
    "now - occurred_at of the last event the consumer committed",
    ["consumer"],
    registry=REGISTRY,
)
dead_letters = Gauge(
    "sihha_dead_letters",
    "Messages waiting in the consumer's dead-letter queue (measured from the broker on scrape)",
    ["consumer"],
    registry=REGISTRY,
)
queue_depth = Gauge(
    "sihha_consumer_queue_depth",
    "Messages ready in the consumer's inbox queue (measured from the broker on scrape)",
    ["consumer"],
    registry=REGISTRY,
)
