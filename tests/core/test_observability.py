"""Operability (issue 21): request ids, JSON log lines, and /metrics for Prometheus."""

from __future__ import annotations

import json
import logging
import re

from outreach.core.logs import JsonFormatter
from tests.sync.helpers import client_data, mutation, pull_all, push


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample in the text format (0 if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = ",".join(sorted((match.group(2) or "{}")[1:-1].split(","))) if labels else ""
        if found.strip(",") == wanted:
            return float(match.group(3))
    return 0.0


def test_every_response_carries_a_request_id(client):
    given = client.get("/api/v1/health", headers={"X-Request-Id": "lb-5f3a9c2e"})
    assert given.headers["X-Request-Id"] == "lb-5f3a9c2e"
    made = client.get("/api/v1/health", headers={"X-Request-Id": "bad id <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
    other = client.get("/api/v1/health")
    assert other.headers["X-Request-Id"] != made.headers["X-Request-Id"]


def test_log_lines_are_json_with_the_request_id(app):
    formatter = JsonFormatter()
    record = logging.LogRecord("outreach.access", logging.INFO, __file__, 1, "request", None, None)
    record.route = "/api/v1/sync/pull"
    with app.test_request_context("/api/v1/sync/pull?cursor=1"):
        from flask import g

        g.request_id = "abc12345"
        line = json.loads(formatter.format(record))
    assert line["request_id"] == "abc12345" and line["route"] == "/api/v1/sync/pull"
    assert line["level"] == "INFO" and line["logger"] == "outreach.access"


def test_metrics_are_for_admins_or_the_scrape_token(app, client, login, monkeypatch):
    assert client.get("/metrics").status_code == 401
    assert login("worker").get("/metrics").status_code == 403
    assert login("admin").get("/metrics").status_code == 200
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-that-is-long-enough")
    ok = client.get(
        "/metrics", headers={"Authorization": "Bearer scrape-token-that-is-long-enough"}
    )
    assert ok.status_code == 200 and ok.mimetype == "text/plain"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_metrics_count_requests_sync_volumes_reports_and_the_pool(login):
    admin, worker = login("admin"), login("worker")
    before = admin.get("/metrics").get_data(as_text=True)
    push(worker, [mutation("client", client_data()), mutation("client", client_data())])
    _, cursor = pull_all(worker)
    pull_all(worker, cursor)  # nothing new: the idle fast path
    text = admin.get("/metrics").get_data(as_text=True)

    def grew(name, **labels):
        return sample(text, name, **labels) - sample(before, name, **labels)

    route = {"method": "GET", "route": "/api/v1/sync/pull", "status": "200"}
    assert grew("outreach_http_requests_total", **route) == 2
    assert grew("outreach_http_request_seconds_count", method="GET", route="/api/v1/sync/pull") == 2
    assert grew("outreach_sync_mutations_total", status="applied") == 2
    assert grew("outreach_sync_pulled_changes_total") == 2
    assert grew("outreach_sync_idle_total", kind="pull") == 1
    assert "outreach_reports_undelivered 0.0" in text
    assert "outreach_db_pool_checked_out" in text and "outreach_db_pool_open" in text
    # Routes are URL rules: no id (nor query string) reaches a label.
    assert not re.search(r'route="[^"]*([0-9a-f]{8}-[0-9a-f]{4}|\?)', text)
