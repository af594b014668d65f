"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Web workers are stateless; the scheduler runs as its own process (Procfile).
"""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("OUTREACH_BIND", "127.0.0.1:8000")
# One process per core, two threads each (to overlap database waits): the request work
# is CPU-bound Python. On the 2-core bench (bench/load.py, 200 devices) 2 workers gave a
# lower p99 than the usual 2 x cores + 1 in every paired run (1.3 s vs 1.8 s; 1.9 vs 3.2).
workers = int(os.environ.get("OUTREACH_WEB_WORKERS", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("OUTREACH_WEB_THREADS", "2"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: bounds memory growth (WeasyPrint renders, fragmentation).
max_requests = 2000
max_requests_jitter = 200
# Behind a reverse proxy that sets X-Forwarded-Proto (HSTS needs to know about HTTPS).
forwarded_allow_ips = os.environ.get("OUTREACH_FORWARDED_ALLOW_IPS", "127.0.0.1")
# The app writes the access log itself (outreach/observability.py): one JSON line per
# request with its request id, the route and never a query string.
accesslog = None
errorlog = "-"

# Prometheus (outreach/core/metrics.py): each worker writes its samples to one directory,
# /metrics merges them. One fresh directory per server, made before the workers start
# (never one inherited from the environment: a server that exits removes its own, and a
# second server beside it must not lose its files), unless OUTREACH_METRICS_DIR names one.
_OWN_METRICS_DIR = not os.environ.get("OUTREACH_METRICS_DIR")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ.get(
    "OUTREACH_METRICS_DIR"
) or tempfile.mkdtemp(prefix="outreach-metrics-")


def child_exit(server, worker):
    """A recycled or dead worker's gauges (connections in use) leave the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def on_starting(server):
    """Refuse to start production with several workers each keeping its own rate-limit
    counts (memory://): say so at start-up, before any worker runs."""
    from outreach.core.config import check_shared_limits

    check_shared_limits(
        os.environ.get("OUTREACH_ENV"),
        os.environ.get("OUTREACH_RATELIMIT_STORAGE_URL"),
        int(server.cfg.workers),
    )


def post_worker_init(worker):
    """After the app is loaded in a worker: its hundreds of thousands of long-lived objects
    (models, schemas, compiled statements) leave the garbage collector's view, and young
    collections run a tenth as often. Cyclic collection took about 3% of a sync request's
    CPU; measured with bench/load.py."""
    import gc

    gc.freeze()
    gc.set_threshold(7000, 10, 10)
