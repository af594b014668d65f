"""The production deployment as gunicorn runs it (gunicorn.conf.py, wsgi:app): refuses the
development secrets, sends HSTS behind a TLS-terminating proxy, keeps CORS closed and the
access log free of query strings."""

from __future__ import annotations

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

    server.raw("GET", "/api/v1/sync/pull?cursor=42&limit=7")
    server.stop()
    log = server.log_path.read_text()
    assert '"GET /api/v1/sync/pull"' in log
    assert "cursor=42" not in log and "limit=7" not in log
