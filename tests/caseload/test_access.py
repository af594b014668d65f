"""Role and team scope of every caseload endpoint: who gets 200, 403 or 404.

Team leads of another team get 404 for this team's records (never 403 with details);
workers get 403 for lead-only actions; commissioners and admins get 403 everywhere.
"""

from __future__ import annotations

import uuid

import pytest

from outreach.core.extensions import db
from tests.caseload.conftest import add_duplicate, add_intervention, now
from tests.factories import make_clients

LEAD_ONLY_READS = [
    "/api/v1/caseload/overview",
    "/api/v1/caseload/attention",
    "/api/v1/caseload/clients",
    "/api/v1/caseload/interventions",
    "/api/v1/caseload/duplicates",
]


@pytest.mark.parametrize("path", LEAD_ONLY_READS)
@pytest.mark.parametrize(
    ("who", "status"),
    [("lead", 200), ("worker", 403), ("commissioner", 403), ("admin", 403)],
)
def test_lead_only_reads(street, login, path, who, status):
    response = login(who).get(path)
    assert response.status_code == status, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    if status == 403:
        assert response.get_json()["code"] == 403


TEAMS = {  # lead -> (team, area, worker, other members)
    "lead": ("street", "durham", "worker", ("worker2",)),
    "lead_dorset": ("dorset", "dorset", "dorset", ()),
}


@pytest.fixture
def both_teams(app, world, street, follow_up_in) -> dict[str, set[str]]:
    """In the street team and in Dorset, records each lead-only read shows: a client on the
    lead's own caseload with an intervention today and an overdue follow-up, and a pair of
    probable duplicates. Returns, by lead, the ids of their team's records."""
    shown = {}
    with app.app_context():
        for lead, (team, area, worker, _) in TEAMS.items():
            team_id, area_id = world.team_ids[team], world.area_ids[area]
            own = make_clients(team_id, area_id, 1, key_worker_id=world.user_ids[lead])[0]["id"]
            pair = [c["id"] for c in make_clients(team_id, area_id, 2)]
            iv = add_intervention(
                team_id, area_id, world.user_ids[worker], own, type_="wound_care", occurred_at=now()
            )["id"]
            add_duplicate(team_id, *pair)
            follow_up_in(own, team_id, -3)
            shown[lead] = {str(i) for i in (own, iv, *pair)}
    shown["lead"] |= {str(c) for c in street.clients + street.clients2}
    return shown


@pytest.mark.parametrize("path", [*LEAD_ONLY_READS, "/api/v1/caseload/mine"])
def test_lead_of_another_team_sees_only_their_team(both_teams, world, login, path):
    for lead, other in (("lead", "lead_dorset"), ("lead_dorset", "lead")):
        response = login(lead).get(path)
        assert response.status_code == 200, response.get_json()
        if path.endswith("/overview"):
            team, _, worker, members = TEAMS[lead]
            body = response.get_json()
            assert body["team"]["id"] == world.team_ids[team]
            assert {w["worker_id"] for w in body["workers"]} == {
                world.user_ids[u] for u in (lead, worker, *members)
            }
            continue
        body = response.get_data(as_text=True)
        # Something of their own team shows (the answer is not just empty) ...
        assert any(i in body for i in both_teams[lead]), (lead, path)
        # ... and nothing of the other team's.
        assert not [i for i in both_teams[other] if i in body], (lead, path)


def test_anonymous_gets_401(street, client):
    assert client.get("/api/v1/caseload/overview").status_code == 401
    assert client.post(f"/api/v1/clients/{street.clients[0]}/merge", json={}).status_code == 401


@pytest.mark.parametrize(
    ("who", "status"),
    [("lead", 200), ("worker", 200), ("worker2", 200), ("commissioner", 403), ("admin", 403)],
)
def test_mine_for_team_members_only(street, login, who, status):
    assert login(who).get("/api/v1/caseload/mine").status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("lead", 200),
        ("worker", 200),
        ("lead_dorset", 404),
        ("custody", 404),
        ("commissioner", 403),
        ("admin", 403),
    ],
)
def test_history_scope(street, login, who, status):
    response = login(who).get(f"/api/v1/clients/{street.clients[0]}/history")
    assert response.status_code == status
    if status == 404:
        assert str(street.clients[0]) not in response.get_data(as_text=True)


def _actions(app, street, follow_up_in):
    """(method, path, body) of every lead-only write, aimed at the street team's records."""
    with app.app_context():
        dup = add_duplicate(street.team_id, street.clients[0], street.clients[1])
    fu = follow_up_in(street.clients[0], street.team_id, 3)
    c0, c1 = street.clients[0], street.clients[1]
    assign = {"worker_id": street.worker2, "reason": "rebalance"}
    return [
        ("post", f"/api/v1/clients/{c0}/assign", assign),
        ("post", "/api/v1/caseload/assign", {**assign, "client_ids": [str(c0)]}),
        ("post", f"/api/v1/clients/{c0}/merge", {"other_client_id": str(c1)}),
        ("post", f"/api/v1/caseload/duplicates/{dup}/dismiss", None),
        ("patch", f"/api/v1/follow-ups/{fu}", {"due_on": "2030-01-02"}),
        ("post", f"/api/v1/follow-ups/{fu}/close", None),
    ]


@pytest.mark.parametrize(
    ("who", "status"),
    [("worker", 403), ("lead_dorset", 404), ("commissioner", 403), ("admin", 403)],
)
def test_writes_refused_and_nothing_changes(app, street, login, follow_up_in, who, status):
    from tests.caseload.conftest import max_seq

    actions = _actions(app, street, follow_up_in)
    with app.app_context():
        before = max_seq()
    caller = login(who)
    for method, path, body in actions:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(caller, method)(path, **kwargs)
        assert response.status_code == status, (path, response.get_json())
        text = response.get_data(as_text=True)
        assert "QJX" not in text and str(street.clients[1]) not in text
    with app.app_context():
        assert max_seq() == before


def test_lead_may_do_every_write(app, street, lead, follow_up_in):
    for method, path, body in _actions(app, street, follow_up_in):
        kwargs = {"json": body} if body is not None else {}
        response = getattr(lead, method)(path, **kwargs)
        # the dismiss after the merge of the same pair is a conflict: already merged
        expected = 409 if "/dismiss" in path else 200
        assert response.status_code == expected, (path, response.get_json())


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/clients/{other}/history",
        "/api/v1/clients/{other}/assign",
        "/api/v1/clients/{other}/merge",
        "/api/v1/clients/{own}/merge",
    ],
)
@pytest.mark.parametrize("target", ["other_team_client", "other_area_client"])
def test_lead_gets_404_for_other_teams_clients(street, lead, path, target):
    other = getattr(street, target)
    url = path.format(other=other, own=street.clients[0])
    if url.endswith("/history"):
        response = lead.get(url)
    elif url.endswith("/assign"):
        response = lead.post(url, json={"worker_id": street.worker2, "reason": "rebalance"})
    else:
        body = {"other_client_id": str(other)}
        response = lead.post(url, json=body)
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
    assert str(other) not in response.get_json()["message"]


def test_lead_gets_404_for_other_teams_follow_ups_and_duplicates(app, street, lead, world):
    from tests.factories import make_clients, make_follow_up

    with app.app_context():
        fu = make_follow_up(street.other_team_client, world.team_ids["custody"], street_day())
        extra = make_clients(world.team_ids["custody"], world.area_ids["durham"], 1)[0]["id"]
        dup = add_duplicate(world.team_ids["custody"], street.other_team_client, extra)
        db.session.commit()
    assert lead.post(f"/api/v1/follow-ups/{fu['id']}/close").status_code == 404
    assert (
        lead.patch(f"/api/v1/follow-ups/{fu['id']}", json={"due_on": "2030-01-01"}).status_code
        == 404
    )
    assert lead.post(f"/api/v1/caseload/duplicates/{dup}/dismiss").status_code == 404
    assert lead.post(f"/api/v1/follow-ups/{uuid.uuid4()}/close").status_code == 404


def street_day():
    from tests.caseload.conftest import london_today

    return london_today()


def test_assign_to_worker_of_another_team_is_404(street, lead, world):
    for other in ("custody", "dorset", "lead_dorset", "commissioner", "admin"):
        response = lead.post(
            f"/api/v1/clients/{street.clients[0]}/assign",
            json={"worker_id": world.user_ids[other], "reason": "rebalance"},
        )
        assert response.status_code == 404, other
