"""Push: outcomes, server-side rules, idempotence, limits (DESIGN §4, issue 3)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp, Intervention
from outreach.interventions.rules import follow_up_id_for
from outreach.people.matching import match_key
from outreach.people.models import Client, ClientDuplicate
from outreach.records.models import RecordVersion, SyncChange, SyncMutation
from tests.sync.helpers import (
    client_data,
    intervention_data,
    mutation,
    now_iso,
    push,
)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_each_entity_applied_with_version_and_seq(app, worker, world):
    c = mutation("client", client_data())
    i = mutation("intervention", intervention_data(c["id"]))
    f = mutation(
        "follow_up",
        {"client_id": c["id"], "due_on": "2030-01-01", "reason": "Check in", "assigned_to": None},
    )
    body = push(worker, [c, i, f])
    results = body["results"]
    assert [r["status"] for r in results] == ["applied"] * 3
    assert [r["mutation_id"] for r in results] == [
        c["mutation_id"],
        i["mutation_id"],
        f["mutation_id"],
    ]
    assert all(r["version"] == 1 for r in results)
    seqs = [r["server_seq"] for r in results]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    with app.app_context():
        client = db.session.get(Client, uuid.UUID(c["id"]))
        assert client.team_id == world.team_ids["street"]
        assert client.area_id == world.area_ids["durham"]
        assert client.created_by_id == world.user_ids["worker"]
        assert client.match_key == match_key("JD", client.date_of_birth, "female")
        intervention = db.session.get(Intervention, uuid.UUID(i["id"]))
        assert intervention.worker_id == world.user_ids["worker"]
        assert intervention.device_id == worker.device_id
        assert intervention.client_id == client.id
        assert db.session.get(FollowUp, uuid.UUID(f["id"])).team_id == world.team_ids["street"]
        assert count(SyncMutation) == 3
        # History from creation for the client and follow-up; an intervention's
        # version 1 is written to history by its first change.
        assert count(RecordVersion) == 2
        assert count(SyncChange) == 3


def test_forged_worker_team_area_and_match_key_are_ignored(app, worker, world):
    c = mutation(
        "client",
        client_data(team_id=world.team_ids["dorset"], area_id=999, match_key="forged"),
    )
    i = mutation(
        "intervention",
        intervention_data(
            c["id"], worker_id=world.user_ids["dorset"], team_id=world.team_ids["dorset"]
        ),
    )
    assert [r["status"] for r in push(worker, [c, i])["results"]] == ["applied", "applied"]
    with app.app_context():
        client = db.session.get(Client, uuid.UUID(c["id"]))
        assert client.team_id == world.team_ids["street"] and client.match_key != "forged"
        intervention = db.session.get(Intervention, uuid.UUID(i["id"]))
        assert intervention.worker_id == world.user_ids["worker"]
        assert intervention.team_id == world.team_ids["street"]


def test_retry_after_lost_response_is_duplicate_and_changes_nothing(app, worker):
    c = mutation("client", client_data())
    i = mutation("intervention", intervention_data(c["id"], follow_up_on="2030-01-01"))
    first = push(worker, [c, i])["results"]
    with app.app_context():
        before = {
            m.__name__: count(m)
            for m in (Client, Intervention, FollowUp, RecordVersion, SyncChange, SyncMutation)
        }
    again = push(worker, [c, i])["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    for a, b in zip(first, again, strict=True):
        assert (a["version"], a["server_seq"], a["id"]) == (b["version"], b["server_seq"], b["id"])
        assert b["original_status"] == "applied"
    # Inside a later batch, among new mutations, too.
    c2 = mutation("client", client_data(initials="AB"))
    later = push(worker, [c2, i])["results"]
    assert [r["status"] for r in later] == ["applied", "duplicate"]
    with app.app_context():
        after = {
            m.__name__: count(m)
            for m in (Client, Intervention, FollowUp, RecordVersion, SyncChange, SyncMutation)
        }
        assert after["Client"] == before["Client"] + 1
        for name in ("Intervention", "FollowUp"):
            assert after[name] == before[name]


def test_same_mutation_twice_in_one_batch(worker):
    c = mutation("client", client_data())
    results = push(worker, [c, c])["results"]
    assert [r["status"] for r in results] == ["applied", "duplicate"]
    assert results[0]["version"] == results[1]["version"]


def test_one_bad_record_among_good_ones(app, worker):
    good1 = mutation("client", client_data())
    bad = mutation("intervention", intervention_data(good1["id"], type="not_a_code"))
    good2 = mutation("intervention", intervention_data(good1["id"]))
    results = push(worker, [good1, bad, good2])["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert "type" in results[1]["errors"] and results[1]["message"]
    with app.app_context():
        assert db.session.get(Intervention, uuid.UUID(bad["id"])) is None
        assert db.session.get(Intervention, uuid.UUID(good2["id"])) is not None
        # The rejected mutation is not in the ledger: once fixed it can be sent again.
        assert db.session.get(SyncMutation, uuid.UUID(bad["mutation_id"])) is None
    bad["data"]["type"] = "wound_care"
    assert push(worker, [bad])["results"][0]["status"] == "applied"


def test_rules_future_dates_codes_quantities_and_sizes(worker):
    c = mutation("client", client_data())
    push(worker, [c])
    cid = c["id"]
    cases = {
        "occurred_at": intervention_data(cid, occurred_at=now_iso(timedelta(hours=2))),
        "type": intervention_data(cid, type="unknown"),
        "quantity": intervention_data(cid, type="naloxone_supplied", quantity=21),
        "location": intervention_data(cid, location="moon"),
        "substances": intervention_data(cid, substances=["opioids", "plutonium"]),
        "notes": intervention_data(cid, notes="x" * 2001),
        "referral_to": intervention_data(cid, type="referral_other"),
        "follow_up_on": intervention_data(None, follow_up_on="2030-01-01"),
    }
    results = push(worker, [mutation("intervention", d) for d in cases.values()])["results"]
    for (field, _), result in zip(cases.items(), results, strict=True):
        assert result["status"] == "rejected", field
        assert field in result["errors"], (field, result["errors"])
    ok = [
        intervention_data(cid, occurred_at=now_iso(timedelta(minutes=5))),  # within skew
        intervention_data(cid, type="naloxone_supplied", quantity=20),
        intervention_data(None, notes="x" * 2000),  # anonymous contact
    ]
    assert {
        r["status"] for r in push(worker, [mutation("intervention", d) for d in ok])["results"]
    } == {"applied"}
    bad_clients = [
        (client_data(initials="J"), {"initials"}),
        (client_data(date_of_birth="2999-01-01"), {"date_of_birth"}),
        (client_data(date_of_birth="1984-02-30"), {"date_of_birth"}),
        (client_data(sex="unknown"), {"sex"}),
        (client_data(postcode_district="DH1 1AA"), {"postcode_district"}),
        (client_data(known_as="x" * 41), {"known_as"}),
        ({"initials": "JD"}, {"date_of_birth", "sex", "postcode_district"}),
    ]
    results = push(worker, [mutation("client", d) for d, _ in bad_clients])["results"]
    for (_, fields), result in zip(bad_clients, results, strict=True):
        assert result["status"] == "rejected" and set(result["errors"]) == fields, result


def test_hostile_payloads(app, worker, world):
    c = mutation("client", client_data())
    push(worker, [c])
    hostile = [
        "not an object",
        None,
        [1, 2],
        {"mutation_id": "nope", "entity": "client", "op": "upsert", "id": str(uuid.uuid4())},
        mutation("client", client_data(), op="drop"),
        mutation("nuclear", {}),
        {**mutation("client", client_data()), "data": "a string"},
        {**mutation("client", client_data()), "base_version": "1"},
        mutation("client", client_data(initials=["J", "D"])),
        mutation("client", client_data(date_of_birth=19840615)),
        mutation(
            "intervention", intervention_data(c["id"], quantity="many", type="naloxone_supplied")
        ),
        mutation("intervention", intervention_data(c["id"], substances="opioids")),
        mutation("intervention", intervention_data(c["id"], occurred_at="yesterday")),
        mutation("intervention", intervention_data(c["id"], occurred_at="2026-01-01T10:00:00")),
        mutation("intervention", intervention_data(c["id"], notes="x" * 100_000)),
        mutation("intervention", {**intervention_data(None), "client_id": {"$ne": None}}),
        mutation(
            "follow_up",
            {"client_id": c["id"], "due_on": "2030-01-01", "reason": "x", "assigned_to": True},
        ),
    ]
    results = push(worker, hostile)["results"]
    assert len(results) == len(hostile)
    assert all(r["status"] == "rejected" for r in results), [
        r for r in results if r["status"] != "rejected"
    ]
    assert results[0]["mutation_id"] is None
    # The huge note is refused on its own; nothing from it is echoed back.
    assert len(json.dumps(results[14])) < 1000
    with app.app_context():
        assert count(Client) == 1 and count(Intervention) == 0


def test_oversized_single_mutation_rejected_alone(app, worker):
    small = mutation("client", client_data())
    huge = mutation("client", {**client_data(), "padding": "x" * 200_000})
    results = push(worker, [small, huge])["results"]
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert "too large" in results[1]["message"]


def test_over_limit_push_stores_nothing(app, worker):
    too_many = [mutation("client", client_data()) for _ in range(501)]
    body = push(worker, too_many, status=413)
    assert body["code"] == 413 and "500" in body["message"]
    too_big = [mutation("client", {**client_data(), "pad": "x" * 30_000}) for _ in range(40)]
    body = push(worker, too_big, status=413)
    assert body["code"] == 413
    with app.app_context():
        assert count(Client) == 0 and count(SyncMutation) == 0 and count(SyncChange) == 0


def test_envelope_errors(app, worker, monkeypatch):
    r = worker.post("/api/v1/sync/push", json={"schema_version": 1, "mutations": "x"})
    assert r.status_code == 422 and r.get_json()["errors"]
    r = worker.post("/api/v1/sync/push", json=[1, 2])
    assert r.status_code == 422
    r = worker.post("/api/v1/sync/push", data="{not json", content_type="application/json")
    assert r.status_code in (400, 422) and r.get_json()["code"] in (400, 422)
    # Versions start at 1: 0 is not a version (the document says minimum 1).
    body = push(worker, [mutation("client", client_data())], schema_version=0, status=422)
    assert list(body["errors"]) == ["schema_version"]
    # An app older than the server still reads (426: reload to update).
    monkeypatch.setitem(app.config, "SYNC_MIN_SCHEMA_VERSION", 2)
    body = push(worker, [mutation("client", client_data())], schema_version=1, status=426)
    assert body["code"] == 426 and "out of date" in body["message"]


def test_push_500_mutations_in_one_batch(app, worker):
    c = mutation("client", client_data())
    push(worker, [c])
    batch = [mutation("intervention", intervention_data(c["id"])) for _ in range(500)]
    results = push(worker, batch)["results"]
    assert len(results) == 500 and {r["status"] for r in results} == {"applied"}
    with app.app_context():
        assert count(Intervention) == 500
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "sync.create")
            )
            == 501
        )


def test_no_per_record_queries(app, worker):
    from sqlalchemy import event

    c = mutation("client", client_data())
    push(worker, [c])
    statements = []

    def count_statement(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    batch = [
        mutation("intervention", intervention_data(c["id"], follow_up_on="2030-01-01"))
        for _ in range(300)
    ]
    batch += [mutation("client", client_data(initials="AB")) for _ in range(100)]
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        results = push(worker, batch)["results"]
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    assert {r["status"] for r in results} == {"applied"}
    assert len(statements) < 30, "\n".join(s[:90] for s in statements)


def test_other_teams_ids_are_not_found(app, worker, login, world):
    dorset = login("dorset")
    theirs = mutation("client", client_data())
    their_i = mutation("intervention", intervention_data(theirs["id"]))
    push(dorset, [theirs, their_i])
    attempts = [
        mutation("client", client_data(known_as="Mine"), id=theirs["id"], base=1),
        mutation("client", op="delete", id=theirs["id"], base=1),
        mutation("intervention", intervention_data(theirs["id"])),
        mutation("intervention", intervention_data(None), id=their_i["id"], base=1),
        mutation("follow_up", {"client_id": theirs["id"], "due_on": "2030-01-01", "reason": "x"}),
        mutation("client", client_data(key_worker_id=world.user_ids["dorset"])),
    ]
    results = push(worker, attempts)["results"]
    assert all(r["status"] == "rejected" for r in results)
    messages = json.dumps([r["errors"] for r in results])
    assert "in your team" in messages
    assert "Dorset" not in messages and "JD" not in messages
    with app.app_context():
        client = db.session.get(Client, uuid.UUID(theirs["id"]))
        assert client.known_as == "Jo" and client.deleted_at is None and client.version == 1


def test_follow_up_made_from_intervention_once(app, worker):
    c = mutation("client", client_data())
    i = mutation("intervention", intervention_data(c["id"], follow_up_on="2030-01-06"))
    push(worker, [c, i])
    push(worker, [i])
    fid = follow_up_id_for(i["id"])
    with app.app_context():
        follow_up = db.session.get(FollowUp, fid)
        assert follow_up is not None and str(follow_up.due_on) == "2030-01-06"
        assert follow_up.intervention_id == uuid.UUID(i["id"])
        assert count(FollowUp) == 1
    # Editing the date moves the open follow-up; no second one.
    edit = mutation(
        "intervention", intervention_data(c["id"], follow_up_on="2030-02-01"), id=i["id"], base=1
    )
    assert push(worker, [edit])["results"][0]["status"] == "applied"
    with app.app_context():
        assert count(FollowUp) == 1
        assert str(db.session.get(FollowUp, fid).due_on) == "2030-02-01"
    # The phone completes it offline with its own follow-up: the server's one goes.
    done = mutation(
        "follow_up",
        {
            "client_id": c["id"],
            "intervention_id": i["id"],
            "due_on": "2030-02-01",
            "reason": "Follow up",
            "done_at": now_iso(),
        },
    )
    assert push(worker, [done])["results"][0]["status"] == "applied"
    with app.app_context():
        assert db.session.get(FollowUp, fid).deleted_at is not None
        assert db.session.get(FollowUp, uuid.UUID(done["id"])).done_at is not None


def test_probable_duplicates_linked(app, worker, worker2, world):
    from outreach.people.service import list_probable_duplicates

    a = mutation("client", client_data(initials="jd", known_as="Jo"))
    b = mutation("client", client_data(known_as="Jojo"))
    other = mutation("client", client_data(initials="XY"))
    push(worker, [a])
    push(worker2, [b, other])
    with app.app_context():
        assert count(Client) == 3
        links = db.session.scalars(select(ClientDuplicate)).all()
        assert len(links) == 1
        assert {links[0].client_id, links[0].other_client_id} == {
            uuid.UUID(a["id"]),
            uuid.UUID(b["id"]),
        }
        listed = list_probable_duplicates(world.team_ids["street"])
        assert len(listed) == 1 and {
            listed[0]["client"]["id"],
            listed[0]["other_client"]["id"],
        } == {
            a["id"],
            b["id"],
        }
        assert list_probable_duplicates(world.team_ids["dorset"]) == []
    # The same person in another team is not a duplicate of ours.


def test_audit_per_applied_mutation_without_personal_data(app, worker):
    c = mutation("client", client_data(initials="QZ", known_as="Secretname"))
    i = mutation("intervention", intervention_data(c["id"], notes="private note"))
    push(worker, [c, i, mutation("client", client_data(initials="1"))])
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        creates = [e for e in events if e.action == "sync.create"]
        assert {e.record_id for e in creates} == {c["id"], i["id"]}
        assert all(e.device_id == worker.device_id for e in creates)
        summary = [e for e in events if e.action == "sync.push"]
        assert summary[0].detail["applied"] == 2 and summary[0].detail["rejected"] == 1
        text = json.dumps([e.detail for e in events])
        assert "QZ" not in text and "Secretname" not in text and "private" not in text


def test_device_last_sync_recorded(app, worker):
    from outreach.access.models import Device

    push(worker, [mutation("client", client_data())])
    with app.app_context():
        assert db.session.get(Device, worker.device_id).last_sync_at is not None


def test_cache_control_no_store(worker):
    r = worker.post("/api/v1/sync/push", json={"schema_version": 1, "mutations": []})
    assert r.status_code == 200 and "no-store" in r.headers["Cache-Control"]
    r = worker.get("/api/v1/sync/pull")
    assert "no-store" in r.headers["Cache-Control"]


def test_roles(client, login):
    for who in ("commissioner", "admin"):
        api = login(who)
        assert (
            api.post("/api/v1/sync/push", json={"schema_version": 1, "mutations": []}).status_code
            == 403
        )
        assert api.get("/api/v1/sync/pull").status_code == 403
    assert client.get("/api/v1/sync/pull").status_code == 401
    assert client.post("/api/v1/sync/push", json={}).status_code == 401
    lead = login("lead")
    assert push(lead, [mutation("client", client_data())])["results"][0]["status"] == "applied"


def test_revoked_device(app, worker, world):
    from outreach.auth.service import revoke_device

    with app.app_context():
        revoke_device(worker.device_id, actor_id=world.user_ids["admin"])
    r = worker.post("/api/v1/sync/push", json={"schema_version": 1, "mutations": []})
    assert r.status_code == 401 and r.get_json()["code"] == "device_revoked"
    r = worker.get("/api/v1/sync/pull")
    assert r.status_code == 401 and r.get_json()["code"] == "device_revoked"


def test_deeply_nested_body_is_refused_cleanly(worker):
    body = '{"schema_version": 1, "mutations": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    r = worker.post("/api/v1/sync/push", data=body, content_type="application/json")
    assert r.status_code == 400 and r.get_json()["code"] == 400


def _raw_push(api, mutations):
    """A push body written by the standard library: a lone surrogate travels as the
    escape \\ud83d, which is valid JSON text."""
    import json

    body = json.dumps(
        {"device_id": str(api.device_id), "schema_version": 1, "mutations": mutations}
    )
    headers = {**api.headers, "Content-Type": "application/json"}
    return api.client.post("/api/v1/sync/push", data=body, headers=headers)


def test_half_an_emoji_rejects_that_mutation_not_the_push(worker):
    """A phone that cut an emoji in half must not block its whole outbox with a 500."""
    good = mutation("intervention", intervention_data())
    bad = mutation("intervention", intervention_data(notes="half an emoji \ud83d"))
    r = _raw_push(worker, [good, bad])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    results = r.get_json()["results"]
    assert [x["status"] for x in results] == ["applied", "rejected"]
    assert "notes" in results[1]["errors"]


def test_an_id_with_half_an_emoji_is_rejected_in_a_readable_answer(worker):
    odd = mutation("intervention", intervention_data())
    odd["id"] = "\udc00"
    r = _raw_push(worker, [odd])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    result = r.get_json()["results"][0]
    assert result["status"] == "rejected" and "id" in result["errors"]
    # Named by its mutation id; the broken id is not sent back.
    assert result["mutation_id"] == odd["mutation_id"] and result["id"] is None
    assert "\\udc00" not in r.get_data(as_text=True)


def test_a_sync_after_a_quiet_spell_moves_the_last_sync_on(app, worker):
    """Last sync is written at most once a minute: a burst writes it once, but a sync
    after longer (or after a clock that ran ahead) records the new time."""
    from datetime import UTC, datetime, timedelta

    from outreach.access.models import Device

    push(worker, [mutation("client", client_data())])
    with app.app_context():
        first = db.session.get(Device, worker.device_id).last_sync_at
    push(worker, [mutation("client", client_data())])
    with app.app_context():
        assert db.session.get(Device, worker.device_id).last_sync_at == first  # same burst
    for stale in (timedelta(hours=-2), timedelta(hours=3)):
        with app.app_context():
            device = db.session.get(Device, worker.device_id)
            device.last_sync_at = datetime.now(UTC) + stale
            db.session.commit()
        push(worker, [mutation("client", client_data())])
        with app.app_context():
            got = db.session.get(Device, worker.device_id).last_sync_at
            assert abs(got - datetime.now(UTC)) < timedelta(minutes=1)
