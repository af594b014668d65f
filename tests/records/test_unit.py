"""The unit of work: every synced write gets a version, history (the pre-image of a stored
version included), a change-log row for each team whose phones hold the record, and an
audit event; slice rules run as hooks unless the writer does their work itself."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import insert, select

from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client
from outreach.records.models import RecordVersion, SyncChange
from outreach.records.unit import UnitOfWork, Writer
from tests.factories import make_clients


def _writer(source="test"):
    return Writer(actor_id=None, device_id=None, now=utcnow(), source=source)


def _history(record_id):
    return [
        (v.version, v.reason)
        for v in db.session.scalars(
            select(RecordVersion)
            .where(RecordVersion.record_id == record_id)
            .order_by(RecordVersion.version)
        )
    ]


def _changes(record_id):
    return [
        (c.team_id, c.op)
        for c in db.session.scalars(
            select(SyncChange).where(SyncChange.record_id == record_id).order_by(SyncChange.seq)
        )
    ]


def test_a_created_client_has_version_one_everywhere(app, world):
    with app.app_context():
        team, area = world.team_ids["street"], world.area_ids["durham"]
        client = make_clients(team, area, 1)[0]
        assert client["version"] == 1 and client["server_seq"] > 0
        assert _history(client["id"]) == [(1, "create")]
        assert _changes(client["id"]) == [(team, "upsert")]
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.record_id == str(client["id"]))
        )
        assert event.action == "test.create" and event.detail == {"version": 1}


def test_the_pre_image_of_a_stored_version_is_kept(app, world):
    """A row written before history was kept (or by hand) gets its version into history
    when a unit of work replaces it, so a stale edit based on it merges three ways."""
    with app.app_context():
        team, area = world.team_ids["street"], world.area_ids["durham"]
        record_id = uuid.uuid4()
        now = utcnow()
        db.session.execute(
            insert(Client),
            [
                {
                    "id": record_id,
                    "team_id": team,
                    "area_id": area,
                    "initials": "QX",
                    "date_of_birth": date(1990, 1, 1),
                    "sex": "female",
                    "postcode_district": "DH1",
                    "version": 3,
                    "server_seq": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        db.session.commit()
        uow = UnitOfWork(_writer())
        uow.lock([team])
        uow.load("client", [record_id])
        row = uow.get("client", record_id)
        uow.update("client", {**row, "known_as": "Q"}, reason="edit")
        uow.update("client", {**uow.get("client", record_id), "known_as": "R"}, reason="edit")
        uow.flush()
        db.session.commit()
        # The stored version 3 (once), then both new versions.
        assert _history(record_id) == [(3, "edit"), (4, "edit"), (5, "edit")]


def test_a_record_moving_team_is_removed_from_the_old_teams_phones(app, world):
    with app.app_context():
        street, custody = world.team_ids["street"], world.team_ids["custody"]
        client = make_clients(street, world.area_ids["durham"], 1)[0]
        uow = UnitOfWork(_writer())
        uow.lock([street, custody])
        uow.load("client", [client["id"]])
        row = uow.get("client", client["id"])
        moved = uow.update("client", {**row, "team_id": custody}, reason="move")
        uow.flush()
        db.session.commit()
        # A change for each team (the old team's pull finds the record out of its scope
        # and removes it); the new team's change carries the record's own number.
        logged = {
            c.team_id: c.seq
            for c in db.session.scalars(
                select(SyncChange).where(
                    SyncChange.record_id == client["id"], SyncChange.seq > client["server_seq"]
                )
            )
        }
        assert set(logged) == {street, custody}
        assert logged[custody] == moved["server_seq"] and logged[street] > logged[custody]


def test_slice_rules_run_unless_the_writer_does_their_work(app, world):
    """An intervention asking for a follow-up gets one (the interventions slice's rule);
    a writer passing rules=False (a merge, the demo loader) makes its own."""
    with app.app_context():
        team, area = world.team_ids["street"], world.area_ids["durham"]
        worker = world.user_ids["worker"]
        client = make_clients(team, area, 1)[0]
        now = utcnow()

        def intervention(**rules):
            uow = UnitOfWork(_writer("sync"))
            uow.lock([team])
            row = {
                "id": uuid.uuid4(),
                "client_id": client["id"],
                "worker_id": worker,
                "team_id": team,
                "area_id": area,
                "type": "wound_care",
                "occurred_at": now - timedelta(hours=1),
                "location": "street",
                "substances": [],
                "follow_up_on": (now + timedelta(days=7)).date(),
            }
            uow.create("intervention", row, **rules)
            uow.flush()
            db.session.commit()
            return row["id"]

        with_rules = intervention()
        without = intervention(rules=False)
        made = {
            fu.intervention_id: fu
            for fu in db.session.scalars(select(FollowUp).where(FollowUp.client_id == client["id"]))
        }
        assert set(made) == {with_rules}
        assert made[with_rules].due_on == (now + timedelta(days=7)).date()
        assert db.session.get(Intervention, without).follow_up_on is not None


def test_locking_another_team_takes_fresh_numbers(app, world):
    """Numbers are taken only while every team the work logs for is locked: numbers
    reserved before another team's lock are not used for its changes."""
    with app.app_context():
        street, custody = world.team_ids["street"], world.team_ids["custody"]
        uow = UnitOfWork(_writer())
        uow.lock([street])
        uow.reserve(5)
        held = list(uow.pool.free)
        uow.lock([custody])
        assert uow.pool.free == [] and uow.pool.teams == {street, custody}
        taken = uow.pool.take([custody])
        assert taken > max(held)
        db.session.rollback()
