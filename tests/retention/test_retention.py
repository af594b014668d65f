"""Client data is anonymised after the retention period; aggregate counts survive."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client
from outreach.records.history import write_history
from outreach.records.models import RecordVersion, SyncChange
from outreach.retention.service import apply_retention
from tests.factories import make_clients, make_follow_up, make_interventions


def _seed(world):
    team, area, worker = (
        world.team_ids["street"],
        world.area_ids["durham"],
        world.user_ids["worker"],
    )
    long_ago = utcnow() - timedelta(days=365 * 8)
    old = make_clients(team, area, 2, created_at=long_ago)
    recent = make_clients(team, area, 1, created_at=long_ago)
    make_interventions(
        team, area, worker, 4, client_ids=[c["id"] for c in old], occurred_at=long_ago
    )
    make_interventions(team, area, worker, 2, client_ids=[recent[0]["id"]], occurred_at=long_ago)
    make_interventions(team, area, worker, 1, client_ids=[recent[0]["id"]])
    db.session.execute(update(Intervention).values(notes="private words"))
    make_follow_up(old[0]["id"], team, (long_ago + timedelta(days=7)).date())
    write_history(
        [
            {
                "entity": "client",
                "record_id": old[0]["id"],
                "version": 1,
                "reason": "create",
                "data": {"initials": old[0]["initials"]},
            }
        ]
    )
    db.session.commit()
    return old, recent


def test_retention_anonymises_old_clients_only(app, world):
    with app.app_context():
        old, recent = _seed(world)
        before = db.session.execute(
            select(
                Intervention.type, func.count(), func.count(func.distinct(Intervention.client_id))
            ).group_by(Intervention.type)
        ).all()
        result = apply_retention(years=7)
        assert result.clients == 2
        for row in old:
            client = db.session.get(Client, row["id"])
            assert client.initials is None and client.date_of_birth is None
            assert client.match_key is None and client.anonymised_at and client.deleted_at
            assert client.version == 2
        kept = db.session.get(Client, recent[0]["id"])
        assert kept.initials == recent[0]["initials"] and kept.anonymised_at is None
        # Report counts are unchanged.
        after = db.session.execute(
            select(
                Intervention.type, func.count(), func.count(func.distinct(Intervention.client_id))
            ).group_by(Intervention.type)
        ).all()
        assert sorted(after) == sorted(before)
        # Free text older than the period is gone; recent notes stay.
        old_notes = db.session.scalars(
            select(Intervention.notes).where(
                Intervention.occurred_at < utcnow() - timedelta(days=365)
            )
        ).all()
        assert set(old_notes) == {None}
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Intervention)
                .where(Intervention.notes == "private words")
            )
            == 1
        )
        follow_up = db.session.scalar(select(FollowUp))
        assert follow_up.deleted_at and "private" not in follow_up.reason
        # No history of the anonymised clients or their records is kept; others' stays.
        erased = (
            {row["id"] for row in old}
            | set(
                db.session.scalars(
                    select(Intervention.id).where(
                        Intervention.client_id.in_([r["id"] for r in old])
                    )
                )
            )
            | {follow_up.id}
        )
        kept_history = set(db.session.scalars(select(RecordVersion.record_id)))
        assert not kept_history & erased
        assert recent[0]["id"] in kept_history
        removes = db.session.scalars(
            select(SyncChange.record_id).where(
                SyncChange.op == "remove", SyncChange.entity == "client"
            )
        ).all()
        assert set(removes) == {row["id"] for row in old}
        # Running again changes nothing.
        assert apply_retention(years=7).clients == 0


def test_retention_cli_dry_run_changes_nothing(app, runner, world):
    with app.app_context():
        old, _ = _seed(world)
    r = runner.invoke(args=["outreach", "retention", "run", "--dry-run"])
    assert r.exit_code == 0 and "2 clients would be anonymised" in r.output
    with app.app_context():
        assert db.session.get(Client, old[0]["id"]).initials is not None
    r = runner.invoke(args=["outreach", "retention", "run"])
    assert r.exit_code == 0 and "2 clients anonymised" in r.output
