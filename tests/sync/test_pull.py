"""Pull: first pull, incremental cursors, paging, scope and removals (DESIGN §4)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

from sqlalchemy import select

from outreach.access.models import Device, User
from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from outreach.core.types import utcnow
from tests.factories import make_clients, make_interventions
from tests.sync.helpers import (
    client_data,
    intervention_data,
    move_client,
    mutation,
    pull,
    pull_all,
    push,
    replay,
    server_scope,
)


def test_first_pull_returns_scope_reference_and_cursor(app, worker, login, world):
    c = mutation("client", client_data())
    i = mutation("intervention", intervention_data(c["id"], follow_up_on="2030-01-01"))
    push(worker, [c, i])
    push(login("dorset"), [mutation("client", client_data(initials="ZZ"))])
    page = pull(login("worker2"))
    assert page["has_more"] is False
    kinds = sorted((ch["entity"], ch["op"]) for ch in page["changes"])
    assert kinds == [("client", "upsert"), ("follow_up", "upsert"), ("intervention", "upsert")]
    by_entity = {ch["entity"]: ch for ch in page["changes"]}
    data = by_entity["client"]["data"]
    assert data["initials"] == "JD" and data["version"] == 1 and "match_key" not in data
    assert by_entity["intervention"]["data"]["worker_id"] == world.user_ids["worker"]
    assert by_entity["follow_up"]["data"]["assigned_to"] == world.user_ids["worker"]
    ref = page["reference"]
    assert {t["code"] for t in ref["codes"]["intervention_types"]} >= {"naloxone_supplied"}
    assert {w["id"] for w in ref["workers"]} == {
        world.user_ids[k] for k in ("lead", "worker", "worker2")
    }
    assert ref["team"]["id"] == world.team_ids["street"]
    assert re.fullmatch(r"[0-9]+\.t[0-9]+", page["cursor"])
    # Nothing new: an empty page, same or later cursor, no reference data.
    again = pull(worker, page["cursor"])
    assert again["changes"] == [] and "reference" not in again and not again["has_more"]


def test_own_pushes_come_back_with_server_seq(worker):
    _, cursor = pull_all(worker)
    c = mutation("client", client_data())
    result = push(worker, [c])["results"][0]
    changes, _ = pull_all(worker, cursor)
    assert [(ch["id"], ch["server_seq"], ch["version"]) for ch in changes] == [
        (c["id"], result["server_seq"], 1)
    ]


def test_incremental_paging_collapses_and_matches_server(app, worker, worker2, world):
    _, cursor = pull_all(worker2)
    c = mutation("client", client_data())
    push(worker, [c])
    for n in range(2, 6):
        push(worker, [mutation("client", client_data(known_as=f"v{n}"), id=c["id"], base=n - 1)])
    batch = [mutation("client", client_data(initials="AB", known_as=str(n))) for n in range(7)]
    push(worker, batch)
    changes, cursor2 = pull_all(worker2, cursor, limit=3)
    ids = [ch["id"] for ch in changes]
    seqs = [ch["server_seq"] for ch in changes]
    assert sorted(set(ids)) == sorted({c["id"]} | {m["id"] for m in batch})
    assert seqs == sorted(seqs)
    store = replay(changes)
    assert store[("client", c["id"])]["known_as"] == "v5"
    assert store == server_scope(app, world.team_ids["street"])
    assert int(cursor2.split(".")[0]) >= int(cursor.split(".")[0])


def test_first_pull_paged_is_stable_and_complete(app, worker, world):
    with app.app_context():
        rows = make_clients(world.team_ids["street"], world.area_ids["durham"], 23)
        make_interventions(
            world.team_ids["street"],
            world.area_ids["durham"],
            world.user_ids["worker"],
            9,
            client_ids=[r["id"] for r in rows],
        )
    changes, _cursor = pull_all(worker, limit=4)
    assert len(changes) == 32 and len({ch["id"] for ch in changes}) == 32
    assert replay(changes) == server_scope(app, world.team_ids["street"])
    # Changes during a paged first pull arrive afterwards.
    first = pull(worker, limit=5)
    push(worker, [mutation("client", client_data(initials="NEW"[:3]))])
    rest, _ = pull_all(worker, first["cursor"], limit=5)
    assert replay(first["changes"] + rest) == server_scope(app, world.team_ids["street"])


def test_first_pull_says_how_much_is_coming(app, worker, world):
    """A paged first pull's first page gives the count of each entity it will send (the
    phone's "1,000 of 5,000 clients"); later pages and single-page pulls do not."""
    with app.app_context():
        rows = make_clients(world.team_ids["street"], world.area_ids["durham"], 7)
        make_interventions(
            world.team_ids["street"],
            world.area_ids["durham"],
            world.user_ids["worker"],
            5,
            client_ids=[r["id"] for r in rows],
        )
    first = pull(worker, limit=4)
    changes, _ = pull_all(worker, first["cursor"], limit=4)
    changes += first["changes"]
    sent: dict[str, int] = {}
    for ch in changes:
        sent[ch["entity"]] = sent.get(ch["entity"], 0) + 1
    assert first["totals"] == {**dict.fromkeys(first["totals"], 0), **sent}
    assert first["totals"]["client"] == 7 and first["totals"]["intervention"] == 5
    assert "totals" not in pull(worker, first["cursor"], limit=4)
    assert "totals" not in pull(worker, limit=1000)


def test_old_interventions_and_other_teams_are_out_of_scope(app, worker, world):
    with app.app_context():
        street = (world.team_ids["street"], world.area_ids["durham"], world.user_ids["worker"])
        old = make_interventions(*street, 1, occurred_at=utcnow() - timedelta(days=120))
        recent = make_interventions(*street, 1, occurred_at=utcnow() - timedelta(days=3))
        ours = make_clients(world.team_ids["street"], world.area_ids["durham"], 1)
        theirs = make_clients(world.team_ids["dorset"], world.area_ids["dorset"], 2)
    changes, _ = pull_all(worker)
    ids = {ch["id"] for ch in changes}
    assert ids == {str(recent[0]["id"]), str(ours[0]["id"])}
    assert str(old[0]["id"]) not in ids
    assert not ids & {str(r["id"]) for r in theirs}


def test_scope_removal_after_reassignment(app, worker, login, world):
    custody = login("custody")
    c = mutation("client", client_data())
    i = mutation("intervention", intervention_data(c["id"], follow_up_on="2030-01-01"))
    push(worker, [c, i])
    _, street_cursor = pull_all(worker)
    _, custody_cursor = pull_all(custody)
    with app.app_context():
        move_client(uuid.UUID(c["id"]), world.team_ids["custody"], world.area_ids["durham"])
    changes, _ = pull_all(worker, street_cursor)
    ops = {(ch["entity"], ch["op"]) for ch in changes}
    assert ("client", "remove") in ops and ("follow_up", "remove") in ops
    assert all(ch["op"] == "remove" and "data" not in ch for ch in changes)
    gained, _ = pull_all(custody, custody_cursor)
    assert {(ch["entity"], ch["op"]) for ch in gained} == {
        ("client", "upsert"),
        ("follow_up", "upsert"),
    }
    # The old team can no longer edit it.
    r = push(worker, [mutation("client", client_data(known_as="x"), id=c["id"], base=2)])
    assert r["results"][0]["status"] == "rejected"


def test_pull_args_validation(worker):
    for bad in ({"limit": 0}, {"limit": 1001}, {"cursor": "abc"}, {"cursor": "snap:1:9:0:x"}):
        r = worker.get("/api/v1/sync/pull", query_string=bad)
        assert r.status_code == 422, bad
        assert r.get_json()["errors"]
    # A cursor from the future (a restored database) starts again from scratch, without
    # a 422: the phone keeps what the restored server lacks.
    c = mutation("client", client_data())
    push(worker, [c])
    _, cursor = pull_all(worker)
    assert pull(worker, cursor)["changes"] == []  # up to date ...
    team = cursor.split(".t")[1]
    page = pull(worker, f"999999.t{team}")
    # ... yet from a cursor ahead of the server, the whole scope again.
    assert [ch["id"] for ch in page["changes"]] == [c["id"]]
    assert "reference" not in page and page["has_more"] is False
    # A cursor from before cursors named their team: pull again without one.
    r = worker.get("/api/v1/sync/pull", query_string={"cursor": "5"})
    assert r.status_code == 422 and "older version" in r.get_json()["errors"]["cursor"][0]


def test_a_worker_moved_to_another_team_must_pull_afresh(app, world, login):
    with app.app_context():
        custody_client = make_clients(world.team_ids["custody"], world.area_ids["durham"], 1)[0]
    worker = login("worker")
    _, cursor = pull_all(worker)
    assert cursor.endswith(f".t{world.team_ids['street']}")
    with app.app_context():
        user = db.session.get(User, world.user_ids["worker"])
        user.team_id = world.team_ids["custody"]
        db.session.commit()
    r = worker.get("/api/v1/sync/pull", query_string={"cursor": cursor})
    assert r.status_code == 422 and "another team" in r.get_json()["errors"]["cursor"][0]
    # Without a cursor: the new team's whole scope, then incremental in its order.
    changes, fresh = pull_all(worker)
    assert str(custody_client["id"]) in {c["id"] for c in changes}
    assert fresh.endswith(f".t{world.team_ids['custody']}")
    assert pull(worker, fresh)["changes"] == []


def test_pull_is_audited_per_batch_without_personal_data(app, worker):
    push(worker, [mutation("client", client_data(initials="QZ", known_as="Secret"))])
    pull_all(worker)
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sync.pull")
        ).all()
        assert len(events) == 1 and events[0].detail["count"] == 1
        assert events[0].device_id == worker.device_id
        assert "QZ" not in json.dumps(events[0].detail) and "Secret" not in json.dumps(
            events[0].detail
        )
        assert db.session.get(Device, worker.device_id).last_sync_at is not None
