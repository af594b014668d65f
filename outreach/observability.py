"""Operability (issue 21): a request id on every request and response, one JSON log
line per request, and the Prometheus endpoint `/metrics`.

* `X-Request-Id`: the caller's (a proxy's) if it is a short token, else a new one;
  echoed on the response and in every log line written while answering (`request_id`).
* Access log: `outreach.access`, one JSON line per request: method, route (the URL
  rule, never the path: ids and query strings stay out), status, ms, request id.
* `/metrics`: the text format, for `Authorization: Bearer $OUTREACH_METRICS_TOKEN`
  (Prometheus' `authorization` setting) or a signed-in admin; anyone else 401/403.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.metrics import LATENCY, REQUESTS, exposition, watch_pool

access_log = logging.getLogger("outreach.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def register_observability(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = getattr(g, "request_id", None)
        if request_id is None:
            return response
        response.headers["X-Request-Id"] = request_id
        seconds = time.perf_counter() - g.started
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(seconds)
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "ms": round(seconds * 1000, 1),
            },
        )
        return response

    with app.app_context():
        watch_pool(db.engine)
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])


class Undelivered:
    """Weekly reports not yet delivered (pending or failing), read at each scrape."""

    def collect(self):
        from outreach.reports.models import ReportDelivery

        count = db.session.scalar(
            select(func.count()).select_from(ReportDelivery).where(ReportDelivery.status != "sent")
        )
        db.session.rollback()
        yield GaugeMetricFamily(
            "outreach_reports_undelivered", "Report emails not delivered yet", value=count or 0
        )


def metrics() -> Response:
    _allow_scrape()
    body, content_type = exposition([Undelivered()])
    response = current_app.response_class(body, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _allow_scrape() -> None:
    token = current_app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return
    from outreach.access.guard import require

    require("admin")(lambda: None)()  # 401 without a valid token, 403 for another role
    if getattr(g, "actor", None) is None:
        raise ApiError(401, "Sign in first.")
