"""The pathways endpoints' rows of the access matrix (tests/security/test_access_matrix.py).

Admins manage partnerships; workers and leads read their team's referrals and the
pathway of clients their team holds (no agreement in the matrix's world: another team's
client is a 404); leads alone see what waits too long.
"""

from __future__ import annotations

from sqlalchemy import select

from outreach.access.models import Partnership
from outreach.core.extensions import db


def pathways_rows(Call, allow, targets, team) -> dict:
    """{(method, rule): Call} for every pathways endpoint."""
    member = allow(200, "worker", "team_lead", scope={"worker": team, "team_lead": team})
    counter = iter(range(1_000_000))

    def partnership_body(ctx, t):
        return {
            "json": {
                "name": "Pathway",
                "agreement_ref": f"DSA-{next(counter)}",
                "starts_on": "2026-01-01",
                "team_ids": [ctx.team("own"), ctx.team(t)]
                if t != "own"
                else [
                    ctx.team("own"),
                    ctx.team("same_area"),
                ],
            }
        }

    def partnership_path(ctx, t):
        with ctx.app.app_context():
            p = db.session.scalars(select(Partnership).order_by(Partnership.id)).first()
        if p is None:
            ctx.client.post(
                "/api/v1/admin/partnerships",
                headers={"Authorization": f"Bearer {ctx.login('admin').access_token}"},
                **partnership_body(ctx, t),
            )
            return partnership_path(ctx, t)
        return f"/api/v1/admin/partnerships/{p.id}"

    return {
        ("GET", "/api/v1/admin/partnerships"): Call(allow(200, "admin")),
        ("POST", "/api/v1/admin/partnerships"): Call(
            allow(201, "admin"), build=partnership_body, targets=targets
        ),
        ("PATCH", "/api/v1/admin/partnerships/<int:partnership_id>"): Call(
            allow(200, "admin"),
            path=partnership_path,
            build=lambda ctx, t: {"json": {"name": "Renamed pathway"}},
        ),
        ("GET", "/api/v1/pathways/partners"): Call(allow(200, "worker", "team_lead")),
        ("GET", "/api/v1/pathways/referrals"): Call(allow(200, "worker", "team_lead")),
        ("GET", "/api/v1/pathways/waiting"): Call(allow(200, "team_lead")),
        ("GET", "/api/v1/pathways/duplicates"): Call(allow(200, "team_lead")),
        # No partner in the matrix's world: every pair is outside the lead's scope.
        ("POST", "/api/v1/pathways/duplicates"): Call(
            allow(404, "team_lead"),
            build=lambda ctx, t: {
                "json": {
                    "client_id": str(ctx.clients["own"]),
                    "other_client_id": str(ctx.clients[t if t != "own" else "same_area"]),
                    "resolution": "linked",
                }
            },
            targets=targets,
        ),
        ("GET", "/api/v1/pathways/episodes/attention"): Call(allow(200, "team_lead")),
        ("GET", "/api/v1/pathways/clients/<uuid:client_id>"): Call(
            member,
            path=lambda ctx, t: f"/api/v1/pathways/clients/{ctx.clients[t]}",
            targets=targets,
        ),
    }
