"""`flask outreach ...` commands."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from outreach.access.models import Area, Team, User
from outreach.access.passwords import verify_password
from outreach.audit.models import AuditEvent
from outreach.core.extensions import db


def test_create_area_team_and_user_from_stdin(app, runner):
    assert (
        runner.invoke(
            args=["outreach", "areas", "create", "durham", "Durham", "--region", "North East"]
        ).exit_code
        == 0
    )
    r = runner.invoke(
        args=[
            "outreach",
            "teams",
            "create",
            "Durham Street Outreach",
            "--area",
            "durham",
            "--provider",
            "NERP",
        ]
    )
    assert r.exit_code == 0, r.output
    with app.app_context():
        team_id = db.session.scalar(select(Team.id))
    r = runner.invoke(
        args=[
            "outreach",
            "users",
            "create",
            "w@example.test",
            "--name",
            "W",
            "--role",
            "worker",
            "--team",
            str(team_id),
            "--password-stdin",
        ],
        input="a-long-password\n",
    )
    assert r.exit_code == 0, r.output
    assert "a-long-password" not in r.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "w@example.test"))
        assert verify_password(user.password_hash, "a-long-password")
        assert db.session.scalar(select(func.count()).select_from(Area)) == 1


def test_create_user_prompts_for_password(app, runner, world):
    r = runner.invoke(
        args=[
            "outreach",
            "users",
            "create",
            "p@example.test",
            "--name",
            "P",
            "--role",
            "commissioner",
            "--area",
            "durham",
        ],
        input="a-long-password\na-long-password\n",
    )
    assert r.exit_code == 0, r.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "p@example.test"))
        assert [a.code for a in user.commissioner_areas] == ["durham"]


def test_cli_errors_are_clear(runner, world):
    r = runner.invoke(
        args=[
            "outreach",
            "users",
            "create",
            "x@example.test",
            "--name",
            "X",
            "--role",
            "worker",
            "--password-stdin",
        ],
        input="a-long-password\n",
    )
    assert r.exit_code != 0 and "team" in r.output.lower()
    r = runner.invoke(args=["outreach", "devices", "revoke", "nope"])
    assert r.exit_code != 0 and "UUID" in r.output
    r = runner.invoke(args=["outreach", "devices", "revoke", str(uuid.uuid4())])
    assert r.exit_code != 0 and "No such device" in r.output


def test_devices_revoke(app, runner, login):
    worker = login("worker")
    r = runner.invoke(args=["outreach", "devices", "revoke", str(worker.device_id)])
    assert r.exit_code == 0, r.output
    me = worker.get("/api/v1/me")
    assert me.status_code == 401 and me.get_json()["code"] == "device_revoked"
    listed = runner.invoke(args=["outreach", "devices", "list"]).output
    assert str(worker.device_id) in listed and "revoked" in listed
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "device.revoke")
            )
            == 1
        )
