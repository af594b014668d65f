"""What the fuzzer found, pinned as plain examples (they run on every database)."""

from __future__ import annotations

import pytest

HUGE = 2**31  # one past PostgreSQL's INTEGER: used to raise DataError (500) there


@pytest.mark.parametrize(
    ("method", "path", "body", "who"),
    [
        ("PATCH", f"/api/v1/admin/areas/{HUGE}", {"name": "X"}, "admin"),
        ("PATCH", f"/api/v1/admin/teams/{HUGE}", {"name": "X"}, "admin"),
        ("GET", f"/api/v1/admin/users/{HUGE}", None, "admin"),
        ("PATCH", f"/api/v1/admin/users/{HUGE}", {"name": "X"}, "admin"),
        ("PATCH", f"/api/v1/admin/areas/{HUGE * 1000}", {"name": "X"}, "admin"),
        ("POST", f"/api/v1/caseload/duplicates/{HUGE}/dismiss", None, "lead"),
    ],
)
def test_out_of_range_ids_are_404_not_500(login, method, path, body, who):
    caller = login(who)
    kwargs = {"json": body} if body is not None else {}
    response = caller.client.open(path, method=method, headers=caller.headers, **kwargs)
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["code"] == 404


def test_unparseable_body_errors_are_an_object(client, world):
    response = client.post("/api/v1/auth/login", data=b"\x04\xf0F", content_type="application/json")
    assert response.status_code == 400
    assert isinstance(response.get_json()["errors"], dict)


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE", "PUT"])
def test_unknown_api_paths_are_404_whatever_the_method(client, method):
    response = client.open("/api/v1/nothing-here", method=method)
    assert response.status_code == 404 and response.get_json()["code"] == 404
    assert "Allow" not in response.headers


def test_known_api_paths_still_answer_405_with_allow(client):
    response = client.delete("/api/v1/auth/login")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/auth/login", {"POST", "OPTIONS"}),
        ("/api/v1/admin/areas/1", {"PATCH", "OPTIONS"}),
        ("/api/v1/sync/pull", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_allow_lists_only_the_api_methods(client, path, methods):
    """Found by schemathesis' CLI (seed 7): the PWA's catch-all GET route also matched API
    paths, so OPTIONS advertised GET on POST-only operations."""
    response = client.options(path)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed == methods


def test_get_on_a_post_only_api_path_is_405_naming_post(client):
    response = client.get("/api/v1/auth/login")
    assert response.status_code == 405 and response.get_json()["code"] == 405
    assert "GET" not in response.headers["Allow"] and "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("PATCH", "/api/v1/admin/areas/1", "admin"),
        ("PATCH", "/api/v1/admin/users/1", "admin"),
        ("POST", "/api/v1/admin/teams", "admin"),
        ("POST", "/api/v1/sync/push", "worker"),
    ],
)
def test_a_json_body_is_required_where_an_operation_takes_one(login, method, path, who):
    """Found by schemathesis' CLI: a PATCH with no body was read as {} and answered 200
    having changed nothing (the document says the body is required)."""
    caller = login(who)
    for extra in ({}, {"data": "name=X", "content_type": "text/plain"}):
        response = caller.client.open(path, method=method, headers=caller.headers, **extra)
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["errors"] == {
            "_schema": ["A JSON body is required (application/json)."]
        }


@pytest.mark.parametrize("week", ["000000000", "1000-W01", "0999-W40", "2026-W54", "3000-W01"])
@pytest.mark.parametrize("suffix", ["", ".csv", ".pdf"])
def test_weeks_outside_the_documented_pattern_are_422(login, week, suffix):
    """The pattern is in the OpenAPI document now (schemathesis' CLI sent 000000000 as a
    schema-valid week). 1000-W01 was a 500 in the CSV: its 12-week trend reached year 999,
    whose three-digit label the parser refused."""
    commissioner = login("commissioner")
    response = commissioner.get(f"/api/v1/reports/weekly{suffix}?week={week}")
    assert response.status_code == 422, response.get_data(as_text=True)[:200]
    assert list(response.get_json()["errors"]) == ["week"]


@pytest.mark.parametrize("value", [0, 1, "yes", "true", None])
def test_active_in_a_body_is_true_or_false_only(login, world, value):
    """Found by schemathesis' CLI (seed 11): {"active": 0} deactivated an area, though the
    document says boolean."""
    admin = login("admin")
    area = world.area_ids["durham"]
    response = admin.patch(f"/api/v1/admin/areas/{area}", json={"active": value})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["active"]
    areas = {a["id"]: a for a in admin.get("/api/v1/admin/areas").get_json()["items"]}
    assert areas[area]["active"] is True  # nothing changed
    assert admin.patch(f"/api/v1/admin/areas/{area}", json={"active": True}).status_code == 200
