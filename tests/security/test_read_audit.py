"""Reads of personal data are audited: a client's history, client and intervention
lists, duplicate pairs, and every view or download of a report, with who, device,
address and what (ids, filters, week, areas; never personal values). Reads of the same
list by the same actor within a minute fold into one event. The admin's audit API
filters by these."""

from __future__ import annotations

from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from tests.factories import make_clients, make_interventions


def _reads(app, action=None) -> list[AuditEvent]:
    with app.app_context():
        stmt = select(AuditEvent).where(AuditEvent.action.like("read.%")).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        events = db.session.scalars(stmt).all()
        db.session.expunge_all()
        return list(events)


def _street(app, world, count=3):
    with app.app_context():
        rows = make_clients(
            world.team_ids["street"],
            world.area_ids["durham"],
            count,
            key_worker_id=world.user_ids["worker"],
        )
        make_interventions(
            world.team_ids["street"],
            world.area_ids["durham"],
            world.user_ids["worker"],
            2,
            client_ids=[r["id"] for r in rows],
        )
    return rows


def test_a_clients_history_read_is_audited_with_device_and_address(app, world, login):
    rows = _street(app, world)
    worker = login("worker")
    r = worker.get(
        f"/api/v1/clients/{rows[0]['id']}/history", environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert r.status_code == 200
    [event] = _reads(app, "read.client_history")
    assert event.actor_id == world.user_ids["worker"]
    assert event.device_id == worker.device_id
    assert event.address == "10.1.2.3"
    assert (event.entity, event.record_id) == ("client", str(rows[0]["id"]))
    text = repr(event.detail)
    assert rows[0]["initials"] not in text and rows[0]["date_of_birth"].isoformat() not in text


def test_lists_are_audited_with_the_ids_shown_and_folded_within_a_minute(app, world, login):
    rows = _street(app, world)
    lead = login("lead")
    for page in (1, 2, 1):
        assert lead.get(f"/api/v1/caseload/clients?per_page=2&page={page}").status_code == 200
    [listed] = _reads(app, "read.client_list")  # one read of one list: folded
    assert listed.detail["query"]["list"] == "clients"
    assert set(listed.detail["ids"]) <= {str(r["id"]) for r in rows}
    assert listed.detail["count"] == 2
    # Another filter is another list.
    lead.get(f"/api/v1/caseload/clients?worker_id={world.user_ids['worker']}")
    assert len(_reads(app, "read.client_list")) == 2
    assert lead.get("/api/v1/caseload/interventions").status_code == 200
    assert lead.get("/api/v1/caseload/attention").status_code == 200
    assert lead.get("/api/v1/caseload/duplicates").status_code == 200
    assert login("worker").get("/api/v1/caseload/mine").status_code == 200
    actions = [e.action for e in _reads(app)]
    assert actions.count("read.intervention_list") == 1
    assert actions.count("read.duplicate_pairs") == 1
    lists = [e.detail["query"]["list"] for e in _reads(app, "read.client_list")]
    assert sorted(lists) == ["attention", "clients", "clients", "mine"]
    interventions = _reads(app, "read.intervention_list")[0]
    assert interventions.detail["count"] == 2


def test_every_report_view_and_download_is_audited_with_week_and_areas(app, world, login):
    commissioner = login("commissioner")
    for path in ("/api/v1/reports/weekly", "/api/v1/reports/weekly.csv"):
        assert commissioner.get(path).status_code == 200
    assert commissioner.get("/api/v1/reports/weekly.pdf").status_code == 200
    events = _reads(app, "read.report")
    assert [e.detail["format"] for e in events] == ["json", "csv", "pdf"]
    assert all(e.detail["areas"] == ["durham"] for e in events)
    assert all(e.detail["week"] and e.record_id == e.detail["week"] for e in events)
    assert all(e.actor_id == world.user_ids["commissioner"] for e in events)


def test_the_admin_filters_the_audit_by_reads_and_address(app, world, login):
    rows = _street(app, world)
    login("worker").get(
        f"/api/v1/clients/{rows[0]['id']}/history", environ_base={"REMOTE_ADDR": "10.7.7.7"}
    )
    admin = login("admin")
    reads = admin.get("/api/v1/admin/audit?action=read.*").get_json()["items"]
    assert [e["action"] for e in reads] == ["read.client_history"]
    assert reads[0]["address"] == "10.7.7.7"
    by_address = admin.get("/api/v1/admin/audit?address=10.7.7.7").get_json()["items"]
    assert [e["action"] for e in by_address] == ["read.client_history"]
