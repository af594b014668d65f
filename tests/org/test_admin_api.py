"""Admin API for areas, teams, users and devices."""

from __future__ import annotations

from sqlalchemy import func, select

from outreach.access.models import Area, User
from outreach.core.extensions import db


def test_admin_creates_area_team_and_users(app, login):
    admin = login("admin")
    r = admin.post(
        "/api/v1/admin/areas",
        json={"code": "cleveland", "name": "Cleveland", "region": "North East"},
    )
    assert r.status_code == 201
    area_id = r.get_json()["id"]
    r = admin.post(
        "/api/v1/admin/teams",
        json={"area_id": area_id, "name": "Teesside Outreach", "provider": "P"},
    )
    assert r.status_code == 201
    team_id = r.get_json()["id"]
    r = admin.post(
        "/api/v1/admin/users",
        json={
            "email": "New.Worker@example.test",
            "name": "New Worker",
            "role": "worker",
            "team_id": team_id,
            "password": "a-long-password",
        },
    )
    assert r.status_code == 201
    body = r.get_json()
    assert body["email"] == "new.worker@example.test" and "password" not in body
    r = admin.post(
        "/api/v1/admin/users",
        json={
            "email": "pcc@example.test",
            "name": "PCC",
            "role": "commissioner",
            "areas": ["cleveland", "durham"],
            "password": "a-long-password",
        },
    )
    assert r.status_code == 201 and r.get_json()["areas"] == ["cleveland", "durham"]
    assert admin.get("/api/v1/admin/teams").status_code == 200
    listed = admin.get("/api/v1/admin/users?role=commissioner").get_json()["items"]
    assert {u["email"] for u in listed} >= {"pcc@example.test"}


def test_duplicate_area_code_is_409_and_nothing_changes(app, login):
    admin = login("admin")
    r = admin.post(
        "/api/v1/admin/areas", json={"code": "durham", "name": "Again", "region": "North East"}
    )
    assert r.status_code == 409 and r.get_json()["errors"]["code"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Area)) == 2


def test_renaming_a_team_to_a_name_its_area_uses_is_409(login, world):
    """Found by schemathesis' CLI (seed 11): the rename reached the unique constraint and
    answered 500; creating a team with that name was already a 409."""
    admin = login("admin")
    street, custody = world.team_ids["street"], world.team_ids["custody"]
    taken = admin.get("/api/v1/admin/teams").get_json()["items"]
    street_name = next(t["name"] for t in taken if t["id"] == street)
    r = admin.patch(f"/api/v1/admin/teams/{custody}", json={"name": street_name})
    assert r.status_code == 409 and r.get_json()["errors"] == {
        "name": ["Already used in this area."]
    }
    # Its own name, and a free one, are fine.
    assert (
        admin.patch(f"/api/v1/admin/teams/{street}", json={"name": street_name}).status_code == 200
    )
    assert (
        admin.patch(f"/api/v1/admin/teams/{custody}", json={"name": "Custody 2"}).status_code == 200
    )


def test_a_duplicate_that_races_past_the_check_is_409_not_500(app):
    """Two requests can both pass a service's uniqueness check; the database's constraint
    refuses the second, which is a conflict, not a fault (a foreign key error stays a 500)."""
    import psycopg
    from sqlalchemy.exc import IntegrityError

    duplicate = IntegrityError("INSERT ...", {}, psycopg.errors.UniqueViolation("dup"))
    dangling = IntegrityError("INSERT ...", {}, psycopg.errors.ForeignKeyViolation("fk"))
    with app.test_request_context("/api/v1/admin/teams", method="POST"):
        assert app.handle_user_exception(duplicate).status_code == 409
        assert app.handle_user_exception(dangling).status_code == 500


def test_worker_without_team_is_rejected(app, login):
    admin = login("admin")
    r = admin.post(
        "/api/v1/admin/users",
        json={
            "email": "x@example.test",
            "name": "X",
            "role": "worker",
            "password": "a-long-password",
        },
    )
    assert r.status_code == 422 and "team_id" in r.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "x@example.test")) is None


def test_weak_password_and_bad_fields_rejected(login):
    admin = login("admin")
    r = admin.post(
        "/api/v1/admin/users",
        json={"email": "not-an-email", "name": "", "role": "wizard", "password": "short"},
    )
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) >= {"email", "name", "role"}
    r = admin.post(
        "/api/v1/admin/users",
        json={"email": "ok@example.test", "name": "Ok", "role": "admin", "password": "short"},
    )
    assert r.status_code == 422 and "password" in r.get_json()["errors"]


def test_unknown_area_for_commissioner_rejected(login):
    r = login("admin").post(
        "/api/v1/admin/users",
        json={
            "email": "c@example.test",
            "name": "C",
            "role": "commissioner",
            "areas": ["atlantis"],
            "password": "a-long-password",
        },
    )
    assert r.status_code == 422


def test_patch_missing_objects_is_404(login):
    admin = login("admin")
    assert admin.patch("/api/v1/admin/areas/999", json={"name": "x"}).status_code == 404
    assert admin.patch("/api/v1/admin/teams/999", json={"name": "x"}).status_code == 404
    assert admin.get("/api/v1/admin/users/999").status_code == 404


def test_non_admins_are_refused(login):
    for who in ("worker", "lead", "commissioner"):
        c = login(who)
        assert c.get("/api/v1/admin/users").status_code == 403
        assert (
            c.post(
                "/api/v1/admin/areas", json={"code": "x1", "name": "X", "region": "Y"}
            ).status_code
            == 403
        )


def test_devices_listed_and_audit_filterable(login):
    worker = login("worker")
    admin = login("admin")
    devices = admin.get(f"/api/v1/admin/devices?user_id={worker.user['id']}").get_json()
    assert [d["id"] for d in devices["items"]] == [str(worker.device_id)]
    admin.post(f"/api/v1/admin/devices/{worker.device_id}/revoke")
    audit = admin.get("/api/v1/admin/audit?action=device.revoke").get_json()
    assert audit["meta"] == {"page": 1, "per_page": 50, "total": 1}
    assert audit["items"][0]["record_id"] == str(worker.device_id)
    assert admin.get("/api/v1/admin/audit?since=yesterday").status_code == 422
