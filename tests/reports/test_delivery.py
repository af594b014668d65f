"""Email delivery: a real SMTP server on loopback, idempotency, retries, catch-up."""

from __future__ import annotations

import email
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from outreach.access.models import User
from outreach.core.extensions import db
from outreach.reports.delivery import deliver_due, send_week
from outreach.reports.models import ReportDelivery
from outreach.reports.weeks import IsoWeek
from tests.reports.conftest import free_port

W47 = IsoWeek(2026, 47)
# Monday 30 November 2026 08:00 UTC: week 47 is released at midnight, 7 days after it
# ended, and sent at the first Monday 07:00 (GMT) schedule after that.
MONDAY = datetime(2026, 11, 30, 8, tzinfo=UTC)


def _only_durham_commissioner(world, since=datetime(2026, 1, 1, tzinfo=UTC)):
    db.session.execute(
        update(User).where(User.id == world.user_ids["commissioner_sw"]).values(active=False)
    )
    db.session.execute(
        update(User).where(User.id == world.user_ids["commissioner"]).values(created_at=since)
    )
    db.session.commit()


def _rows():
    db.session.expire_all()
    return db.session.scalars(select(ReportDelivery).order_by(ReportDelivery.id)).all()


def test_email_received_with_pdf_attached(ctx, world, record, smtp):
    record(type_="naloxone_supplied", when="2026-11-18T10:00:00Z", n=6, quantity=1)
    outcomes = send_week(W47, now=MONDAY)
    assert sorted((o.email, o.status) for o in outcomes) == [
        ("commissioner@example.test", "sent"),
        ("commissioner_sw@example.test", "sent"),
    ]
    assert len(smtp.messages) == 2
    envelope = next(m for m in smtp.messages if m.rcpt_tos == ["commissioner@example.test"])
    message = email.message_from_bytes(envelope.content)
    assert "2026-W47" in message["Subject"]
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    text = body.get_payload(decode=True).decode()
    assert "2026-W47" in text and "Pathways page" in text
    pdfs = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_filename() == "outreach-2026-W47.pdf"
    pdf = pdfs[0].get_payload(decode=True)
    assert pdf.startswith(b"%PDF")
    import hashlib

    row = next(r for r in _rows() if r.email == "commissioner@example.test")
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert row.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert row.figures["2026-W47"]["durham/interventions"] == "6"
    assert row.figures["2026-W47"]["durham/referrals_made"] == "0"  # pathways, as released

    # A second run sends nothing; --force sends again on purpose.
    assert {o.status for o in send_week(W47, now=MONDAY)} == {"skipped"}
    assert len(smtp.messages) == 2
    forced = send_week(W47, email="commissioner@example.test", force=True, now=MONDAY)
    assert [o.status for o in forced] == ["sent"]
    assert len(smtp.messages) == 3


def test_two_schedulers_at_once_send_one_email_each(app, ctx, world, record, smtp, monkeypatch):
    record(when="2026-11-18T10:00:00Z", n=7)
    _only_durham_commissioner(world)
    monkeypatch.setitem(app.config, "REPORT_CATCH_UP_WEEKS", 1)
    barrier = threading.Barrier(3)
    results, errors = [], []

    def scheduler():
        with app.app_context():
            try:
                barrier.wait()
                results.append(deliver_due(MONDAY))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(smtp.messages) == 1
    assert smtp.messages[0].rcpt_tos == ["commissioner@example.test"]
    statuses = sorted(o.status for r in results for o in r)
    assert statuses.count("sent") == 1
    rows = _rows()
    assert [(r.period, r.status, r.attempts) for r in rows] == [("2026-W47", "sent", 1)]


def test_smtp_down_then_up_sends_once(app, ctx, world, record, smtp, login, monkeypatch):
    record(when="2026-11-18T10:00:00Z", n=7)
    _only_durham_commissioner(world)
    monkeypatch.setitem(app.config, "REPORT_CATCH_UP_WEEKS", 1)
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nothing listens there
    failed = deliver_due(MONDAY)
    assert [o.status for o in failed] == ["failed"]
    row = _rows()[0]
    assert (row.status, row.attempts) == ("failed", 1)
    assert "ConnectionRefused" in row.last_error
    assert row.next_attempt_at == MONDAY + timedelta(minutes=5)

    admin = login("admin")
    listed = admin.get("/api/v1/admin/deliveries?status=failed").get_json()["items"]
    assert [(d["status"], d["attempts"]) for d in listed] == [("failed", 1)]
    assert "ConnectionRefused" in listed[0]["last_error"]
    assert login("commissioner").get("/api/v1/admin/deliveries").status_code == 403

    assert deliver_due(MONDAY + timedelta(minutes=2)) == []  # backing off
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)  # the server is back
    sent = deliver_due(MONDAY + timedelta(minutes=6))
    assert [o.status for o in sent] == ["sent"]
    assert deliver_due(MONDAY + timedelta(minutes=20)) == []
    assert len(smtp.messages) == 1
    row = _rows()[0]
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_catch_up_after_downtime_sends_missed_weeks_once(app, ctx, world, smtp, monkeypatch):
    _only_durham_commissioner(world)
    monkeypatch.setitem(app.config, "REPORT_CATCH_UP_WEEKS", 2)
    # Monday 06:30 UK time: week 47 is not due yet (07:00); week 46 is missed.
    early = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)
    assert [o.period for o in deliver_due(early)] == ["2026-W46"]
    assert [o.period for o in deliver_due(MONDAY)] == ["2026-W47"]
    assert deliver_due(MONDAY + timedelta(hours=1)) == []
    assert len(smtp.messages) == 2
    assert sorted(r.period for r in _rows()) == ["2026-W46", "2026-W47"]


def test_new_commissioner_gets_no_back_issues(app, ctx, world, smtp):
    _only_durham_commissioner(world, since=datetime(2026, 11, 27, tzinfo=UTC))
    assert [o.period for o in deliver_due(MONDAY)] == ["2026-W47"]


def test_cli_preview_and_send(app, ctx, world, record, smtp, runner, tmp_path):
    record(when="2026-11-18T10:00:00Z", n=6)
    out = tmp_path / "summary.pdf"
    result = runner.invoke(
        args=[
            "outreach",
            "reports",
            "preview",
            "--week",
            "2026-W47",
            "--area",
            "durham",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert runner.invoke(args=["outreach", "reports", "preview", "--week", "47"]).exit_code == 2
    bad_area = runner.invoke(args=["outreach", "reports", "preview", "--area", "nowhere"])
    assert bad_area.exit_code == 1 and "nowhere" in bad_area.output
    unknown = runner.invoke(args=["outreach", "reports", "send", "--to", "nobody@example.test"])
    assert unknown.exit_code == 1
    sent = runner.invoke(
        args=[
            "outreach",
            "reports",
            "send",
            "--week",
            "2026-W47",
            "--to",
            "commissioner@example.test",
        ]
    )
    assert sent.exit_code == 0, sent.output
    assert "2026-W47\tcommissioner@example.test\tsent" in sent.output
    again = runner.invoke(
        args=[
            "outreach",
            "reports",
            "send",
            "--week",
            "2026-W47",
            "--to",
            "commissioner@example.test",
        ]
    )
    assert "skipped" in again.output
    assert len(smtp.messages) == 1
