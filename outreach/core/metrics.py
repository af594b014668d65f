"""Prometheus metrics (prometheus_client), shared by gunicorn's workers.

Under gunicorn each worker is a process: gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR
before the workers start, each worker writes its samples there, `/metrics` merges them
(counters and histograms summed, the pool gauge summed over live workers) and gunicorn's
`child_exit` hook drops a dead worker's gauges. Without that variable (tests, `flask
run`) the process's own registry is served.

Labels are bounded: a route is its URL rule (`/api/v1/clients/<uuid:client_id>`), never
the path, so no id reaches the metrics.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REQUESTS = Counter(
    "outreach_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "outreach_http_request_seconds",
    "Time to answer, by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SYNC_MUTATIONS = Counter(
    "outreach_sync_mutations", "Mutations pushed by phones, by result", ["status"]
)
SYNC_PULLED = Counter("outreach_sync_pulled_changes", "Changes sent to phones by pulls")
SYNC_IDLE = Counter(
    "outreach_sync_idle", "Idle syncs answered by the fast path (nothing new)", ["kind"]
)
POOL_IN_USE = Gauge(
    "outreach_db_pool_checked_out",
    "Database connections in use (summed over live workers)",
    multiprocess_mode="livesum",
)
POOL_OPEN = Gauge(
    "outreach_db_pool_open",
    "Database connections open (summed over live workers)",
    multiprocess_mode="livesum",
)


def watch_pool(engine) -> None:
    """Keep the pool gauges in step with an engine's connections."""
    from sqlalchemy import event

    if getattr(engine, "_outreach_watched", False):
        return
    engine._outreach_watched = True
    event.listen(engine, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: POOL_IN_USE.dec())
    event.listen(engine, "connect", lambda *_: POOL_OPEN.inc())
    event.listen(engine, "close", lambda *_: POOL_OPEN.dec())
    event.listen(engine, "close_detached", lambda *_: POOL_OPEN.dec())


def exposition(extra=()) -> tuple[bytes, str]:
    """The text format of every worker's metrics, plus `extra` collectors (read now, in
    this process: values from the database)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    now = CollectorRegistry()  # a registry per scrape: two scrapes at once never clash
    for collector in extra:
        now.register(collector)
    return generate_latest(registry) + generate_latest(now), CONTENT_TYPE_LATEST
