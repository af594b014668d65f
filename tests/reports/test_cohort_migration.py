"""The pathway ledger's migration withdraws the cohort cells of weekly releases made
before it (published at W+3, W+6 and W+12 and recounted each time, they could be
differenced) and keeps every other stored cell as issued."""

from __future__ import annotations

import json

from flask_migrate import upgrade
from sqlalchemy import text

from outreach import ROOT, create_app
from outreach.core.extensions import db
from tests.conftest import TEST_CONFIG
from tests.core.test_migrations import _empty_database


def test_releases_made_before_the_ledger_lose_their_cohorts_only(database_url, tmp_path):
    url, drop = _empty_database(database_url, tmp_path)
    cells = {
        "durham/interventions": "12",
        "durham/referrals_made": "7",
        "durham/cohort_3w_referred": "8",
        "durham/cohort_3w_entered": "5",
        "scope:dorset,durham/cohort_12w_entered": "*",
    }
    try:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="shared_0001")
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO report_release (id, kind, period, issued_at, cells, "
                        "scopes, created_at) VALUES (1, 'week', '2026-W47', :at, :cells, "
                        "'{}', :at)"
                    ),
                    {"at": "2026-12-01 00:00:00+00:00", "cells": json.dumps(cells)},
                )
            upgrade(directory=str(ROOT / "migrations"))
            with db.engine.connect() as conn:
                stored, counted = conn.execute(
                    text("SELECT cells, steps_counted FROM report_release WHERE id = 1")
                ).one()
            stored = json.loads(stored) if isinstance(stored, str) else stored
            assert stored == {"durham/interventions": "12", "durham/referrals_made": "7"}
            assert not counted
            db.engine.dispose()
    finally:
        drop()
