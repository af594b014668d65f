"""The pathways API: partnerships (admin), a team's referrals, a client's pathway, what
waits for a lead; diversion episodes through push."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from outreach.core.extensions import db
from outreach.pathways.models import Referral
from tests.pathways.helpers import one, pulled, refer
from tests.sync.helpers import client_data, mutation, now_iso


def test_an_admin_records_an_agreement_and_the_teams_may_refer(app, world, login):
    admin = login("admin")
    body = {
        "name": "Durham custody to street",
        "agreement_ref": "DSA-2026-07",
        "starts_on": "2026-01-01",
        "team_ids": [world.team_ids["custody"], world.team_ids["street"]],
    }
    response = admin.post("/api/v1/admin/partnerships", json=body)
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert made["in_force"] is True
    assert {t["id"] for t in made["teams"]} == set(body["team_ids"])
    again = admin.post("/api/v1/admin/partnerships", json=body)
    assert again.status_code == 409
    custody = login("custody")
    partners = custody.get("/api/v1/pathways/partners").get_json()["items"]
    assert [p["name"] for p in partners] == ["Durham Street Outreach"]
    # Ending the agreement stops referrals at once.
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    ended = admin.patch(
        f"/api/v1/admin/partnerships/{made['id']}",
        json={"ends_on": yesterday, "starts_on": "2026-01-01"},
    )
    assert ended.status_code == 200 and ended.get_json()["in_force"] is False
    assert custody.get("/api/v1/pathways/partners").get_json()["items"] == []


def test_a_partnership_joins_known_teams_in_order(app, world, login):
    admin = login("admin")
    one_team = {
        "name": "x",
        "agreement_ref": "DSA-X",
        "starts_on": "2026-02-01",
        "team_ids": [world.team_ids["street"]],
    }
    assert admin.post("/api/v1/admin/partnerships", json=one_team).status_code == 422
    unknown = {**one_team, "team_ids": [world.team_ids["street"], 99999]}
    response = admin.post("/api/v1/admin/partnerships", json=unknown)
    assert response.status_code == 422 and "team_ids" in response.get_json()["errors"]
    backwards = {
        **one_team,
        "team_ids": [world.team_ids["street"], world.team_ids["custody"]],
        "ends_on": "2026-01-01",
    }
    response = admin.post("/api/v1/admin/partnerships", json=backwards)
    assert response.status_code == 422 and "ends_on" in response.get_json()["errors"]


def test_both_teams_see_the_pathway_and_an_outsider_sees_nothing(
    agreement, world, custody, street, dorset
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    for api, direction in ((custody, "outgoing"), (street, "incoming")):
        page = api.get("/api/v1/pathways/referrals", query_string={"direction": direction})
        items = page.get_json()["items"]
        assert [r["id"] for r in items] == [str(referral_id)]
        assert items[0]["from_team"] == "Durham Custody Liaison"
        pathway = api.get(f"/api/v1/pathways/clients/{client_id}").get_json()
        assert [r["status"] for r in pathway["referrals"]] == ["sent"]
    assert dorset.get(f"/api/v1/pathways/clients/{client_id}").status_code == 404
    assert dorset.get("/api/v1/pathways/referrals").get_json()["items"] == []


def test_leads_see_referrals_waiting_past_the_set_time(app, agreement, world, custody, login):
    _, referral_id = refer(custody, world.team_ids["street"])
    lead = login("lead")
    assert lead.get("/api/v1/pathways/waiting").get_json()["items"] == []
    with app.app_context():
        hours = app.config["REFERRAL_WAIT_HOURS"] + 1
        long_ago = datetime.now(UTC) - timedelta(hours=hours)
        db.session.execute(update(Referral).values(sent_at=long_ago))
        db.session.commit()
    waiting = lead.get("/api/v1/pathways/waiting").get_json()["items"]
    assert [r["id"] for r in waiting] == [str(referral_id)]
    assert login("worker").get("/api/v1/pathways/waiting").status_code == 403


def test_a_diversion_episode_runs_from_start_to_outcome(world, custody, login):
    client_id, episode_id = uuid.uuid4(), uuid.uuid4()
    one(custody, mutation("client", client_data(), id=client_id))
    start = date.today() - timedelta(days=120)
    episode = {
        "client_id": str(client_id),
        "kind": "checkpoint",
        "started_on": start.isoformat(),
        "conditions": ["Attend an assessment", "Complete 4 sessions"],
        "navigator_id": world.user_ids["custody"],
        "next_session_on": (date.today() - timedelta(days=2)).isoformat(),
    }
    result = one(custody, mutation("episode", episode, id=episode_id))
    assert result["status"] == "applied", result
    changes, _ = pulled(custody)
    data = changes[("episode", str(episode_id))]["data"]
    assert data["planned_end_on"] > data["started_on"]  # four months by default
    # An outcome needs its end date.
    done = {**data, "outcome": "completed"}
    result = one(custody, mutation("episode", done, id=episode_id, base=1))
    assert result["errors"]["ended_on"] == ["Enter when the episode ended."]
    done["ended_on"] = date.today().isoformat()
    done["sessions"] = [(start + timedelta(days=7 * i)).isoformat() for i in range(4)]
    assert one(custody, mutation("episode", done, id=episode_id, base=1))["status"] == "applied"


def test_leads_see_episodes_due_to_end_and_sessions_overdue(app, world, login):
    street = login("worker")
    client_id = uuid.uuid4()
    one(street, mutation("client", client_data(), id=client_id))
    soon = {
        "client_id": str(client_id),
        "kind": "checkpoint",
        "started_on": (date.today() - timedelta(days=110)).isoformat(),
        "next_session_on": (date.today() + timedelta(days=3)).isoformat(),
    }
    overdue = {
        "client_id": str(client_id),
        "kind": "other_scheme",
        "started_on": date.today().isoformat(),
        "next_session_on": (date.today() - timedelta(days=1)).isoformat(),
    }
    fine = {"client_id": str(client_id), "kind": "checkpoint", "started_on": now_iso()[:10]}
    for data in (soon, overdue, fine):
        assert one(street, mutation("episode", data))["status"] == "applied"
    items = login("lead").get("/api/v1/pathways/episodes/attention").get_json()["items"]
    assert [(e["kind"], e["due_to_end"], e["session_overdue"]) for e in items] == [
        ("checkpoint", True, False),
        ("other_scheme", False, True),
    ]
