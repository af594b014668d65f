"""Two team leads' desks racing (PostgreSQL, real concurrent transactions)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.records.models import SyncChange
from tests.caseload.conftest import add_intervention, now
from tests.conftest import ApiClient
from tests.waiting import backend_pid, wait_for, waiting_on


def _race(app, world, calls):
    """Run each (path, body) at once from its own signed-in lead session."""
    sessions = [ApiClient(app.test_client(), world.emails["lead"]) for _ in calls]
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, path, body):
        barrier.wait()
        response = sessions[i].post(path, json=body)
        results[i] = (response.status_code, response.get_json())

    threads = [
        threading.Thread(target=run, args=(i, path, body)) for i, (path, body) in enumerate(calls)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_merges_of_one_pair_merge_once(pg_only, app, world, street):
    survivor, other = street.clients[0], street.clients[1]
    with app.app_context():
        moved = [
            add_intervention(
                street.team_id,
                street.area_id,
                street.worker,
                other,
                type_="wound_care",
                occurred_at=now() - timedelta(days=d),
            )["id"]
            for d in (1, 2, 3)
        ]
    call = (f"/api/v1/clients/{survivor}/merge", {"other_client_id": str(other)})
    results = _race(app, world, [call, call, call])
    assert [status for status, _ in results] == [200, 200, 200], results
    assert sorted(body["already_merged"] for _, body in results) == [False, True, True]
    with app.app_context():
        for iv_id in moved:
            iv = db.session.get(Intervention, iv_id)
            assert iv.client_id == survivor and iv.version == 2
        removes = db.session.scalars(
            select(SyncChange).where(SyncChange.record_id == other, SyncChange.op == "remove")
        ).all()
        assert len(removes) == 1


def test_concurrent_reassignments_leave_one_winner_in_order(pg_only, app, world, street):
    c0 = street.clients[0]
    calls = [
        (f"/api/v1/clients/{c0}/assign", {"worker_id": street.worker2, "reason": "rebalance"}),
        (f"/api/v1/clients/{c0}/assign", {"worker_id": street.lead, "reason": "rebalance"}),
    ]
    results = _race(app, world, calls)
    assert [status for status, _ in results] == [200, 200], results
    with app.app_context():
        from outreach.people.models import Client

        client = db.session.get(Client, c0)
        assert client.version == 3  # both applied, one after the other
        last = db.session.scalar(
            select(SyncChange)
            .where(SyncChange.record_id == c0)
            .order_by(SyncChange.seq.desc())
            .limit(1)
        )
        assert last.seq == client.server_seq


def test_reassign_takes_the_team_lock_before_client_rows(pg_only, app, world, street):
    """A push holds its team's sequence lock and then locks the clients it edits. A
    reassign must queue on the team lock before it locks any client row, or the two
    deadlock (PostgreSQL would abort one of them)."""
    from sqlalchemy import text

    from outreach.people.models import Client
    from outreach.records.sequence import allocate_seqs

    client_id = street.clients[0]
    holding, release = threading.Event(), threading.Event()
    writer_pid = []

    def push_like_writer():
        with app.app_context():
            allocate_seqs(1, [street.team_id])
            writer_pid.append(backend_pid(db.session))
            holding.set()
            release.wait(30)
            db.session.rollback()

    writer = threading.Thread(target=push_like_writer)
    writer.start()
    lead = ApiClient(app.test_client(), world.emails["lead"])
    outcome = {}
    try:
        assert holding.wait(30)
        reassign = threading.Thread(
            target=lambda: outcome.update(
                response=lead.post(
                    f"/api/v1/clients/{client_id}/assign",
                    json={"worker_id": street.worker2, "reason": "rebalance"},
                )
            )
        )
        reassign.start()
        with app.app_context():
            # The writer holds only the team's sequence lock: whoever waits on it waits
            # for the team lock.
            waiting = wait_for(lambda: waiting_on(writer_pid[0], db.engine))
            assert len(waiting) == 1 and "sync_team_seq" in next(iter(waiting.values())), waiting
            assert reassign.is_alive()
            # The push can still lock the client it edits: the reassign holds no row.
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            locked = db.session.scalar(
                select(Client.id).where(Client.id == client_id).with_for_update(nowait=True)
            )
            assert locked == client_id
            db.session.rollback()
    finally:
        release.set()
        writer.join(30)
    reassign.join(30)
    assert outcome["response"].status_code == 200, outcome["response"].get_json()
