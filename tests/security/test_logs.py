"""No personal data in logs (DESIGN §7): every log record emitted at DEBUG and above during
a full sync (push and pull through the API), a weekly report run (PDF built and emailed to
a real SMTP server on loopback) and an unexpected server error is searched for the clients'
initials, dates of birth and notes.

SQLAlchemy's own loggers stay at the WARNING level SQLAlchemy gives them (its statement echo
is off in every configuration); everything else, werkzeug included, is captured at DEBUG.
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.people.models import Client
from tests.conftest import point_smtp_at
from tests.factories import make_clients, make_interventions

INITIALS = "QJX"
BIRTH = date(1961, 2, 3)
NOTE = "Told me about the squat behind the old bus depot - marker 9c1e"
SECRETS = [f"'{INITIALS}'", f'"{INITIALS}"', f" {INITIALS} ", BIRTH.isoformat(), "1961/02/03"]
SECRETS += ["03/02/1961", NOTE, "marker 9c1e"]
LOGGERS = ["", "werkzeug", "outreach", "flask", "gunicorn", "apscheduler", "mail.log"]


@pytest.fixture
def logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def assert_no_personal_data(caplog) -> None:
    lines = [caplog.text]
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        lines.append(str(record.__dict__.get("exc_text") or ""))
    text = "\n".join(lines)
    found = [s for s in SECRETS if s in text]
    assert not found, f"personal data in logs: {found}\n{text[:3000]}"


def _mark(client_id, intervention_ids) -> None:
    db.session.execute(
        update(Client).where(Client.id == client_id).values(initials=INITIALS, date_of_birth=BIRTH)
    )
    db.session.execute(
        update(Intervention).where(Intervention.id.in_(intervention_ids)).values(notes=NOTE)
    )
    db.session.commit()


def test_full_sync_logs_no_personal_data(app, world, login, logs):
    worker = login("worker")
    client_id, intervention_id = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC).replace(microsecond=0)
    mutations = [
        {
            "mutation_id": str(uuid.uuid4()),
            "entity": "client",
            "op": "upsert",
            "id": client_id,
            "base_version": None,
            "data": {
                "initials": INITIALS,
                "date_of_birth": BIRTH.isoformat(),
                "sex": "female",
                "postcode_district": "DH1",
            },
        },
        {
            "mutation_id": str(uuid.uuid4()),
            "entity": "intervention",
            "op": "upsert",
            "id": intervention_id,
            "base_version": None,
            "data": {
                "client_id": client_id,
                "type": "harm_reduction_advice",
                "occurred_at": now.isoformat(),
                "location": "street",
                "substances": ["opioids"],
                "notes": NOTE,
            },
        },
        # A rejected record: its errors must not be logged with its values either.
        {
            "mutation_id": str(uuid.uuid4()),
            "entity": "client",
            "op": "upsert",
            "id": str(uuid.uuid4()),
            "base_version": None,
            "data": {"initials": INITIALS, "date_of_birth": "1961-02-31", "sex": "female"},
        },
    ]
    body = {"device_id": str(worker.device_id), "schema_version": 1, "mutations": mutations}
    pushed = worker.post("/api/v1/sync/push", json=body)
    assert pushed.status_code == 200, pushed.get_json()
    statuses = [r["status"] for r in pushed.get_json()["results"]]
    assert statuses[:2] == ["applied", "applied"] and statuses[2] == "rejected"
    assert worker.post("/api/v1/sync/push", json=body).status_code == 200  # a replay
    pulled = worker.get("/api/v1/sync/pull?limit=500")
    assert pulled.status_code == 200
    assert INITIALS in pulled.get_data(as_text=True)  # the data did flow through
    assert_no_personal_data(logs)
    # The audit log records the push and the pull by ids, never by content.
    with app.app_context():
        events = db.session.scalars(select(AuditEvent)).all()
        audit = json.dumps(
            [[e.action, e.entity, e.record_id, e.detail] for e in events], default=str
        )
    assert client_id in audit
    found = [s for s in SECRETS if s in audit]
    assert not found, f"personal data in the audit log: {found}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_report_run_logs_no_personal_data(app, world, logs, monkeypatch):
    from aiosmtpd.controller import Controller

    from outreach.reports.delivery import send_week
    from outreach.reports.weeks import IsoWeek

    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with app.app_context():
        client = make_clients(world.team_ids["street"], world.area_ids["durham"], 1)[0]
        rows = make_interventions(
            world.team_ids["street"],
            world.area_ids["durham"],
            world.user_ids["worker"],
            6,
            client_ids=[client["id"]],
            occurred_at=datetime(2026, 11, 18, 10, tzinfo=UTC),
        )
        _mark(client["id"], [r["id"] for r in rows])

    port = _free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    point_smtp_at(app, monkeypatch, port)
    try:
        with app.app_context():
            outcomes = send_week(IsoWeek(2026, 47), now=datetime(2026, 11, 30, 8, tzinfo=UTC))
            # And a failing run: the SMTP error is logged, still without personal data.
            monkeypatch.setitem(app.config, "SMTP_PORT", _free_port())
            failed = send_week(
                IsoWeek(2026, 47),
                email=world.emails["commissioner"],
                force=True,
                now=datetime(2026, 11, 30, 8, tzinfo=UTC),
            )
    finally:
        controller.stop()
    assert any(o.status == "sent" for o in outcomes) and received
    assert [o.status for o in failed] == ["failed"]
    assert any("failed" in r.getMessage() for r in logs.records if r.levelno >= logging.WARNING)
    assert_no_personal_data(logs)


def test_unexpected_error_logs_no_personal_data(client, world, login, logs, monkeypatch):
    """A database error's message holds the statement's parameters: never logged."""
    import outreach.app_routes as routes

    def boom(*args, **kwargs):
        raise IntegrityError(
            "INSERT INTO client (initials, date_of_birth) VALUES (?, ?)",
            (INITIALS, BIRTH.isoformat()),
            Exception(f"UNIQUE constraint failed: {NOTE}"),
        )

    worker = login("worker")
    monkeypatch.setattr(routes, "profile_of", boom)
    r = worker.get("/api/v1/me")
    assert r.status_code == 500
    assert INITIALS not in r.get_data(as_text=True)
    assert any("IntegrityError" in rec.getMessage() for rec in logs.records)  # it was logged
    assert_no_personal_data(logs)
