"""Releases: made once (even by two processes at once), the ledger's withdrawals,
OUTREACH_RELEASES_FROM, the scheduler's job, and the demo's backdated history."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from outreach.access.models import User
from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.reports import releases
from outreach.reports.models import ReportCounted, ReportRelease
from outreach.reports.weeks import IsoWeek
from tests.conftest import ApiClient

W47 = IsoWeek(2026, 47)  # 16 to 22 November 2026: released on Monday 30 November
AFTER = datetime(2026, 11, 30, 9, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    moment = {"now": AFTER}
    monkeypatch.setattr(releases, "clock", lambda: moment["now"])
    return moment


def _late(durham_release: ReportRelease) -> dict:
    return {k: v for k, v in durham_release.cells.items() if k.startswith("durham/")}


def test_two_processes_release_a_week_once(app, ctx, world, record):
    record(when="2026-11-18T10:00:00Z", n=7)
    barrier = threading.Barrier(3)
    made, errors = [], []

    def release():
        with app.app_context():
            try:
                barrier.wait()
                r = releases.release_week(W47, AFTER)
                made.append((r.id, r.cells))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=release) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len({m[0] for m in made}) == 1 and all(m[1] == made[0][1] for m in made)
    assert made[0][1]["durham/interventions"] == "7"
    assert db.session.scalar(select(func.count()).select_from(ReportCounted)) == 7


def test_deleted_and_edited_records_are_withdrawn_once(ctx, world, record, clock):
    rows = record(when="2026-11-18T10:00:00Z", n=12)
    releases.release_week(W47, AFTER)
    # After release: one record deleted, one moved to another type, one arrives late.
    iv = Intervention
    db.session.execute(
        update(iv)
        .where(iv.id == rows[0]["id"])
        .values(deleted_at=datetime(2026, 12, 1, tzinfo=UTC))
    )
    db.session.execute(update(iv).where(iv.id == rows[1]["id"]).values(type="wound_care"))
    db.session.commit()
    record(when="2026-11-19T10:00:00Z", type_="diversion", n=1)
    late = releases.release_late(datetime(2026, 12, 7, 8, tzinfo=UTC))
    assert late is not None and late.period == "2026-11"
    assert (late.first_week, late.last_week) == ("2026-W47", "2026-W47")
    cells = _late(late)
    assert cells["durham/withdrawn"] == "<5"  # the deleted and the edited record
    assert cells["durham/type:wound_care"] == "<5" and cells["durham/type:diversion"] == "<5"
    # The week's release is as issued; the ledger now holds each live record once.
    assert releases.release_week(W47).cells["durham/interventions"] == "12"
    counted = db.session.scalar(select(func.count()).select_from(ReportCounted))
    assert counted == 12  # 12 - deleted + late one
    # The next month's release counts nothing again.
    again = releases.release_late(datetime(2027, 1, 4, 8, tzinfo=UTC))
    assert again is not None and again.first_week is None
    assert set(_late(again).values()) == {"0"}
    # The same call again returns the same release.
    assert releases.release_late(datetime(2027, 1, 5, 8, tzinfo=UTC)).id == again.id


def test_weeks_before_releases_from_are_never_released(
    app, ctx, world, record, login, clock, monkeypatch
):
    monkeypatch.setitem(app.config, "RELEASES_FROM", "2026-W46")
    record(when="2026-11-10T10:00:00Z", n=8)  # week 46
    record(when="2026-11-04T10:00:00Z", n=6)  # week 45
    commissioner = login("commissioner")
    before = commissioner.get("/api/v1/reports/weekly?week=2026-W45")
    assert before.status_code == 404
    assert "Weeks before 2026-W46 are not published" in before.get_json()["message"]
    body = commissioner.get("/api/v1/reports/weekly?week=2026-W47").get_json()
    assert [t["week"] for t in body["summary"]["trend"]] == ["2026-W46", "2026-W47"]
    assert (
        db.session.scalar(select(ReportRelease.id).where(ReportRelease.period == "2026-W45"))
        is None
    )
    monkeypatch.setitem(app.config, "RELEASES_FROM", "2026-11-09")  # a date: its week
    assert releases.releases_from() == IsoWeek(2026, 46)


def test_the_scheduler_job_releases_then_sends_once(
    app, ctx, world, record, smtp, clock, monkeypatch
):
    from outreach.jobs.scheduler import send_due_reports

    db.session.execute(update(User).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    db.session.commit()
    monkeypatch.setitem(app.config, "REPORT_CATCH_UP_WEEKS", 1)
    record(when="2026-11-18T10:00:00Z", n=7)
    clock["now"] = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # released, not yet sent
    send_due_reports()
    assert smtp.messages == []
    weeks = db.session.scalars(select(ReportRelease.period).where(ReportRelease.kind == "week"))
    assert max(weeks) == str(W47)  # with the earlier weeks of its trend
    clock["now"] = AFTER
    send_due_reports()
    record(when="2026-11-18T11:00:00Z", n=1)  # late: the retry below sends the same
    send_due_reports()
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "commissioner@example.test",
        "commissioner_sw@example.test",
    ]


def test_demo_has_released_weeks(app, client, runner):
    assert runner.invoke(args=["outreach", "demo"]).exit_code == 0
    with app.app_context():
        weekly = db.session.scalars(
            select(ReportRelease).where(ReportRelease.kind == "week").order_by(ReportRelease.period)
        ).all()
        assert len(weekly) == 16  # 12 of trend, and 4 earlier: the cohorts of the last 4
        for release in weekly:
            assert release.issued_at == releases.release_time(IsoWeek.parse(release.period))
        late = db.session.scalars(select(ReportRelease).where(ReportRelease.kind == "late")).all()
        assert any(r.first_week for r in late)  # records the demo makes arrive late
        latest = weekly[-1]
        expected = latest.issued_at.isoformat().replace("+00:00", "Z")
    commissioner = ApiClient(
        client, "commissioner.southwest@outreach.test", password="outreach-demo"
    )
    body = commissioner.get("/api/v1/reports/weekly").get_json()
    assert body["week"] == latest.period and body["released_at"] == expected
    assert len(body["summary"]["trend"]) == 12
    assert body["summary"]["scope"]["kind"] == "region"
    assert body["late_records"]["note"]
