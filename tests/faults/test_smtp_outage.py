"""The SMTP server goes down in the middle of the weekly run and comes back: every
commissioner gets the week's report exactly once.

(tests/reports/test_delivery.py::test_smtp_down_then_up_sends_once covers a server that is
down for the whole run; here it dies between two recipients of the same run.)
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from outreach.access.models import User
from outreach.core.extensions import db
from tests.conftest import point_smtp_at
from tests.factories import make_interventions
from tests.faults.conftest import free_port

pytestmark = pytest.mark.slow
# Monday 23 November 2026 08:00 UTC: week 2026-W47 is due (Monday 07:00 Europe/London).
MONDAY = datetime(2026, 11, 30, 8, tzinfo=UTC)  # week 47 released and due


class Inbox:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(envelope)
        return "250 OK"


def test_smtp_dies_mid_run_then_returns(app, world, monkeypatch):
    from outreach.reports import delivery
    from outreach.reports.models import ReportDelivery

    with app.app_context():
        make_interventions(
            world.team_ids["street"],
            world.area_ids["durham"],
            world.user_ids["worker"],
            7,
            occurred_at=datetime(2026, 11, 18, 10, tzinfo=UTC),
        )
        db.session.execute(
            update(User)
            .where(User.role == "commissioner")
            .values(created_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
        db.session.commit()

    inbox, port = Inbox(), free_port()
    server = {"controller": Controller(inbox, hostname="127.0.0.1", port=port)}
    server["controller"].start()
    real_send = delivery.send_email
    sent_before_outage = []

    def send_then_die(*args, **kwargs):
        real_send(*args, **kwargs)
        if not sent_before_outage:  # the server goes away right after the first message
            sent_before_outage.append(args[0])
            server["controller"].stop()

    monkeypatch.setattr(delivery, "send_email", send_then_die)
    point_smtp_at(app, monkeypatch, port)
    monkeypatch.setitem(app.config, "REPORT_CATCH_UP_WEEKS", 1)
    try:
        with app.app_context():
            first_run = delivery.deliver_due(MONDAY)
            assert sorted(o.status for o in first_run) == ["failed", "sent"]
            # Nothing is due while the failed delivery backs off, and the server is down.
            assert delivery.deliver_due(MONDAY + timedelta(minutes=1)) == []

            server["controller"] = Controller(inbox, hostname="127.0.0.1", port=port)
            server["controller"].start()
            retry = delivery.deliver_due(MONDAY + timedelta(minutes=6))
            assert [o.status for o in retry] == ["sent"]
            # Later runs, a catch-up and a manual re-run send nothing more.
            assert delivery.deliver_due(MONDAY + timedelta(hours=3)) == []
            assert {
                o.status for o in delivery.send_week(delivery.IsoWeek(2026, 47), now=MONDAY)
            } == {"skipped"}
            rows = db.session.scalars(select(ReportDelivery).order_by(ReportDelivery.id)).all()
            by_email = {db.session.get(User, r.recipient_id).email: r for r in rows}
    finally:
        server["controller"].stop()

    recipients = sorted(m.rcpt_tos[0] for m in inbox.messages)
    assert recipients == sorted([world.emails["commissioner"], world.emails["commissioner_sw"]])
    assert {e: (r.period, r.status) for e, r in by_email.items()} == dict.fromkeys(
        recipients, ("2026-W47", "sent")
    )
    first = sent_before_outage[0]
    assert {e: r.attempts for e, r in by_email.items()} == {
        e: (1 if e == first else 2) for e in recipients
    }
