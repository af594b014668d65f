"""Sync benchmark (not a test): push ingest through the whole Flask stack against a
raw SQLAlchemy Core executemany of the same rows, a 5,000-record backlog push, and a
5,000-client first pull, all in one run on one database.

    .venv/bin/python bench/sync_bench.py                       # SQLite in a temp dir
    .venv/bin/python bench/sync_bench.py --database-url postgresql+psycopg://...

`--database-url` (or OUTREACH_DATABASE_URL) should name a throwaway database: the
bench creates the tables if missing and adds its own area, team and users.
Targets (issue 3): push ingest >= 30% of the raw rate; 5,000-record backlog < 2 s of
server time; 5,000-client first pull < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from bench.common import BENCH_PASSWORD
from outreach import create_app
from outreach.access.models import Area, Team
from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.org.service import create_user
from outreach.people.matching import match_key
from outreach.people.models import Client
from outreach.records.sequence import allocate_seqs, log_changes

PASSWORD = BENCH_PASSWORD
TRIGGER = "report_rollup_insert"  # outreach/reports/rollups.py
BATCH = 500


def build_org(suffix: str) -> dict:
    area = Area(code=f"bench-{suffix}", name=f"Bench {suffix}", region="Bench", active=True)
    db.session.add(area)
    db.session.flush()
    teams = {}
    for key in ("push", "pull", "raw"):
        team = Team(area_id=area.id, name=f"Bench {key} {suffix}", provider="Bench", active=True)
        db.session.add(team)
        db.session.flush()
        teams[key] = team.id
    users = {}
    for key in ("push", "pull"):
        email = f"bench-{key}-{suffix}@example.test"
        user = create_user(
            email,
            f"Bench {key}",
            "worker",
            PASSWORD,
            team_id=teams[key],
            actor_id=None,
            commit=False,
        )
        users[key] = (user.id, email)
    db.session.commit()
    return {"area": area.id, "teams": teams, "users": users}


def login(client, email: str) -> dict:
    r = client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD, "device_id": str(uuid.uuid4())},
    )
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['access_token']}"}


def intervention_payload(now: datetime, n: int) -> dict:
    return {
        "type": "naloxone_supplied",
        "occurred_at": (now - timedelta(minutes=n % 5000)).isoformat(),
        "location": "street",
        "substances": ["opioids"],
        "quantity": 1 + n % 5,
        "notes": "Bench contact",
    }


def bench_push(app, org, batches: int, headers=None) -> list[float]:
    """Push `batches` x 500 new interventions through the test client: seconds per batch."""
    client = app.test_client()
    headers = headers or login(client, org["users"]["push"][1])
    now = datetime.now(UTC)
    bodies = []
    for b in range(batches):
        mutations = [
            {
                "mutation_id": str(uuid.uuid4()),
                "entity": "intervention",
                "op": "upsert",
                "id": str(uuid.uuid4()),
                "base_version": None,
                "data": intervention_payload(now, b * BATCH + i),
            }
            for i in range(BATCH)
        ]
        # Encoded before timing: the phone's JSON encoding is not server time.
        bodies.append(json.dumps({"schema_version": 1, "mutations": mutations}).encode())
    times = []
    for body in bodies:
        start = time.perf_counter()
        r = client.post(
            "/api/v1/sync/push", data=body, content_type="application/json", headers=headers
        )
        times.append(time.perf_counter() - start)
        assert r.status_code == 200, r.get_json()
        statuses = {x["status"] for x in r.get_json()["results"]}
        assert statuses == {"applied"}, statuses
    return times


def bench_raw(app, org, batches: int, *, rollup_trigger: bool = True) -> list[float]:
    """The same rows by raw Core executemany, one transaction per 500: seconds per batch.

    On PostgreSQL a statement-level trigger keeps the report roll-ups; psycopg's
    executemany sends one INSERT per row, so the trigger runs 500 times per batch (a
    push's COPY runs it once). `rollup_trigger=False` disables it for the raw
    transaction: the bare cost of the rows, the stricter baseline."""
    now = datetime.now(UTC)
    user_id = org["users"]["push"][0]
    times = []
    with app.app_context():
        for b in range(batches):
            rows = []
            for i in range(BATCH):
                p = intervention_payload(now, b * BATCH + i)
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "client_id": None,
                        "worker_id": user_id,
                        "team_id": org["teams"]["raw"],
                        "area_id": org["area"],
                        "device_id": None,
                        "type": p["type"],
                        "occurred_at": datetime.fromisoformat(p["occurred_at"]),
                        "location": p["location"],
                        "substances": p["substances"],
                        "quantity": p["quantity"],
                        "outcome": None,
                        "referral_to": None,
                        "follow_up_on": None,
                        "notes": p["notes"],
                        "version": 1,
                        "server_seq": 0,
                        "created_at": now,
                        "updated_at": now,
                        "deleted_at": None,
                    }
                )
            toggle = not rollup_trigger and db.engine.dialect.name == "postgresql"
            if toggle:
                db.session.execute(text(f"ALTER TABLE intervention DISABLE TRIGGER {TRIGGER}"))
            start = time.perf_counter()
            db.session.execute(insert(Intervention.__table__), rows)
            if toggle:
                db.session.execute(text(f"ALTER TABLE intervention ENABLE TRIGGER {TRIGGER}"))
            db.session.commit()
            times.append(time.perf_counter() - start)
    return times


def load_clients(app, org, count: int) -> None:
    """5,000 clients for the pull team, with sequence numbers and change-log rows."""
    now = datetime.now(UTC)
    with app.app_context():
        rows = []
        for i in range(count):
            dob = date(1960, 1, 1) + timedelta(days=i)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "team_id": org["teams"]["pull"],
                    "area_id": org["area"],
                    "initials": "AB",
                    "date_of_birth": dob,
                    "sex": "male",
                    "postcode_district": "DH1",
                    "known_as": None,
                    "match_key": match_key("AB", dob, "male"),
                    "key_worker_id": None,
                    "created_by_id": None,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                    "merged_into_id": None,
                    "anonymised_at": None,
                }
            )
        for row, seq in zip(rows, allocate_seqs(count, [org["teams"]["pull"]]), strict=True):
            row["server_seq"] = seq
        db.session.execute(insert(Client.__table__), rows)
        log_changes([(r["server_seq"], r["team_id"], "client", r["id"], "upsert") for r in rows])
        db.session.commit()


def bench_pull(app, org, limit: int) -> tuple[float, int, int]:
    """A first pull of the whole scope: (seconds, records, pages)."""
    client = app.test_client()
    headers = login(client, org["users"]["pull"][1])
    cursor, records, pages, elapsed = None, 0, 0, 0.0
    while True:
        query = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        start = time.perf_counter()
        r = client.get("/api/v1/sync/pull", query_string=query, headers=headers)
        elapsed += time.perf_counter() - start
        assert r.status_code == 200, r.get_json()
        page = r.get_json()
        records += len(page["changes"])
        pages += 1
        cursor = page["cursor"]
        if not page["has_more"]:
            return elapsed, records, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("OUTREACH_DATABASE_URL"))
    parser.add_argument("--batches", type=int, default=10, help="batches of 500 (default 10)")
    parser.add_argument("--clients", type=int, default=5000)
    args = parser.parse_args()
    url = args.database_url
    tmp = None
    if not url:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_FAST": True,
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-000",
            "JWT_SECRET_KEY": "bench-jwt-secret-that-is-long-enough-000",
            "MATCH_KEY_SECRET": "bench-match-secret-that-is-long-enough-0",
        }
    )
    with app.app_context():
        db.create_all()
        org = build_org(uuid.uuid4().hex[:8])
    backend = url.split(":", 1)[0]
    print(f"database: {backend}")
    headers = login(app.test_client(), org["users"]["push"][1])
    postgres = backend.startswith("postgresql")
    # Warm up every path once (imports, prepared statements, caches).
    bench_push(app, org, 1, headers)
    bench_raw(app, org, 1)
    if postgres:
        bench_raw(app, org, 1, rollup_trigger=False)
    # Interleave them, batch by batch, so all see the same machine load.
    push_t, raw_t, bare_t = [], [], []
    for _ in range(args.batches):
        push_t += bench_push(app, org, 1, headers)
        raw_t += bench_raw(app, org, 1)
        if postgres:
            bare_t += bench_raw(app, org, 1, rollup_trigger=False)
    rows = args.batches * BATCH
    push_s = sum(push_t)
    print(
        f"push via Flask: {rows} interventions in {push_s:.3f} s = {rows / push_s:,.0f} rows/s "
        f"({args.batches} batches of {BATCH}; median batch {statistics.median(push_t):.3f} s)"
    )
    baselines = [("raw Core executemany", raw_t)]
    if postgres:
        baselines = [
            ("raw Core executemany (roll-up trigger on, once per row)", raw_t),
            ("raw Core executemany, roll-up trigger off (target)", bare_t),
        ]
    for label, times in baselines:
        raw_s = sum(times)
        median_ratio = statistics.median(times) / statistics.median(push_t)
        print(
            f"{label}: {rows} rows in {raw_s:.3f} s = {rows / raw_s:,.0f} rows/s "
            f"(median batch {statistics.median(times):.3f} s); ratio push/raw: "
            f"{raw_s / push_s:.0%} overall, {median_ratio:.0%} by median batch "
            "(target >= 30%)"
        )
    print(f"{rows}-record backlog pushed in {push_s:.3f} s server time (target < 2 s)")
    load_clients(app, org, args.clients)
    for limit in (1000, 500):
        pull_s, records, pages = bench_pull(app, org, limit)
        print(
            f"first pull of a {args.clients}-client team: {records} records in {pages} pages "
            f"(limit {limit}) in {pull_s:.3f} s (target < 1 s)"
        )
    if tmp is not None:
        with app.app_context():
            db.engine.dispose()
        tmp.cleanup()


if __name__ == "__main__":
    main()
