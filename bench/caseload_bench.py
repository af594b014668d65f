"""Caseload benchmark: a team of 2,000 clients and 50,000 interventions.

Times the team overview and the attention list built through the caseload services
(`outreach.caseload.queries`) and through the API as a team lead, against a bare
aggregate query (interventions per worker of the team) measured in the same run.
Target: the overview under 300 ms on SQLite and PostgreSQL. Not a test: it prints.

    python bench/caseload_bench.py                      # SQLite, a temporary file
    python bench/caseload_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test_caseload_bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from bench.common import BENCH_PASSWORD, ensure_database

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test_caseload_bench"
CLIENTS = 2_000
INTERVENTIONS = 50_000
WORKERS = 12
FOLLOW_UPS = 4_000
DUPLICATES = 40
CHUNK = 5_000
PASSWORD = BENCH_PASSWORD
TYPES = [
    "naloxone_supplied",
    "needle_syringe_provision",
    "harm_reduction_advice",
    "bbv_test",
    "wound_care",
    "brief_intervention",
    "referral_structured_treatment",
    "referral_other",
    "treatment_entry_confirmed",
]


def generate(db, clients: int, interventions: int) -> dict:
    """One area, the bench team (a lead and workers) and a second, noisy team."""
    from outreach.access.models import Area, Device, Team
    from outreach.core.types import utcnow
    from outreach.interventions.models import FollowUp, Intervention
    from outreach.org.service import create_user
    from outreach.people.models import Client, ClientDuplicate
    from outreach.records.sequence import allocate_seqs

    rng = random.Random(5)
    now = utcnow()
    area = Area(code="bench", name="Bench", region="Bench region")
    db.session.add(area)
    db.session.flush()
    teams = []
    for name in ("Bench team", "Noise team"):
        team = Team(area_id=area.id, name=name, provider="Bench")
        db.session.add(team)
        db.session.flush()
        teams.append(team.id)
    team_id, noise_id = teams
    lead = create_user(
        "lead@bench.test",
        "Bench Lead",
        "team_lead",
        PASSWORD,
        team_id=team_id,
        actor_id=None,
        commit=False,
    )
    workers = [lead.id] + [
        create_user(
            f"worker{i}@bench.test",
            f"Worker {i:02d}",
            "worker",
            PASSWORD,
            team_id=team_id,
            actor_id=None,
            commit=False,
        ).id
        for i in range(WORKERS)
    ]
    noise_worker = create_user(
        "noise@bench.test",
        "Noise",
        "worker",
        PASSWORD,
        team_id=noise_id,
        actor_id=None,
        commit=False,
    ).id
    for user_id in workers:
        for _ in range(2):
            db.session.add(
                Device(
                    id=uuid.uuid4(),
                    user_id=user_id,
                    label="phone",
                    last_sync_at=now - timedelta(hours=rng.randint(1, 200)),
                )
            )
    db.session.commit()

    seqs = iter(allocate_seqs(clients * 2 + interventions * 2 + FOLLOW_UPS))

    def next_seq():
        return next(seqs)

    client_rows = []
    for i in range(clients * 2):
        own = i < clients
        created = now - timedelta(days=rng.randint(1, 400))
        client_rows.append(
            {
                "id": uuid.uuid4(),
                "team_id": team_id if own else noise_id,
                "area_id": area.id,
                "initials": rng.choice(["AB", "CD", "EF", "GHJ"]),
                "date_of_birth": date(1960, 1, 1) + timedelta(days=rng.randint(0, 15000)),
                "sex": rng.choice(["male", "female"]),
                "postcode_district": "DH1",
                "key_worker_id": rng.choice([*workers, None]) if own else noise_worker,
                "version": 1,
                "server_seq": next_seq(),
                "created_at": created,
                "updated_at": created,
                "deleted_at": now if own and rng.random() < 0.02 else None,
            }
        )
    own_clients = [c["id"] for c in client_rows[:clients]]
    noise_clients = [c["id"] for c in client_rows[clients:]]
    _insert(db, Client, client_rows)
    rows = []
    for i in range(interventions * 2):
        own = i < interventions
        when = now - timedelta(minutes=rng.randint(0, 182 * 24 * 60))
        rows.append(
            {
                "id": uuid.uuid4(),
                "client_id": rng.choice(own_clients if own else noise_clients)
                if rng.random() < 0.9
                else None,
                "worker_id": rng.choice(workers) if own else noise_worker,
                "team_id": team_id if own else noise_id,
                "area_id": area.id,
                "type": rng.choice(TYPES),
                "occurred_at": when,
                "location": "street",
                "substances": ["opioids"],
                "version": 1,
                "server_seq": next_seq(),
                "created_at": when,
                "updated_at": when,
                "deleted_at": now if rng.random() < 0.01 else None,
            }
        )
        if len(rows) >= CHUNK:
            _insert(db, Intervention, rows)
            rows = []
    _insert(db, Intervention, rows)
    today = now.date()
    follow_ups = [
        {
            "id": uuid.uuid4(),
            "client_id": rng.choice(own_clients),
            "team_id": team_id,
            "due_on": today + timedelta(days=rng.randint(-60, 30)),
            "reason": "Check in",
            "assigned_to_id": rng.choice([*workers, None]),
            "done_at": now if rng.random() < 0.6 else None,
            "version": 1,
            "server_seq": next_seq(),
            "created_at": now,
            "updated_at": now,
        }
        for _ in range(FOLLOW_UPS)
    ]
    _insert(db, FollowUp, follow_ups)
    pairs = set()
    while len(pairs) < DUPLICATES:
        a, b = rng.sample(own_clients, 2)
        pairs.add((a, b))
    _insert(
        db,
        ClientDuplicate,
        [{"team_id": team_id, "client_id": a, "other_client_id": b} for a, b in pairs],
    )
    db.session.commit()
    return {"team_id": team_id, "lead_email": "lead@bench.test"}


def _insert(db, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[start : start + CHUNK])


def timed(fn, repeat: int) -> tuple[float, float]:
    """(median, best) milliseconds of `repeat` runs after one warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", help=f"default: SQLite temp file; PostgreSQL: {PG_DEFAULT}"
    )
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--interventions", type=int, default=INTERVENTIONS)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    tmp = None
    url = args.database_url
    if not url:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'caseload_bench.db'}"
    ensure_database(url)

    from outreach import create_app
    from outreach.caseload import queries, selection
    from outreach.caseload.clock import make_clock
    from outreach.core.extensions import db
    from outreach.interventions.models import Intervention

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "PASSWORD_HASH_FAST": True,
            "SECRET_KEY": "caseload-bench-secret-key-0000000000000",
            "JWT_SECRET_KEY": "caseload-bench-jwt-secret-0000000000000",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        info = generate(db, args.clients, args.interventions)
        print(
            f"{make_url(url).get_backend_name()}: {args.clients:,} clients, "
            f"{args.interventions:,} interventions in the team (as many again in another "
            f"team), loaded in {time.perf_counter() - started:.1f} s"
        )
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        team_id = info["team_id"]
        clock = make_clock()

        def baseline():
            db.session.execute(
                select(Intervention.worker_id, func.count())
                .where(Intervention.team_id == team_id)
                .group_by(Intervention.worker_id)
            ).all()

        def overview():
            queries.team_overview(team_id, make_clock())

        def attention():
            rows = queries.client_summaries(team_id, clock)
            selection.select_clients(
                rows,
                clock,
                team_id=team_id,
                args={"page": 1, "per_page": 50},
                attention=(14, 28),
            )

        figures = {
            "baseline (bare GROUP BY)": timed(baseline, args.repeat),
            "overview (service)": timed(overview, args.repeat),
            "attention list (service)": timed(attention, args.repeat),
        }
        db.session.remove()

    client = app.test_client()
    token = client.post(
        "/api/v1/auth/login",
        json={"email": info["lead_email"], "password": PASSWORD, "device_id": str(uuid.uuid4())},
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def api(path):
        def call():
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:200]

        return call

    figures["overview (API, lead)"] = timed(api("/api/v1/caseload/overview"), args.repeat)
    figures["attention list (API, lead)"] = timed(api("/api/v1/caseload/attention"), args.repeat)
    base = figures["baseline (bare GROUP BY)"][0]
    print(f"{'':28} {'median ms':>10} {'best ms':>9} {'x baseline':>11}")
    for name, (median, best) in figures.items():
        print(f"{name:28} {median:10.1f} {best:9.1f} {median / base:11.1f}")
    target = figures["overview (service)"][0]
    print(f"overview target < 300 ms: {'met' if target < 300 else 'NOT met'} ({target:.1f} ms)")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
