"""The PDF read back against the JSON, the CSV, and the API's scope rules."""

from __future__ import annotations

import csv
import io
import re
import subprocess

import pytest

from outreach.reports.assembly import build_report
from outreach.reports.render import render_pdf
from outreach.reports.weeks import IsoWeek

W46, W47 = IsoWeek(2026, 46), IsoWeek(2026, 47)


def test_pdf_text_matches_json(ctx, world, record, clients):
    street = clients("street", 7)
    record(type_="naloxone_supplied", when="2026-11-17T10:00:00Z", clients=street, n=7, quantity=2)
    record(type_="diversion", when="2026-11-18T10:00:00Z", clients=street[:2], n=2)
    record("dorset", "brief_intervention", "2026-11-19T10:00:00Z", n=9)
    record(when="2026-11-10T10:00:00Z", n=12)  # week 46
    report = build_report([world.area_ids["durham"], world.area_ids["dorset"]], W47)
    pdf = render_pdf(report)
    report = report.public()
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    pages = text.split("\f")
    first = pages[0]
    assert "Week 2026-W47: 16 November to 22 November 2026" in first
    for h in report["summary"]["headline"]:
        change = h["change"] if h["change"] is not None else "\u2013"
        pattern = r"\s+".join(re.escape(x) for x in (h["label"], h["value"], h["previous"], change))
        assert re.search(pattern, first), (h, first)
    for section in report["sections"]:
        page = next(p for p in pages if p.lstrip().startswith(section["scope"]["name"]))
        for h in section["headline"]:
            assert re.search(re.escape(h["label"]) + r"\s+" + re.escape(h["value"]), page)
    assert "Page 1 of" in first
    ending = "".join(pages[-3:])  # the definitions (with the pathways') take the last pages
    assert "Definitions" in ending and "shown as <5" in ending
    assert "Naloxone kits supplied" in first


def _csv(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize(
    "who,query,status",
    [
        ("worker", "", 403),
        ("lead", "", 403),
        ("commissioner", "", 200),
        ("commissioner", "?area=durham", 200),
        ("commissioner", "?area=dorset", 404),
        ("commissioner", "?area=nowhere", 404),
        ("commissioner_sw", "?area=durham", 404),
        ("admin", "?area=dorset", 200),
        ("admin", "?area=nowhere", 404),
        ("commissioner", "?week=2026-W99", 422),
        ("commissioner", "?week=47", 422),
        ("commissioner", "?week=2030-W01", 404),
        ("commissioner", "?week=2025-W53", 404),
        ("commissioner", "?week=2026-W47", 200),
    ],
)
def test_weekly_report_roles_and_scope(login, who, query, status):
    response = login(who).get("/api/v1/reports/weekly" + query)
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    if status == 200:
        assert response.headers["Cache-Control"] == "no-store"
        assert set(body) >= {"week", "released_at", "summary", "sections", "late_records"}
    else:
        assert body["code"] == status
    if status != 200 and "week" in query:
        assert "week" in body["errors"]


def test_report_endpoints_show_only_suppressed_figures(ctx, world, record, clients, login):
    people = clients("street", 3)
    record(type_="naloxone_supplied", when="2026-11-17T10:00:00Z", clients=people, n=3)
    record(when="2026-11-18T10:00:00Z", n=9)
    record("dorset", when="2026-11-18T10:00:00Z", n=2)
    commissioner = login("commissioner")
    body = commissioner.get("/api/v1/reports/weekly?week=2026-W47").get_json()
    assert [a["code"] for a in body["areas"]] == ["durham"]
    head = {h["measure"]: h["value"] for h in body["summary"]["headline"]}
    assert head["interventions"] == "12"
    assert head["clients"] == "<5"
    assert head["naloxone_kits"] == "0"  # no quantity recorded
    assert "cells" not in body and "figures" not in body
    blob = str(body)
    assert "AB" not in blob and "DH1" not in blob  # no client attributes anywhere

    rows = _csv(commissioner.get("/api/v1/reports/weekly.csv?week=2026-W47"))
    assert {r["scope"] for r in rows} == {"durham"}
    for r in rows:
        if r["measure"] == "median_days_to_first_contact":  # a median, not a count
            assert r["value"] in ("n/a", "*") or float(r["value"]) >= 0, r
            continue
        assert r["value"] in ("<5", "*", "0") or int(r["value"]) >= 5, r
    this = {r["measure"]: r["value"] for r in rows if r["week"] == "2026-W47"}
    assert this["interventions"] == "12" and this["type:naloxone_supplied"] == "<5"

    admin = login("admin")
    both = admin.get("/api/v1/reports/weekly?week=2026-W47").get_json()
    assert both["summary"]["scope"]["kind"] == "region"
    assert [s["scope"]["code"] for s in both["sections"]] == ["dorset", "durham"]
    response = admin.get("/api/v1/reports/weekly.pdf?week=2026-W47&area=dorset")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "outreach-2026-W47-dorset.pdf" in response.headers["Content-Disposition"]


def test_openapi_documents_reports(client):
    spec = client.get("/api/openapi.json").get_json()
    weekly = spec["paths"]["/api/v1/reports/weekly"]["get"]
    assert "422" in weekly["responses"] and "404" in weekly["responses"]
    assert "application/pdf" in str(spec["paths"]["/api/v1/reports/weekly.pdf"])
    assert "/api/v1/admin/deliveries" in spec["paths"]
