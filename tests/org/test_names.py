"""Names of areas, regions, teams, providers and users refuse control characters (a
CR/LF in an area name broke its commissioners' report emails), through the API and the
command line; the report CSV guards cells a spreadsheet would read as a formula, a
leading TAB or CR included."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from outreach.access.models import Area, Team, User
from outreach.core.extensions import db
from outreach.reports import render

BAD = ["Durham\r\nBcc: x@evil.test", "Tab\there", "Bell\x07", "Line\u2028sep"]


@pytest.mark.parametrize("bad", BAD)
def test_the_admin_api_refuses_control_characters_in_names(app, login, world, bad):
    admin = login("admin")
    posts = [
        ("/api/v1/admin/areas", {"code": "new-area", "name": bad, "region": "North"}, "name"),
        ("/api/v1/admin/areas", {"code": "new-area", "name": "N", "region": bad}, "region"),
        (
            "/api/v1/admin/teams",
            {"area_id": world.area_ids["durham"], "name": bad, "provider": "P"},
            "name",
        ),
        (
            "/api/v1/admin/teams",
            {"area_id": world.area_ids["durham"], "name": "T", "provider": bad},
            "provider",
        ),
        (
            "/api/v1/admin/users",
            {
                "email": "new@example.test",
                "name": bad,
                "role": "admin",
                "password": "a-long-unusual-passphrase-9",
            },
            "name",
        ),
    ]
    for path, body, field in posts:
        r = admin.post(path, json=body)
        assert r.status_code == 422, (path, r.get_json())
        assert field in r.get_json()["errors"]
    patches = [
        (f"/api/v1/admin/areas/{world.area_ids['durham']}", "name"),
        (f"/api/v1/admin/teams/{world.team_ids['street']}", "provider"),
        (f"/api/v1/admin/users/{world.user_ids['worker']}", "name"),
    ]
    for path, field in patches:
        assert admin.patch(path, json={field: bad}).status_code == 422, path
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Area)) == 2
        assert db.session.scalar(select(func.count()).select_from(Team)) == 3
        assert not db.session.scalar(select(func.count()).where(User.name.contains("\n")))


def test_the_command_line_refuses_control_characters_in_names(runner):
    result = runner.invoke(
        args=["outreach", "areas", "create", "cr-lf", "Bad\r\nName", "--region", "R"]
    )
    assert result.exit_code != 0 and "control characters" in result.output


def test_csv_cells_that_start_a_formula_are_quoted(monkeypatch):
    cells = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "plain", "3"]
    monkeypatch.setattr(render, "csv_rows", lambda report: [cells])
    row = next(csv.reader(io.StringIO(render.render_csv(None))))  # type: ignore[arg-type]
    assert row[:6] == ["'" + c for c in cells[:6]]
    assert row[6:] == ["plain", "3"]
