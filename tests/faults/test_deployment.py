"""The production deployment as gunicorn runs it (gunicorn.conf.py, wsgi:app): refuses the
development secrets, sends HSTS behind a TLS-terminating proxy, keeps CORS closed and the
access log free of query strings."""

from __future__ import annotations

import json
import re

import pytest

from tests.faults.conftest import SECRETS

pytestmark = pytest.mark.slow
HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


def test_production_refuses_to_boot_with_development_secrets(gunicorn):
    unset = dict.fromkeys(SECRETS)  # None removes the variable
    with pytest.raises(RuntimeError) as failed:
        gunicorn(env={"OUTREACH_ENV": "production", **unset})
    assert "OUTREACH_ENV=production" in str(failed.value)


def test_behind_a_proxy_headers_cors_and_access_log(gunicorn):
    server = gunicorn(env={"OUTREACH_ENV": "production"})
    status, headers, _ = server.raw(
        "GET", "/api/v1/health", {"X-Forwarded-Proto": "https", "Origin": "https://evil.test"}
    )
    assert status == 200
    assert "max-age" in headers["Strict-Transport-Security"]
    assert "Access-Control-Allow-Origin" not in headers
    assert all(h in headers for h in HEADERS)
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]

    status, headers, _ = server.raw("GET", "/api/v1/health")
    assert status == 200 and "Strict-Transport-Security" not in headers  # plain HTTP

    status, headers, _ = server.raw(
        "OPTIONS",
        "/api/v1/sync/push",
        {"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in headers

    for path in ("/", "/api/v1/nothing-here", "/api/docs"):
        status, headers, _ = server.raw("GET", path)
        assert all(h in headers for h in HEADERS), path

    status, headers, _ = server.raw(
        "GET", "/api/v1/sync/pull?cursor=42&limit=7", {"X-Request-Id": "proxy-request-0001"}
    )
    assert headers["X-Request-Id"] == "proxy-request-0001"
    server.stop()
    log = server.log_path.read_text()
    # The access log: one JSON line per request, its route and request id, no query string.
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    pulls = [x for x in lines if x.get("route") == "/api/v1/sync/pull"]
    assert pulls and pulls[-1]["request_id"] == "proxy-request-0001"
    assert pulls[-1]["method"] == "GET" and pulls[-1]["status"] == status
    assert "cursor=42" not in log and "limit=7" not in log


def test_metrics_add_up_over_every_worker(gunicorn):
    token = "scrape-token-that-is-long-enough-0000"
    server = gunicorn(workers=2, env={"OUTREACH_METRICS_TOKEN": token})
    scrape = {"Authorization": f"Bearer {token}"}

    def me_count() -> float:
        status, _, body = server.raw("GET", "/metrics", scrape)
        assert status == 200
        pattern = r'outreach_http_requests_total\{[^}]*route="/api/v1/me"[^}]*\} (\S+)'
        return sum(float(v) for v in re.findall(pattern, body.decode()))

    before = me_count()
    for _ in range(20):  # a connection each: spread over both workers
        assert server.raw("GET", "/api/v1/me")[0] == 401
    assert me_count() - before == 20  # whichever worker answers the scrape
    assert server.raw("GET", "/metrics")[0] == 401
