"""The bench's world: a recreated PostgreSQL database, migrated; an area, teams with a
caseload each and one worker per phone (bulk inserted: 5,000 accounts in seconds); and
gunicorn servers (gunicorn.conf.py) on free loopback ports, each its own process group."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PASSWORD = "load-test-password"


def recreate_database(url: str) -> None:
    """Drop and create the bench database (never `test` or a default database)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit(
            "the load bench runs on PostgreSQL (--database-url postgresql+psycopg://...)"
        )
    if name in (None, "", "postgres", "test", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}: use a dedicated one")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def server_env(url: str, port: int, args) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        OUTREACH_DATABASE_URL=url,
        OUTREACH_SECRET_KEY=SECRETS["key"],
        OUTREACH_JWT_SECRET=SECRETS["jwt"],
        OUTREACH_MATCH_KEY_SECRET=SECRETS["match"],
        OUTREACH_BIND=f"127.0.0.1:{port}",
        # Every phone signs in from one address (loopback): lift the per-address limit.
        OUTREACH_LOGIN_LIMIT_ADDRESS="1000000/minute",
        OUTREACH_LOGIN_LIMIT_ACCOUNT="1000000/minute",
    )
    if getattr(args, "redis", None):  # servers side by side share the limiter's counts
        env["OUTREACH_RATELIMIT_STORAGE_URL"] = args.redis
    if getattr(args, "full_path", False):  # today's path for every idle sync: a baseline
        env["OUTREACH_SYNC_IDLE_FAST_PATH"] = "false"
    if getattr(args, "web_workers", None):
        env["OUTREACH_WEB_WORKERS"] = str(args.web_workers)
    if getattr(args, "web_threads", None):
        env["OUTREACH_WEB_THREADS"] = str(args.web_threads)
    return env


# One set of secrets per bench run: every server side by side must share them (a token
# from one is good on the other).
SECRETS = {k: secrets.token_hex(32) for k in ("key", "jwt", "match")}


def migrate(url: str) -> None:
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=server_env(url, 0, None),
        check=True,
        capture_output=True,
    )


def create_world(url: str, phones: int, team_size: int, caseload: int) -> list[dict]:
    """An area, ceil(phones / team_size) teams with `caseload` clients each, one worker
    per phone sharing one production argon2 hash. Returns [{email, team_id}] per phone."""
    from sqlalchemy import create_engine, insert

    from outreach import create_app
    from outreach.access.models import Area, Team, User
    from outreach.access.passwords import PRODUCTION_HASHER
    from outreach.core.extensions import db
    from outreach.people.matching import match_key
    from outreach.people.models import Client
    from outreach.records.sequence import allocate_seqs, log_changes

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRETS["key"],
            "JWT_SECRET_KEY": SECRETS["jwt"],
            "MATCH_KEY_SECRET": SECRETS["match"],
        }
    )
    teams = max(1, -(-phones // team_size))
    now = datetime.now(UTC)
    with app.app_context():
        area_id = db.session.execute(
            insert(Area)
            .values(code="load", name="Load", region="Bench", active=True)
            .returning(Area.id)
        ).scalar_one()
        team_ids = db.session.scalars(
            insert(Team).returning(Team.id),
            [
                {"area_id": area_id, "name": f"Load team {i}", "provider": "Bench", "active": True}
                for i in range(teams)
            ],
        ).all()
        hashed = PRODUCTION_HASHER.hash(PASSWORD)
        people = [
            {"email": f"load.worker{i}@outreach.test", "team_id": team_ids[i % teams]}
            for i in range(phones)
        ]
        db.session.execute(
            insert(User),
            [
                {
                    "email": p["email"],
                    "name": f"Load worker {i}",
                    "role": "worker",
                    "team_id": p["team_id"],
                    "active": True,
                    "password_hash": hashed,
                    "created_at": now,
                }
                for i, p in enumerate(people)
            ],
        )
        for team_id in team_ids if caseload else ():
            rows = []
            for i in range(caseload):
                dob = birth_date(team_id * caseload + i)
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "team_id": team_id,
                        "area_id": area_id,
                        "initials": "CL",
                        "date_of_birth": dob,
                        "sex": "not_stated",
                        "postcode_district": "DH1",
                        "match_key": match_key("CL", dob, "not_stated"),
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for row, seq in zip(rows, allocate_seqs(len(rows), [team_id]), strict=True):
                row["server_seq"] = seq
            db.session.execute(insert(Client.__table__), rows)
            log_changes([(r["server_seq"], team_id, "client", r["id"], "upsert") for r in rows])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    create_engine(url).dispose()
    return people


def birth_date(n: int) -> date:
    """A valid date of birth for any n: between 1945 and 2005, never in the future."""
    return date(1945, 1, 1) + timedelta(days=(n * 7919) % (60 * 365))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on a free port, in its own process group."""

    def __init__(self, url: str, args, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"outreach-load-gunicorn-{self.port}.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=server_env(url, self.port, args),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not start; see {self.log_path}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
