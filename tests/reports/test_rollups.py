"""The weekly roll-ups (PostgreSQL) always give the figures counted from the
interventions themselves, whatever wrote them: inserts, edits that move a record
across weeks, areas, teams, types or clients, soft and hard deletes, merges."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from outreach.core.extensions import db
from outreach.interventions.codes import TYPE_CODES
from outreach.interventions.models import Intervention
from outreach.reports import rollups
from outreach.reports.aggregation import aggregate
from outreach.reports.models import ReportClientFirst, ReportClientWeek, ReportWeekCount
from outreach.reports.weeks import IsoWeek, week_range
from tests.factories import make_clients, make_interventions
from tests.waiting import backend_pid, wait_for, waiting_on

pytestmark = pytest.mark.usefixtures("pg_only")
TZ = "Europe/London"
# Weeks 40-47 of 2026: the clocks go back inside week 43.
WEEKS = week_range(IsoWeek(2026, 47), 8)
START = WEEKS[0].bounds(TZ)[0]
SPAN = int((WEEKS[-1].bounds(TZ)[1] - START).total_seconds())


def figures(area_ids, *, from_rollups):
    agg = aggregate(area_ids, WEEKS, TZ, from_rollups=from_rollups)
    db.session.rollback()

    def plain(nested):
        return {k: {n: v for n, v in d.items() if v} for k, d in nested.items() if any(d.values())}

    return (
        plain(agg.measures),
        plain(agg.types),
        plain(agg.teams),
        {w: n for w, n in agg.regional_clients.items() if n},
    )


def assert_rollups_match(area_ids):
    assert figures(area_ids, from_rollups=True) == figures(area_ids, from_rollups=False)


def when(rng: random.Random) -> datetime:
    # Whole seconds, never two alike for one client in practice: ties between areas at
    # the same instant are resolved by id in the roll-up, by area in the direct count.
    return START + timedelta(seconds=rng.randrange(SPAN), microseconds=rng.randrange(10**6))


def test_random_writes_keep_rollups_equal_to_a_direct_count(ctx, world):
    rng = random.Random(20261202)
    teams = [
        (world.team_ids["street"], world.area_ids["durham"], world.user_ids["worker"]),
        (world.team_ids["custody"], world.area_ids["durham"], world.user_ids["custody"]),
        (world.team_ids["dorset"], world.area_ids["dorset"], world.user_ids["dorset"]),
    ]
    clients = {team: [c["id"] for c in make_clients(team, area, 6)] for team, area, _w in teams}
    ids = []
    for _ in range(60):  # inserts, several statements, some anonymous
        team, area, worker = rng.choice(teams)
        pool = clients[team]
        rows = make_interventions(
            team,
            area,
            worker,
            rng.randint(1, 4),
            client_ids=[rng.choice(pool)] if rng.random() < 0.8 else None,
            type_=rng.choice(TYPE_CODES),
            occurred_at=when(rng),
            quantity=rng.choice([None, 1, 3]),
        )
        ids += [r["id"] for r in rows]
    areas = [world.area_ids["durham"], world.area_ids["dorset"]]
    assert_rollups_match(areas)
    assert_rollups_match([world.area_ids["durham"]])

    iv = Intervention.__table__
    for step in range(80):
        target = rng.choice(ids)
        team, area, _worker = rng.choice(teams)
        change = rng.choice(["move", "type", "client", "quantity", "soft", "undelete", "hard"])
        if change == "move":  # across weeks, areas and teams at once
            values = {"occurred_at": when(rng), "team_id": team, "area_id": area}
        elif change == "type":
            values = {"type": rng.choice(TYPE_CODES)}
        elif change == "client":
            values = {"client_id": rng.choice([None, *clients[team]])}
        elif change == "quantity":
            values = {"quantity": rng.choice([None, 0, 2, 7])}
        elif change == "soft":
            values = {"deleted_at": datetime.now(UTC)}
        elif change == "undelete":
            values = {"deleted_at": None}
        else:
            db.session.execute(delete(iv).where(iv.c.id == target))
            ids.remove(target)
            values = None
        if values is not None:
            if rng.random() < 0.3:  # one statement changing several rows
                chosen = rng.sample(ids, 3)
                db.session.execute(update(iv).where(iv.c.id.in_(chosen)).values(**values))
            else:
                db.session.execute(update(iv).where(iv.c.id == target).values(**values))
        db.session.commit()
        if step % 10 == 9:
            assert_rollups_match(areas)
    assert_rollups_match(areas)
    assert_rollups_match([world.area_ids["dorset"]])

    # Rows brought to zero were removed; a rebuild from scratch gives the same rows.
    for model in (ReportWeekCount, ReportClientWeek):
        assert not db.session.scalar(
            select(func.count()).select_from(model).where(model.interventions <= 0)
        )
    kept = [
        db.session.scalars(select(func.count()).select_from(m).where(*cond)).one()
        for m, cond in (
            (ReportWeekCount, [ReportWeekCount.interventions > 0]),
            (ReportClientWeek, [ReportClientWeek.interventions > 0]),
            (ReportClientFirst, [ReportClientFirst.first_at.isnot(None)]),
        )
    ]
    before = figures(areas, from_rollups=True)
    rollups.rebuild()
    db.session.commit()
    assert figures(areas, from_rollups=True) == before
    rebuilt = [
        db.session.scalar(select(func.count()).select_from(m))
        for m in (ReportWeekCount, ReportClientWeek, ReportClientFirst)
    ]
    assert rebuilt == kept


def test_push_edit_delete_and_merge_reach_the_rollups(app, world, login):
    """Through the API: a phone's push (create, move to another week, delete) and a
    team lead's merge of two clients."""
    from tests.sync.helpers import client_data, intervention_data, mutation, push

    worker = login("worker")
    a, b = mutation("client", client_data()), mutation("client", client_data(initials="ZZ"))
    t1 = datetime(2026, 11, 3, 12, tzinfo=UTC)  # week 45
    i1 = mutation("intervention", intervention_data(a["id"], occurred_at=t1.isoformat()))
    i2 = mutation(
        "intervention",
        intervention_data(b["id"], occurred_at=(t1 + timedelta(days=7)).isoformat()),
    )
    push(worker, [a, b, i1, i2])
    durham = [world.area_ids["durham"]]
    with app.app_context():
        assert_rollups_match(durham)
    later = intervention_data(a["id"], occurred_at=(t1 + timedelta(days=14)).isoformat())
    push(worker, [mutation("intervention", later, id=i1["id"], base=1)])
    with app.app_context():
        assert_rollups_match(durham)
        first = db.session.get(ReportClientFirst, uuid.UUID(a["id"]))
        assert first.first_at == t1 + timedelta(days=14)
    lead = login("lead")
    response = lead.post(f"/api/v1/clients/{a['id']}/merge", json={"other_client_id": b["id"]})
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        assert_rollups_match(durham)
        survivor = db.session.get(ReportClientFirst, uuid.UUID(a["id"]))
        assert survivor.first_at == t1 + timedelta(days=7)  # b's contact, now a's
        gone = db.session.get(ReportClientFirst, uuid.UUID(b["id"]))
        assert gone.first_at is None
    push(worker, [mutation("intervention", op="delete", id=i2["id"], base=2)])
    with app.app_context():
        assert_rollups_match(durham)
        engaged = db.session.scalar(
            select(func.sum(ReportClientWeek.interventions)).where(
                ReportClientWeek.client_id == uuid.UUID(a["id"])
            )
        )
        assert engaged == 1


def test_rebuild_command_restores_rollups_changed_behind_the_triggers_back(ctx, world, runner):
    """An operator's `flask outreach reports rebuild-rollups` (e.g. after a data-only
    restore that skipped triggers) puts the figures right."""
    make_interventions(
        world.team_ids["street"],
        world.area_ids["durham"],
        world.user_ids["worker"],
        3,
        occurred_at=datetime(2026, 11, 18, 12, tzinfo=UTC),
    )
    db.session.execute(text("DELETE FROM report_week_count"))
    db.session.commit()
    assert figures([world.area_ids["durham"]], from_rollups=True)[0] == {}
    result = runner.invoke(args=["outreach", "reports", "rebuild-rollups"])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    db.session.remove()
    assert_rollups_match([world.area_ids["durham"]])
    assert figures([world.area_ids["durham"]], from_rollups=True)[0] != {}


def _first_contact_race(app, world, second_writer_sql, *, second_waits: bool = False):
    """T1 moves client O's 2017 contact onto client S (as a merge does) and holds its
    transaction open; T2 runs `second_writer_sql` on S's 2018 contact; T1 commits,
    then T2. S's first contact must be 2017. `second_waits`: T2 must wait for T1."""
    team, area, worker = (
        world.team_ids["street"],
        world.area_ids["durham"],
        world.user_ids["worker"],
    )
    s, o = (c["id"] for c in make_clients(team, area, 2))
    s1 = make_interventions(
        team, area, worker, 1, client_ids=[s], occurred_at=datetime(2018, 5, 1, tzinfo=UTC)
    )[0]["id"]
    o1 = make_interventions(
        team, area, worker, 1, client_ids=[o], occurred_at=datetime(2017, 5, 1, tzinfo=UTC)
    )[0]["id"]
    engine = db.engine
    with engine.connect() as t1, engine.connect() as t2:
        t1_pid, t2_pid = backend_pid(t1), backend_pid(t2)
        t2.commit()  # T2's own transaction begins in its thread
        t1.execute(text("UPDATE intervention SET client_id = :s WHERE id = :o"), {"s": s, "o": o1})
        errors = []

        def second():
            try:
                t2.execute(text(second_writer_sql), {"i": s1, "s": s})
                t2.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        # T1 commits only once T2 has run its statement: T2 is done already, or waits for
        # a lock T1 holds.
        reached = wait_for(lambda: not thread.is_alive() or t2_pid in waiting_on(t1_pid, engine))
        assert reached, "T2 neither finished nor waited for T1"
        if second_waits:
            assert thread.is_alive(), "T2 did not wait for T1's lock"
        t1.commit()
        thread.join(timeout=30)
        assert not thread.is_alive() and not errors, errors
    db.session.remove()
    first = db.session.get(ReportClientFirst, s)
    assert first.first_at == datetime(2017, 5, 1, tzinfo=UTC)
    assert_rollups_match([world.area_ids["durham"]])


def test_notes_scrub_during_a_merge_leaves_first_contact_right(app, ctx, world):
    # Retention's scrub changes no client, time or area: it must not recompute (and
    # write back) a first contact from before the merge committed.
    _first_contact_race(app, world, "UPDATE intervention SET notes = NULL WHERE id = :i")


def test_concurrent_moves_of_one_clients_contacts_leave_first_contact_right(app, ctx, world):
    # T2 changes S's own contact (a later time): it waits for T1's lock on S's row and
    # then recomputes from every committed contact, T1's included.
    _first_contact_race(
        app,
        world,
        "UPDATE intervention SET occurred_at = '2019-01-01T00:00:00Z' WHERE id = :i",
        second_waits=True,
    )


def test_truncate_empties_the_rollups(ctx, world):
    make_interventions(
        world.team_ids["street"],
        world.area_ids["durham"],
        world.user_ids["worker"],
        2,
        client_ids=[make_clients(world.team_ids["street"], world.area_ids["durham"], 1)[0]["id"]],
        occurred_at=datetime(2026, 11, 18, 12, tzinfo=UTC),
    )
    db.session.execute(text("TRUNCATE intervention CASCADE"))
    db.session.commit()
    for model in (ReportWeekCount, ReportClientWeek, ReportClientFirst):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
