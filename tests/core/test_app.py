"""App factory, configuration, the error envelope, security headers."""

from __future__ import annotations

import uuid

import pytest

from outreach import create_app
from outreach.core.config import ConfigError

SECRET = "secret internals AB 1980-01-01"  # stands for personal data in an error message


def assert_envelope(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == status and body["status"] and body["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_production_refuses_development_secrets(monkeypatch):
    monkeypatch.setenv("OUTREACH_ENV", "production")
    monkeypatch.delenv("OUTREACH_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()


def test_production_starts_with_real_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("OUTREACH_ENV", "production")
    monkeypatch.setenv("OUTREACH_SECRET_KEY", "s1-Vq8pXk3Lr9Tz2Wm7Nb4Hc6Jd0Fg5Ya")
    monkeypatch.setenv("OUTREACH_JWT_SECRET", "j1-Qw3Er5Ty7Ui9Op0As2Df4Gh6Jk8Lz")
    monkeypatch.setenv("OUTREACH_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    app = create_app()
    assert app.config["OUTREACH_ENV"] == "production"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.db")


def test_environment_configures_smtp_and_schedule(monkeypatch):
    monkeypatch.setenv("OUTREACH_SMTP_HOST", "mail.example.test")
    monkeypatch.setenv("OUTREACH_SMTP_PORT", "2525")
    monkeypatch.setenv("OUTREACH_REPORT_SCHEDULE", "30 6 * * tue")
    app = create_app({"TESTING": True})
    assert app.config["SMTP_HOST"] == "mail.example.test"
    assert app.config["SMTP_PORT"] == 2525
    assert app.config["REPORT_SCHEDULE"] == "30 6 * * tue"


def test_unknown_api_path_is_json_404(client):
    assert_envelope(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_json_405(client):
    body = assert_envelope(client.delete("/api/v1/auth/login"), 405)
    assert "method" in body["message"].lower()


def test_missing_token_is_json_401(client):
    assert_envelope(client.get("/api/v1/me"), 401)


def test_garbage_token_is_json_401(client):
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer not.a.token"})
    assert_envelope(r, 401)


def test_wrong_role_is_json_403(login):
    assert_envelope(login("worker").get("/api/v1/admin/users"), 403)


def test_malformed_json_is_4xx_envelope(client, world):
    r = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert r.status_code in (400, 422)
    assert_envelope(r, r.status_code)


def test_unexpected_error_is_json_500_without_details(login, monkeypatch, caplog):
    # /me catches nothing itself, so the error reaches the app's last-resort handler.
    import outreach.app_routes as routes

    worker = login("worker")

    def boom(*a, **k):
        raise RuntimeError(SECRET)  # by name: the logged traceback shows this source line

    monkeypatch.setattr(routes, "profile_of", boom)
    r = worker.get("/api/v1/me")
    body = assert_envelope(r, 500)
    assert SECRET not in r.get_data(as_text=True)
    assert body["message"] == "Something went wrong on the server."
    assert "RuntimeError" in caplog.text and SECRET not in caplog.text


def test_health_is_json_503_when_the_database_fails(client, monkeypatch):
    import outreach.app_routes as routes

    def boom(*a, **k):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(routes.db.session, "execute", boom)
    r = client.get("/api/v1/health")
    body = assert_envelope(r, 503)
    assert SECRET not in r.get_data(as_text=True)
    assert "database" in body["message"].lower()


def test_openapi_and_docs_are_served_locally(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    assert "/api/v1/auth/login" in paths and "/api/v1/me" in paths
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html and "<script>" not in html
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/docs/assets/init.js").status_code == 200


def test_security_headers_on_every_response(client):
    for path in ("/api/v1/health", "/api/v1/nothing", "/api/openapi.json"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in client.get("/api/v1/health").headers
    https = client.get("/api/v1/health", base_url="https://localhost")
    assert "max-age" in https.headers["Strict-Transport-Security"]


def test_cors_is_closed_by_default(client):
    r = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_health_reports_database(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.get_json()["database"] == "ok"


def test_a_nul_character_in_a_sign_in_is_a_field_error(client, world):
    """Found by schemathesis (seed 20261202): PostgreSQL refused the lookup with a 500."""
    r = client.post(
        "/api/v1/auth/login",
        json={
            "email": "worker\x00@example.test",
            "password": "whatever-it-is",
            "device_id": "fbc887f5-916b-30cb-8c00-ee0c95124697",
            "device_label": "phone\x00",
        },
    )
    assert_envelope(r, 422)
    assert set(r.get_json()["errors"]) == {"email", "device_label"}


def test_a_value_the_database_refuses_is_422_and_nothing_is_kept(login, pg_only):
    """The safety net for fields without their own check: the database's refusal of a
    value (here a NUL character in an area's name) is the request's fault, not a 500."""
    admin = login("admin")
    r = admin.post(
        "/api/v1/admin/areas", json={"code": "nul-area", "name": "Nul\x00", "region": "North"}
    )
    assert_envelope(r, 422)
    codes = [a["code"] for a in admin.get("/api/v1/admin/areas").get_json()["items"]]
    assert "nul-area" not in codes


def test_an_unknown_field_named_with_half_an_emoji_is_a_422(client, world):
    """orjson refuses to write a lone surrogate; the error naming that key must still
    reach the caller (the standard library writes it as an escape)."""
    import json

    body = json.dumps(
        {"email": "a@b.test", "password": "x", "device_id": str(uuid.uuid4()), "\udc00": 1}
    )
    r = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert r.status_code == 422
    answer = json.loads(r.get_data())  # a browser's JSON.parse reads the escape too
    assert answer["code"] == 422 and "\udc00" in answer["errors"]


def test_a_data_error_of_our_own_making_is_still_a_500(app):
    """Only the driver's or the database's refusal of a value is the request's fault: a
    DataError wrapping a Python error (a bug building rows) must stay visible as a 500."""
    import psycopg
    from sqlalchemy.exc import DataError

    ours = DataError("INSERT ...", None, TypeError("bad row"))
    refused = DataError("INSERT ...", None, psycopg.DataError("NUL in text"))
    with app.test_request_context("/api/v1/admin/areas", method="POST"):
        assert app.handle_user_exception(ours).status_code == 500
        assert app.handle_user_exception(refused).status_code == 422


def test_the_default_database_lives_in_the_repositorys_instance_folder():
    """`make run` serves on SQLite in instance/ beside the code (where Flask keeps its
    instance folder), not in a folder inside the package that nothing creates."""
    from pathlib import Path

    from outreach import create_app
    from outreach.core.config import INSTANCE_DIR

    assert Path(create_app({"TESTING": True}).instance_path) == INSTANCE_DIR
    assert INSTANCE_DIR.parent == Path(__file__).resolve().parents[2]
