"""The caseload endpoints' rows of the access matrix (tests/security/test_access_matrix.py).

Kept here, next to the slice, so the matrix file only merges them in. Team leads act on
their own team's records (other teams: 404); workers read their own caseload and their
team's client histories; every other role gets 403.
"""

from __future__ import annotations

from outreach.core.extensions import db
from outreach.people.models import ClientDuplicate
from tests.factories import make_clients


def _extra_client(ctx, target: str):
    """A new client of the target's team (merged or linked by the call)."""
    with ctx.app.app_context():
        return make_clients(ctx.team(target), ctx.area(target), 1)[0]["id"]


def _duplicate(ctx, target: str) -> int:
    other = _extra_client(ctx, target)
    with ctx.app.app_context():
        dup = ClientDuplicate(
            team_id=ctx.team(target), client_id=ctx.clients[target], other_client_id=other
        )
        db.session.add(dup)
        db.session.commit()
        return dup.id


def caseload_rows(Call, allow, targets, team) -> dict:
    """{(method, rule): Call} for every caseload endpoint."""
    lead = allow(200, "team_lead", scope={"team_lead": team})
    member = allow(200, "worker", "team_lead", scope={"worker": team, "team_lead": team})

    def assign_body(ctx, t):
        return {"json": {"worker_id": ctx.user("own"), "reason": "rebalance"}}

    return {
        ("GET", "/api/v1/caseload/overview"): Call(allow(200, "team_lead")),
        ("GET", "/api/v1/caseload/attention"): Call(allow(200, "team_lead")),
        ("GET", "/api/v1/caseload/clients"): Call(allow(200, "team_lead")),
        ("GET", "/api/v1/caseload/interventions"): Call(allow(200, "team_lead")),
        ("GET", "/api/v1/caseload/mine"): Call(allow(200, "worker", "team_lead")),
        ("GET", "/api/v1/caseload/duplicates"): Call(allow(200, "team_lead")),
        ("GET", "/api/v1/clients/<uuid:client_id>/history"): Call(
            member, path=lambda ctx, t: f"/api/v1/clients/{ctx.clients[t]}/history", targets=targets
        ),
        ("POST", "/api/v1/clients/<uuid:client_id>/assign"): Call(
            lead,
            path=lambda ctx, t: f"/api/v1/clients/{ctx.clients[t]}/assign",
            build=assign_body,
            targets=targets,
        ),
        ("POST", "/api/v1/caseload/assign"): Call(
            lead,
            build=lambda ctx, t: {
                "json": {**assign_body(ctx, t)["json"], "client_ids": [str(ctx.clients[t])]}
            },
            targets=targets,
        ),
        ("POST", "/api/v1/clients/<uuid:client_id>/merge"): Call(
            lead,
            path=lambda ctx, t: f"/api/v1/clients/{ctx.clients[t]}/merge",
            build=lambda ctx, t: {"json": {"other_client_id": str(_extra_client(ctx, t))}},
            targets=targets,
        ),
        ("POST", "/api/v1/caseload/duplicates/<int:duplicate_id>/dismiss"): Call(
            lead,
            path=lambda ctx, t: f"/api/v1/caseload/duplicates/{_duplicate(ctx, t)}/dismiss",
            targets=targets,
        ),
        ("POST", "/api/v1/follow-ups/<uuid:follow_up_id>/close"): Call(
            lead,
            path=lambda ctx, t: f"/api/v1/follow-ups/{ctx.follow_ups[t]}/close",
            targets=targets,
        ),
        ("PATCH", "/api/v1/follow-ups/<uuid:follow_up_id>"): Call(
            lead,
            path=lambda ctx, t: f"/api/v1/follow-ups/{ctx.follow_ups[t]}",
            build=lambda ctx, t: {"json": {"due_on": "2030-01-02"}},
            targets=targets,
        ),
    }
