"""The attacks of issue 18, as a commissioner would make them (each passed on the code
before releases): a late record into a published week, the revisions table, the
current week. The commissioner keeps every JSON, CSV, PDF and email; nothing they
hold may differ for the same figure, or pin a hidden one."""

from __future__ import annotations

import email
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from outreach.access.models import User
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.reports import releases
from outreach.reports.delivery import deliver_due
from outreach.reports.models import ReportRelease
from outreach.reports.weeks import current_week
from tests.conftest import need
from tests.reports.attacker import Collected
from tests.sync.helpers import intervention_data, mutation, push

W48 = "2026-W48"  # 23 to 29 November 2026: released on Monday 7 December, 00:00 UK time
RELEASED = datetime(2026, 12, 7, 9, tzinfo=UTC)
NEW_YEAR = datetime(2027, 1, 4, 9, tzinfo=UTC)  # December's late records are counted


@pytest.fixture
def clock(monkeypatch):
    """The reports' clock (the API's `now`), moved by the test."""
    moment = {"now": RELEASED}
    monkeypatch.setattr(releases, "clock", lambda: moment["now"])
    return moment


def _fetch(api, week, seen: Collected, codes=("durham",)) -> dict:
    response = api.get(f"/api/v1/reports/weekly?week={week}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    seen.add_json(body)
    csv = api.get(f"/api/v1/reports/weekly.csv?week={week}")
    seen.add_csv(csv.get_data(as_text=True), list(codes))
    return body


def _figures(body: dict) -> dict:
    s = body["summary"]
    out = {h["measure"]: h["value"] for h in s["headline"]}
    out.update({r["code"]: r["value"] for r in s["by_type"]})
    out.update({r["name"]: r["value"] for r in s.get("by_team") or []})
    return out


def _late_push(login, who: str, type_: str, when: str) -> None:
    """A phone back online pushes a record dated in an earlier week."""
    result = push(
        login(who), [mutation("intervention", intervention_data(type=type_, occurred_at=when))]
    )
    assert result["results"][0]["status"] in ("applied", "created"), result


def _safe(seen: Collected) -> None:
    assert seen.differences() == []
    assert seen.small_differences() == []
    for release in sorted(seen.releases()):
        assert seen.determined(release) == [], release


def test_a_late_record_does_not_move_a_published_week(ctx, world, record, login, clock):
    record("custody", when="2026-11-24T10:00:00Z", n=9)
    record("street", when="2026-11-25T10:00:00Z", n=19)
    commissioner = login("commissioner")
    seen = Collected()
    before = _fetch(commissioner, W48, seen)
    pdf_before = _pdf_text(commissioner.get(f"/api/v1/reports/weekly.pdf?week={W48}").data)
    figures = _figures(before)
    assert figures["interventions"] == "28"
    assert figures["overdose_response"] == "0"
    assert figures["Durham Custody Liaison"] == "9"

    # A custody worker's phone pushes one overdose response dated in that week.
    _late_push(login, "custody", "overdose_response", "2026-11-26T22:00:00+00:00")
    after = _fetch(commissioner, W48, seen)
    assert after == before  # the same release, figure for figure
    pdf_after = _pdf_text(commissioner.get(f"/api/v1/reports/weekly.pdf?week={W48}").data)
    assert pdf_after == pdf_before and "Durham Custody Liaison" in pdf_after

    # Weeks later (and after December's late records are counted) it still reads 28,
    # in every week's trend; the overdose response is counted only as a late record.
    clock["now"] = NEW_YEAR
    for week in ("2026-W49", "2026-W50", "2026-W51", "2026-W52"):
        body = _fetch(commissioner, week, seen)
    late = body["late_records"]
    assert late["period"] == "2026-12" and late["weeks"] == W48
    assert "2026-W48" in late["note"]
    counted = {f["measure"]: f["value"] for f in late["sections"][0]["figures"]}
    assert counted["interventions"] == "<5"
    assert counted["type:overdose_response"] == "<5"
    assert seen.seen[(W48, "durham", "interventions")] == {"28"}
    _safe(seen)


def _pdf_text(pdf: bytes) -> str:
    need(
        subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0,
        "pdftotext (poppler-utils) is not installed",
    )
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def _emails(smtp, to: str) -> list[tuple[str, str]]:
    out = []
    for envelope in smtp.messages:
        if envelope.rcpt_tos != [to]:
            continue
        message = email.message_from_bytes(envelope.content)
        body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        pdf = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
        out.append(
            (body.get_payload(decode=True).decode(), _pdf_text(pdf.get_payload(decode=True)))
        )
    return out


def test_no_revisions_table_states_a_small_change(
    app, ctx, world, record, login, clock, smtp, monkeypatch
):
    monkeypatch.setitem(app.config, "REPORT_CATCH_UP_WEEKS", 1)
    db.session.execute(
        update(User)
        .where(User.role == "commissioner")
        .values(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    )
    db.session.commit()
    record("street", when="2026-11-25T10:00:00Z", n=19)
    record("custody", when="2026-11-25T11:00:00Z", n=10)
    assert {o.period for o in deliver_due(datetime(2026, 12, 7, 8, tzinfo=UTC))} == {W48}

    # After the week was sent, a late hepatitis B vaccination arrives for it.
    _late_push(login, "worker", "hbv_vaccination", "2026-11-27T10:00:00+00:00")
    clock["now"] = datetime(2026, 12, 14, 9, tzinfo=UTC)
    assert {o.period for o in deliver_due(datetime(2026, 12, 14, 8, tzinfo=UTC))} == {"2026-W49"}
    commissioner = login("commissioner")
    seen = Collected()
    body = _fetch(commissioner, "2026-W49", seen)
    assert "revisions" not in body
    previous = {h["measure"]: h["previous"] for h in body["summary"]["headline"]}
    assert previous["interventions"] == "29"  # as sent for week 48, not 30
    assert body["late_records"] is None  # no month has ended since a week was released
    sent = _emails(smtp, "commissioner@example.test")
    assert len(sent) == 2
    for text, pdf in sent:
        assert "changed since" not in text
        assert "Revisions" not in pdf and "Was" not in pdf

    # December's late records, counted in January: the vaccination only as <5.
    clock["now"] = NEW_YEAR
    deliver_due(datetime(2027, 1, 4, 8, tzinfo=UTC))
    body = _fetch(commissioner, "2026-W52", seen)
    _fetch(commissioner, W48, seen)
    late = body["late_records"]
    assert late["period"] == "2026-12" and late["weeks"] == W48
    counted = {f["measure"]: f["value"] for f in late["sections"][0]["figures"]}
    assert counted["type:hbv_vaccination"] == "<5"
    assert counted["interventions"] == "<5"
    last_email, last_pdf = _emails(smtp, "commissioner@example.test")[-1]
    assert "late" in last_email and "Late records" in last_pdf
    _safe(seen)


def test_the_current_week_is_not_served(ctx, world, login):
    """On the real clock: this week and last (still settling) answer 404 with the date."""
    now = utcnow()
    this = current_week(now, "Europe/London")
    commissioner = login("commissioner")
    for week in (this, this.shift(-1)):
        response = commissioner.get(f"/api/v1/reports/weekly?week={week}")
        assert response.status_code == 404, response.get_json()
        body = response.get_json()
        assert "is released on" in body["message"]
        assert body["errors"]["week"][0].startswith("Released on 20")
    # A record pushed now changes nothing a commissioner can fetch.
    _late_push(login, "custody", "bbv_test", (now - timedelta(minutes=30)).isoformat())
    assert commissioner.get(f"/api/v1/reports/weekly?week={this}").status_code == 404
    latest = commissioner.get("/api/v1/reports/weekly").get_json()
    assert latest["week"] == str(this.shift(-2))
    assert latest["complete"] is True and latest["draft"] is False and latest["released_at"]
    assert commissioner.get("/api/v1/reports/weekly?draft=true").status_code == 403
    assert commissioner.get(f"/api/v1/reports/weekly.csv?week={this}").status_code == 404
    # Admins may look at a draft, clearly marked; it releases nothing.
    draft = login("admin").get("/api/v1/reports/weekly?draft=true").get_json()
    assert draft["draft"] is True and draft["week"] == str(this)
    assert draft["release_note"].startswith("DRAFT")
    assert draft["released_at"] is None
    assert (
        db.session.scalar(select(ReportRelease.id).where(ReportRelease.period == str(this))) is None
    )
