"""Every Prometheus metric of the pipeline, in one place.

The receiver and the operator API serve them at `/metrics`; a worker (several processes)
runs in prometheus multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by `pipeline worker`)
and its main process serves the aggregate on `--metrics-port`. Names are what the dashboard and the
alert rules under docker/ query; tests check that they agree.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
EVENT_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

# Receiver.
WEBHOOKS = Counter(
    "pipeline_webhooks", "Webhook requests by provider and outcome", ["provider", "outcome"]
)
WEBHOOK_LATENCY = Histogram(
    "pipeline_webhook_duration_seconds",
    "Time to verify and enqueue a webhook",
    ["provider"],
    buckets=LATENCY_BUCKETS,
)
SIGNATURE_REJECTIONS = Counter(
    "pipeline_signature_rejections", "Webhooks rejected as unauthentic (401/403)", ["provider"]
)

# Operator API: by route template (bounded), not by raw path.
API_REQUESTS = Counter(
    "pipeline_api_requests", "Operator API answers by route and status", ["route", "status"]
)
API_LATENCY = Histogram(
    "pipeline_api_request_duration_seconds",
    "Operator API request time",
    ["route"],
    buckets=LATENCY_BUCKETS,
)

# gRPC API: by full method name (bounded by the service definition) and status code.
GRPC_CALLS = Counter("pipeline_grpc_calls", "gRPC calls by method and code", ["method", "code"])
GRPC_LATENCY = Histogram(
    "pipeline_grpc_call_duration_seconds",
    "gRPC call time (streams: until the stream ended)",
    ["method"],
    buckets=LATENCY_BUCKETS,
)

# Workers.
EVENTS = Counter("pipeline_events", "Events finished by outcome", ["source", "status"])
EVENT_LATENCY = Histogram(
    "pipeline_event_latency_seconds",
    "From webhook received to event processed",
    ["source"],
    buckets=EVENT_LATENCY_BUCKETS,
)
EVENT_RETRIES = Counter("pipeline_event_retries", "Failed attempts scheduled again", ["source"])
EVENTS_DEAD = Counter("pipeline_events_dead", "Events that went dead", ["source"])
TASK_DURATION = Histogram(
    "pipeline_task_duration_seconds", "Celery task run time", ["task"], buckets=LATENCY_BUCKETS
)
QUEUE_DEPTH = Gauge(
    "pipeline_queue_depth", "Messages waiting in a queue", ["queue"], multiprocess_mode="mostrecent"
)
QUEUE_AGE = Gauge(
    "pipeline_queue_oldest_age_seconds",
    "Age of the oldest waiting message",
    ["queue"],
    multiprocess_mode="mostrecent",
)
EVENTS_BY_STATUS = Gauge(
    "pipeline_events_in_status",
    "Stored events per status (sampled by the alert job)",
    ["status"],
    multiprocess_mode="mostrecent",
)
TABLE_DEAD_ROWS = Gauge(
    "pipeline_table_dead_rows",
    "Dead row versions per table, as PostgreSQL's statistics estimate them (sampled by upkeep)",
    ["table"],
    multiprocess_mode="mostrecent",
)
ALERTS_FIRING = Gauge(
    "pipeline_alerts_firing", "Operator alerts firing now", multiprocess_mode="mostrecent"
)

# Notifications (incremented by the outbox sender).
NOTIFICATIONS_SENT = Counter("pipeline_notifications_sent", "Outbox messages delivered", ["kind"])
NOTIFICATIONS_FAILED = Counter(
    "pipeline_notifications_failed", "Outbox deliveries that failed", ["kind"]
)
NOTIFICATIONS_THROTTLED = Counter(
    "pipeline_notifications_throttled", "Deliveries delayed by rate limits or 429", ["kind"]
)

# Backups.
BACKUP_LAST_SUCCESS = Gauge(
    "pipeline_backup_last_success_timestamp_seconds",
    "Unix time of the last good backup",
    multiprocess_mode="max",
)

# Cache-aside in Redis (pipeline.cache): hit ratio and read latency per cache.
CACHE_REQUESTS = Counter("pipeline_cache_requests", "Cache reads by result", ["cache", "result"])
CACHE_LATENCY = Histogram(
    "pipeline_cache_read_seconds",
    "Time of a cached read, including the load on a miss",
    ["cache", "result"],
    buckets=LATENCY_BUCKETS,
)

# AI provider calls (pipeline.ai.client): outcome ok, timeout, rate_limited, budget, ...
AI_CALLS = Counter(
    "pipeline_ai_calls", "AI provider calls by purpose and outcome", ["purpose", "outcome"]
)
AI_TOKENS = Counter("pipeline_ai_tokens", "Tokens used by AI calls", ["purpose", "direction"])
AI_LATENCY = Histogram(
    "pipeline_ai_call_duration_seconds",
    "AI provider call time, retries included",
    ["purpose"],
    buckets=EVENT_LATENCY_BUCKETS,
)


def metric_names() -> set[str]:
    """Sample names this module exports (counters with _total, histograms with parts)."""
    names: set[str] = set()
    for metric in (
        WEBHOOKS, WEBHOOK_LATENCY, SIGNATURE_REJECTIONS, EVENTS, EVENT_LATENCY, EVENT_RETRIES,
        EVENTS_DEAD, TASK_DURATION, QUEUE_DEPTH, QUEUE_AGE, EVENTS_BY_STATUS, ALERTS_FIRING,
        NOTIFICATIONS_SENT, NOTIFICATIONS_FAILED, NOTIFICATIONS_THROTTLED, BACKUP_LAST_SUCCESS,
        CACHE_REQUESTS, CACHE_LATENCY, API_REQUESTS, API_LATENCY, AI_CALLS, AI_TOKENS,
        AI_LATENCY, GRPC_CALLS, GRPC_LATENCY,
    ):  # fmt: skip
        for family in metric.describe():
            if family.type == "counter":
                names.update({f"{family.name}_total", f"{family.name}_created"})
            elif family.type == "histogram":
                names.update(f"{family.name}{s}" for s in ("_bucket", "_sum", "_count"))
            else:
                names.add(family.name)
    return names


def initialize_series(sources: Iterable[str], *, receiver: bool = False) -> None:
    """Per-source counters exist from the start, at 0: a series that is born at 1 shows no
    `increase()`, so the first dead event of a source would never fire EventsDead."""
    for source in sources:
        if receiver:
            SIGNATURE_REJECTIONS.labels(source)
        else:
            EVENTS_DEAD.labels(source)
            EVENT_RETRIES.labels(source)


def prepare_multiprocess_dir(path: Path) -> None:
    """Start a multiprocess run with an empty directory (stale files would add up)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)


def registry() -> CollectorRegistry | None:
    """The aggregate over processes in multiprocess mode; None: the default registry."""
    if not os.environ.get(MULTIPROC_ENV):
        return None
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def exposition() -> tuple[bytes, str]:
    reg = registry()
    return (generate_latest(reg) if reg is not None else generate_latest()), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
