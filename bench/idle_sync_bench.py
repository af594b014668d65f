"""Idle sync benchmark (not a test): the server CPU of a pull at the team's high-water
mark and of a push of nothing, on the idle fast path (outreach/sync/idle.py) against
today's full path (the same app with `SYNC_IDLE_FAST_PATH` off), interleaved in one run.

    .venv/bin/python bench/idle_sync_bench.py --database-url postgresql+psycopg://...  # recreated
    .venv/bin/python bench/idle_sync_bench.py                                          # SQLite

In-process through Flask's test client (so the figures include the WSGI client's own
small cost, not gunicorn's HTTP parsing). For each request kind it times `--devices`
phones, each at its team's mark, in rounds: "fresh" rounds (the device's last sync was
written under a minute ago: nothing to write) and "stale" rounds (last sync older than a
minute, as for a phone syncing once a minute: one UPDATE). Reported per request: Python
CPU (this process) and PostgreSQL CPU (the app's backends, from /proc), medians of the
rounds, and the ratio fast/full. Target (issue 21): under 2 ms of server CPU.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import BENCH_PASSWORD
from outreach import create_app
from outreach.core.config import load_config
from outreach.core.extensions import db

PASSWORD = BENCH_PASSWORD
APP_NAME = "outreach-idle-bench"


def recreate(url: str) -> None:
    parsed = make_url(url)
    if parsed.database in (None, "", "postgres", "test", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {parsed.database!r}")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def make_app(url: str):
    options = dict(load_config()["SQLALCHEMY_ENGINE_OPTIONS"])
    if url.startswith("postgresql"):
        options["connect_args"] = {"application_name": APP_NAME}
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
            "PASSWORD_HASH_FAST": True,
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-000",
            "JWT_SECRET_KEY": "bench-jwt-secret-that-is-long-enough-000",
            "MATCH_KEY_SECRET": "bench-match-secret-that-is-long-enough-0",
        }
    )


def setup(app, devices: int) -> list[dict]:
    """A team with some records and `devices` signed-in workers, each pulled to the mark."""
    from outreach.access.models import Area, Team
    from outreach.org.service import create_user

    with app.app_context():
        db.create_all()
        area = Area(code="idle", name="Idle", region="Bench", active=True)
        db.session.add(area)
        db.session.flush()
        team = Team(area_id=area.id, name="Idle team", provider="Bench", active=True)
        db.session.add(team)
        db.session.flush()
        emails = [f"idle{i}@example.test" for i in range(devices)]
        for email in emails:
            create_user(
                email, email, "worker", PASSWORD, team_id=team.id, actor_id=None, commit=False
            )
        db.session.commit()
    client = app.test_client()
    phones = []
    for email in emails:
        device = str(uuid.uuid4())
        r = client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD, "device_id": device}
        )
        assert r.status_code == 200, r.get_json()
        phones.append(
            {"device": device, "auth": {"Authorization": "Bearer " + r.json["access_token"]}}
        )
    # Some records, so the team has a mark above zero.
    mutations = [
        {
            "mutation_id": str(uuid.uuid4()),
            "entity": "client",
            "op": "upsert",
            "id": str(uuid.uuid4()),
            "base_version": None,
            "data": {
                "initials": "ID",
                "date_of_birth": f"19{50 + i}-01-01",
                "sex": "male",
                "postcode_district": "DH1",
            },
        }
        for i in range(40)
    ]
    r = client.post(
        "/api/v1/sync/push",
        json={"schema_version": 1, "mutations": mutations},
        headers=phones[0]["auth"],
    )
    statuses = {x["status"] for x in r.json["results"]}
    assert r.status_code == 200 and statuses == {"applied"}, r.json["results"][:2]
    for phone in phones:
        cursor = None
        while True:
            r = client.get(
                "/api/v1/sync/pull",
                query_string={"cursor": cursor} if cursor else {},
                headers=phone["auth"],
            )
            assert r.status_code == 200, r.get_json()
            cursor = r.json["cursor"]
            if not r.json["has_more"]:
                break
        phone["cursor"] = cursor
    return phones


def backend_cpu(engine) -> float:
    """CPU seconds so far of the app's PostgreSQL backends (Linux /proc)."""
    if engine is None:
        return 0.0
    with engine.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"), {"n": APP_NAME}
        ).all()
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def make_stale(app) -> None:
    """Every device's last sync three minutes ago (last seen left recent), untimed."""
    from datetime import timedelta

    from sqlalchemy import update

    from outreach.access.models import Device
    from outreach.core.types import utcnow

    with app.app_context():
        db.session.execute(update(Device).values(last_sync_at=utcnow() - timedelta(minutes=3)))
        db.session.commit()


def one_round(app, client, phones, kind: str, fast: bool, watcher) -> tuple[float, float]:
    """(Python CPU, database CPU) per request for one pass over every phone."""
    app.config["SYNC_IDLE_FAST_PATH"] = fast
    cpu0, db0 = time.process_time(), backend_cpu(watcher)
    for phone in phones:
        if kind == "pull":
            r = client.get(
                "/api/v1/sync/pull",
                query_string={"cursor": phone["cursor"], "limit": 500},
                headers=phone["auth"],
            )
            assert r.status_code == 200 and r.json["changes"] == [], r.get_json()
        else:
            r = client.post(
                "/api/v1/sync/push",
                json={"device_id": phone["device"], "schema_version": 1, "mutations": []},
                headers=phone["auth"],
            )
            assert r.status_code == 200 and r.json["results"] == [], r.get_json()
    cpu = (time.process_time() - cpu0) / len(phones)
    return cpu, (backend_cpu(watcher) - db0) / len(phones)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("OUTREACH_DATABASE_URL"))
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    tmp = None
    url = args.database_url
    if url:
        recreate(url)
    else:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'idle.db'}"
    app = make_app(url)
    # The access log is written as in production (its cost counts), to nowhere.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the whole run
    watcher = create_engine(url) if url.startswith("postgresql") else None
    phones = setup(app, args.devices)
    client = app.test_client()
    print(f"database: {url.split(':', 1)[0]}; {args.devices} phones at their team's mark")
    results: dict = {}
    for kind in ("pull", "push"):
        for freshness in ("fresh", "stale"):
            for fast in (False, True):  # warm both paths
                one_round(app, client, phones, kind, fast, watcher)
            samples: dict[bool, list] = {False: [], True: []}
            for _ in range(args.rounds):
                for fast in (False, True):  # interleaved: both see the same machine
                    if freshness == "stale":
                        make_stale(app)
                    samples[fast].append(one_round(app, client, phones, kind, fast, watcher))
            results[(kind, freshness)] = samples
    app.config["SYNC_IDLE_FAST_PATH"] = True
    print(
        f"{'request':22} {'full py ms':>10} {'full db ms':>10} {'fast py ms':>10} "
        f"{'fast db ms':>10} {'fast/full':>9}"
    )
    for (kind, freshness), samples in results.items():
        full_py = statistics.median(s[0] for s in samples[False]) * 1000
        full_db = statistics.median(s[1] for s in samples[False]) * 1000
        fast_py = statistics.median(s[0] for s in samples[True]) * 1000
        fast_db = statistics.median(s[1] for s in samples[True]) * 1000
        ratio = (fast_py + fast_db) / (full_py + full_db)
        label = f"{'idle pull' if kind == 'pull' else 'empty push'} ({freshness})"
        print(
            f"{label:22} {full_py:>10.2f} {full_db:>10.2f} {fast_py:>10.2f} "
            f"{fast_db:>10.2f} {ratio:>9.0%}"
        )
    print("target: fast path under 2 ms of server CPU (Python + PostgreSQL) per idle sync")
    if watcher is not None:
        watcher.dispose()
    with app.app_context():
        db.engine.dispose()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
