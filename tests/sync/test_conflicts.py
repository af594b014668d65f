"""Stale edits, deletes and late edits, merged-client redirects, the savepoint
fallback (DESIGN §4 conflict rule)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from outreach.core.extensions import db
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client
from outreach.records.history import write_history
from outreach.records.models import RecordVersion
from outreach.records.registry import serialize
from tests.sync.helpers import (
    client_data,
    intervention_data,
    mutation,
    now_iso,
    pull_all,
    push,
)


def history(entity: str, record_id) -> list[RecordVersion]:
    return db.session.scalars(
        select(RecordVersion)
        .where(RecordVersion.entity == entity, RecordVersion.record_id == uuid.UUID(str(record_id)))
        .order_by(RecordVersion.version)
    ).all()


def test_stale_client_edit_server_wins_conflicting_fields(app, worker, worker2):
    c = mutation("client", client_data(known_as="Jo", postcode_district="DH1"))
    push(worker, [c])
    # Phone A edits known_as; phone B (still at version 1) edits known_as and postcode.
    a = mutation("client", client_data(known_as="Joanne"), id=c["id"], base=1)
    assert push(worker, [a])["results"][0]["version"] == 2
    b = mutation(
        "client", client_data(known_as="Jojo", postcode_district="DH7"), id=c["id"], base=1
    )
    result = push(worker2, [b])["results"][0]
    assert result["status"] == "conflict" and result["version"] == 3
    merged = result["record"]["data"]
    assert merged["known_as"] == "Joanne"  # both changed: the server keeps its value
    assert merged["postcode_district"] == "DH7"  # only B changed it: B's value
    assert (
        result["record"]["version"] == 3 and result["record"]["server_seq"] == result["server_seq"]
    )
    with app.app_context():
        rows = history("client", c["id"])
        assert [r.version for r in rows] == [1, 2, 3]
        assert [r.reason for r in rows] == ["create", "edit", "conflict"]
        assert rows[2].losing == {"from": "device", "values": {"known_as": "Jojo"}}
        assert rows[2].data["known_as"] == "Joanne" and rows[2].data["postcode_district"] == "DH7"
        client = db.session.get(Client, uuid.UUID(c["id"]))
        assert (client.known_as, client.postcode_district, client.version) == ("Joanne", "DH7", 3)


def test_stale_edit_of_other_fields_merges_cleanly(worker, worker2):
    c = mutation("client", client_data(known_as="Jo"))
    push(worker, [c])
    push(worker, [mutation("client", client_data(known_as="Joanne"), id=c["id"], base=1)])
    b = mutation("client", client_data(known_as="Jo", postcode_district="DH7"), id=c["id"], base=1)
    result = push(worker2, [b])["results"][0]
    # Nothing was lost, but the stored record differs from B's: B must be told.
    assert result["status"] == "conflict"
    assert result["record"]["data"]["known_as"] == "Joanne"
    assert result["record"]["data"]["postcode_district"] == "DH7"


def test_current_edit_is_applied(worker):
    c = mutation("client", client_data())
    push(worker, [c])
    r = push(worker, [mutation("client", client_data(known_as="Jay"), id=c["id"], base=1)])
    assert r["results"][0]["status"] == "applied" and "record" not in r["results"][0]


def test_stale_intervention_edit_later_occurred_at_wins(app, worker, worker2):
    c = mutation("client", client_data())
    t0 = now_iso(-timedelta(hours=5))
    i = mutation("intervention", intervention_data(c["id"], occurred_at=t0, notes="first"))
    push(worker, [c, i])
    # The server's edit moves the contact earlier; the late phone's edit is later.
    earlier = now_iso(-timedelta(hours=6))
    push(
        worker,
        [
            mutation(
                "intervention",
                intervention_data(c["id"], occurred_at=earlier, notes="server"),
                id=i["id"],
                base=1,
            )
        ],
    )
    later = now_iso(-timedelta(hours=4))
    b = mutation(
        "intervention",
        intervention_data(c["id"], occurred_at=later, notes="phone"),
        id=i["id"],
        base=1,
    )
    result = push(worker2, [b])["results"][0]
    # Same record, the phone's occurred_at is later: the phone's values win.
    assert result["status"] == "applied", result
    with app.app_context():
        row = db.session.get(Intervention, uuid.UUID(i["id"]))
        assert row.notes == "phone"
        last = history("intervention", i["id"])[-1]
        assert last.losing["from"] == "server" and last.losing["values"]["notes"] == "server"
    # And an even staler edit with an earlier time loses.
    c2 = mutation(
        "intervention",
        intervention_data(c["id"], occurred_at=now_iso(-timedelta(hours=7)), notes="old phone"),
        id=i["id"],
        base=1,
    )
    result = push(worker2, [c2])["results"][0]
    assert result["status"] == "conflict"
    assert result["record"]["data"]["notes"] == "phone"
    with app.app_context():
        last = history("intervention", i["id"])[-1]
        assert last.losing == {
            "from": "device",
            "values": {"occurred_at": last.losing["values"]["occurred_at"], "notes": "old phone"},
        }


def test_stale_intervention_edit_merges_against_version_one(app, worker, worker2):
    """Creating an intervention writes no history row; its first change must keep
    version 1's data, or a phone's edit based on version 1 could not be merged."""
    t0 = now_iso(-timedelta(hours=2))
    i = mutation("intervention", intervention_data(occurred_at=t0, notes="first"))
    push(worker, [i])
    with app.app_context():
        assert history("intervention", i["id"]) == []
    second = intervention_data(occurred_at=t0, notes="first", location="hostel")
    push(worker, [mutation("intervention", second, id=i["id"], base=1)])
    third = dict(second, substances=["crack"])
    push(worker, [mutation("intervention", third, id=i["id"], base=2)])
    mine = intervention_data(occurred_at=t0, notes="phone")  # edited version 1's notes only
    result = push(worker2, [mutation("intervention", mine, id=i["id"], base=1)])["results"][0]
    assert result["status"] == "conflict", result
    merged = result["record"]["data"]
    assert (merged["notes"], merged["location"], merged["substances"]) == (
        "phone",
        "hostel",
        ["crack"],
    )
    with app.app_context():
        rows = history("intervention", i["id"])
        assert [(r.version, r.reason) for r in rows] == [
            (1, "create"),
            (2, "edit"),
            (3, "edit"),
            (4, "edit"),
        ]
        assert rows[0].data["notes"] == "first" and rows[0].data["location"] == "street"
        assert rows[0].actor_id == rows[1].actor_id


def test_delete_is_soft_and_syncs_as_remove(app, worker, worker2):
    c = mutation("client", client_data())
    push(worker, [c])
    _changes, cursor = pull_all(worker2)
    result = push(worker, [mutation("client", op="delete", id=c["id"], base=1)])["results"][0]
    assert result["status"] == "applied" and result["version"] == 2
    with app.app_context():
        assert db.session.get(Client, uuid.UUID(c["id"])).deleted_at is not None
        assert history("client", c["id"])[-1].reason == "delete"
    changes, _ = pull_all(worker2, cursor)
    assert [(ch["op"], ch["id"]) for ch in changes] == [("remove", c["id"])]
    # Deleting again is a no-op.
    again = push(worker, [mutation("client", op="delete", id=c["id"], base=2)])["results"][0]
    assert again["status"] == "applied" and again["version"] == 2


def test_delete_then_late_edit_keeps_it_deleted(app, worker, worker2):
    c = mutation("client", client_data())
    i = mutation("intervention", intervention_data(c["id"], notes="before"))
    push(worker, [c, i])
    _, cursor = pull_all(worker2)
    push(worker, [mutation("intervention", op="delete", id=i["id"], base=1)])
    late = mutation(
        "intervention", intervention_data(c["id"], notes="late edit"), id=i["id"], base=1
    )
    result = push(worker2, [late])["results"][0]
    assert result["status"] == "conflict"
    assert result["record"]["deleted"] is True and result["record"]["data"]["deleted_at"]
    assert result["version"] == 3
    with app.app_context():
        row = db.session.get(Intervention, uuid.UUID(i["id"]))
        assert row.deleted_at is not None and row.notes == "before"
        last = history("intervention", i["id"])[-1]
        assert last.reason == "conflict" and last.losing["values"]["notes"] == "late edit"
    changes, _ = pull_all(worker2, cursor)
    assert [(ch["op"], ch["id"]) for ch in changes] == [("remove", i["id"])]


def test_deleting_client_deletes_open_follow_ups(app, worker):
    c = mutation("client", client_data())
    i = mutation("intervention", intervention_data(c["id"], follow_up_on="2030-01-01"))
    push(worker, [c, i])
    push(worker, [mutation("client", op="delete", id=c["id"], base=1)])
    with app.app_context():
        follow_ups = db.session.scalars(select(FollowUp)).all()
        assert len(follow_ups) == 1 and follow_ups[0].deleted_at is not None
    # A new intervention for the deleted client is refused.
    r = push(worker, [mutation("intervention", intervention_data(c["id"]))])["results"][0]
    assert r["status"] == "rejected" and "client_id" in r["errors"]


def test_reference_to_merged_client_is_redirected(app, worker):
    keep, gone = _merged_pair(app, worker)
    i = mutation("intervention", intervention_data(gone["id"]))
    result = push(worker, [i])["results"][0]
    assert result["status"] == "conflict"
    assert result["record"]["data"]["client_id"] == keep["id"]
    with app.app_context():
        assert db.session.get(Intervention, uuid.UUID(i["id"])).client_id == uuid.UUID(keep["id"])


def test_database_refusal_falls_back_to_one_savepoint_per_mutation(app, worker, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from outreach.sync import push as push_module

    real = push_module.write_plan
    calls = {"n": 0}

    def flaky(plan):
        calls["n"] += 1
        real(plan)
        new_clients = plan.uow.new.get("client", {})
        if any(plan.uow.rows["client"][i]["known_as"] == "boom" for i in new_clients):
            raise IntegrityError("forced", {}, Exception("forced"))

    monkeypatch.setattr(push_module, "write_plan", flaky)
    good = mutation("client", client_data(known_as="fine"))
    bad = mutation("client", client_data(known_as="boom"))
    good2 = mutation("client", client_data(known_as="also fine"))
    results = push(worker, [good, bad, good2])["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert calls["n"] == 4
    with app.app_context():
        names = set(db.session.scalars(select(Client.known_as)))
        assert names == {"fine", "also fine"}


def test_stale_edit_keeps_servers_follow_up_date_without_a_second_follow_up(app, worker, worker2):
    c = mutation("client", client_data())
    i = mutation("intervention", intervention_data(c["id"]))
    push(worker, [c, i])
    # The server's version gains a follow-up date; a stale phone edits the notes only.
    push(
        worker,
        [
            mutation(
                "intervention",
                intervention_data(c["id"], follow_up_on="2030-01-01"),
                id=i["id"],
                base=1,
            )
        ],
    )
    stale = mutation("intervention", intervention_data(c["id"], notes="n"), id=i["id"], base=1)
    result = push(worker2, [stale])["results"][0]
    assert result["status"] == "conflict"
    assert result["record"]["data"]["follow_up_on"] == "2030-01-01"
    with app.app_context():
        assert len(db.session.scalars(select(FollowUp)).all()) == 1


def test_delete_of_unknown_record_is_not_found(worker):
    r = push(worker, [mutation("client", op="delete", id=uuid.uuid4(), base=1)])["results"][0]
    assert r["status"] == "rejected" and r["errors"]["id"]


def test_base_version_ahead_of_server_merges_two_way(app, worker):
    c = mutation("client", client_data(known_as="Jo"))
    push(worker, [c])
    r = push(worker, [mutation("client", client_data(known_as="Jay"), id=c["id"], base=7)])
    result = r["results"][0]
    # Unknown base: every difference is a conflict, resolved for the server (clients).
    assert result["status"] == "conflict" and result["record"]["data"]["known_as"] == "Jo"
    with app.app_context():
        # The phone never had the key worker the server gave the new client (its
        # pusher): with no base, its null is a losing value too.
        assert history("client", c["id"])[-1].losing["values"] == {
            "known_as": "Jay",
            "key_worker_id": None,
        }


def test_edit_without_base_version_is_based_on_version_one(worker, worker2):
    c = mutation("client", client_data(known_as="Jo"))
    push(worker, [c])
    push(worker2, [mutation("client", client_data(postcode_district="DH7"), id=c["id"], base=1)])
    r = push(worker, [mutation("client", client_data(known_as="Jay"), id=c["id"])])["results"][0]
    assert r["status"] == "conflict"
    assert r["record"]["data"]["known_as"] == "Jay"
    assert r["record"]["data"]["postcode_district"] == "DH7"


def test_stale_edit_based_on_a_version_made_in_the_same_batch(app, worker):
    t0 = now_iso(-timedelta(hours=2))
    i = mutation("intervention", intervention_data(occurred_at=t0, notes="first"))
    edit_notes = intervention_data(occurred_at=t0, notes="second")
    edit_place = intervention_data(occurred_at=t0, notes="first", location="hostel")
    results = push(
        worker,
        [
            i,
            mutation("intervention", edit_notes, id=i["id"], base=1),
            mutation("intervention", edit_place, id=i["id"], base=1),  # stale: v2 exists
        ],
    )["results"]
    assert [r["status"] for r in results] == ["applied", "applied", "conflict"]
    merged = results[2]["record"]["data"]
    assert (merged["notes"], merged["location"]) == ("second", "hostel")
    with app.app_context():
        row = db.session.get(Intervention, uuid.UUID(i["id"]))
        assert (row.notes, row.location, row.version) == ("second", "hostel", 3)


def _merged_pair(app, worker):
    """Two clients; the second merged into the first (as a lead's merge leaves it)."""
    keep, gone = mutation("client", client_data()), mutation("client", client_data(known_as="D"))
    push(worker, [keep, gone])
    with app.app_context():
        row = db.session.get(Client, uuid.UUID(gone["id"]))
        row.merged_into_id = uuid.UUID(keep["id"])
        row.deleted_at = row.created_at
        db.session.commit()
    return keep, gone


def test_version_one_is_kept_once_after_a_redirected_create(app, worker):
    """A create redirected to the surviving client records its losing values at
    version 1; the first edit must not write version 1 again (alone or in one batch)."""
    keep, gone = _merged_pair(app, worker)
    t0 = now_iso(-timedelta(hours=2))
    alone = mutation("intervention", intervention_data(gone["id"], occurred_at=t0))
    assert push(worker, [alone])["results"][0]["status"] == "conflict"
    edit = intervention_data(keep["id"], occurred_at=t0, notes="x")
    push(worker, [mutation("intervention", edit, id=alone["id"], base=1)])
    same = mutation("intervention", intervention_data(gone["id"], occurred_at=t0))
    push(worker, [same, mutation("intervention", edit, id=same["id"], base=1)])
    with app.app_context():
        for record in (alone, same):
            rows = history("intervention", record["id"])
            assert [r.version for r in rows] == [1, 2], [(r.version, r.reason) for r in rows]
            assert rows[0].losing is not None


def test_version_one_recorded_before_this_release_is_not_written_again(app, worker):
    """Interventions created while creation still wrote history have their version 1
    there already: their first edit adds version 2 only."""
    t0 = now_iso(-timedelta(hours=2))
    i = mutation("intervention", intervention_data(occurred_at=t0, notes="first"))
    push(worker, [i])
    with app.app_context():
        row = db.session.get(Intervention, uuid.UUID(i["id"]))
        write_history(
            [
                {
                    "entity": "intervention",
                    "record_id": row.id,
                    "version": 1,
                    "reason": "create",
                    "data": serialize("intervention", row),
                    "actor_id": row.worker_id,
                }
            ]
        )
        db.session.commit()
    edit = intervention_data(occurred_at=t0, notes="second")
    push(worker, [mutation("intervention", edit, id=i["id"], base=1)])
    with app.app_context():
        assert [r.version for r in history("intervention", i["id"])] == [1, 2]


def test_two_edits_of_a_stored_version_in_one_batch_both_count(app, worker):
    """Both edits are based on version 1 (stored by an earlier push): the second is a
    stale edit merged against version 1, so neither change is lost."""
    t0 = now_iso(-timedelta(hours=2))
    i = mutation("intervention", intervention_data(occurred_at=t0, notes="first"))
    push(worker, [i])
    notes = intervention_data(occurred_at=t0, notes="second")
    place = intervention_data(occurred_at=t0, notes="first", location="hostel")
    results = push(
        worker,
        [
            mutation("intervention", notes, id=i["id"], base=1),
            mutation("intervention", place, id=i["id"], base=1),
        ],
    )["results"]
    assert [r["status"] for r in results] == ["applied", "conflict"]
    with app.app_context():
        row = db.session.get(Intervention, uuid.UUID(i["id"]))
        assert (row.notes, row.location) == ("second", "hostel")
