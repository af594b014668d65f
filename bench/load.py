"""Load test: many phones sign in, push their records in batches and pull, against gunicorn
on PostgreSQL on this machine. Bounded in devices, records and time; loopback only.

    .venv/bin/python bench/load.py                       # 200 devices x 50 records
    .venv/bin/python bench/load.py --devices 20 --records 20 --database-url ...
    .venv/bin/python bench/load.py --warm-up 0 --ramp 0  # cold server, all at once

It (re)creates the database (default `test_load`), migrates it with `flask db upgrade`,
creates an area, teams and one worker per device, starts gunicorn (gunicorn.conf.py) on a
free loopback port, runs the devices (each: sign in, push `--records` records in batches of
`--batch`, pull its team's changes to the end), stops gunicorn, and reports throughput,
p50/p95/p99 latency per request kind, errors, the CPU time of web server, database and load
generator, and the records stored versus sent.

How the devices arrive, as load tools do it (locust's spawn rate, a warm-up): `--warm-up`
devices (default 4) run a whole cycle first and are not timed (a freshly started server
compiles its statements on first use); the first `--concurrency` devices then come online
over `--ramp` seconds (default 5) rather than in one instant, and each later device starts
when one finishes, so at most `--concurrency` (default 50) are in flight, with no pause
between a device's requests unless `--think` gives one (a mean, drawn from 0.5x-1.5x of it
per request, as locust's wait_time; `--concurrency 200 --think 2` has the whole fleet online
at once, syncing at a worker's pace). Without the ramp, the 50 first devices move in lock step and
all the next ones sign in together (argon2 is 29 ms of CPU each), a wave the ramp removes.
Warm-up records are stored and counted like the others.

Exit status 0 only with zero errors and every record stored exactly once.
Target (issue 7): zero errors, zero lost or duplicated, p99 under 1 s.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PASSWORD = "load-test-password"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_load"


# --- setup ------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    """Drop and create the bench database (never `test` or the default database)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit(
            "the load test runs on PostgreSQL (--database-url postgresql+psycopg://...)"
        )
    if name in (None, "", "postgres", "test", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}: use a dedicated one")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def server_env(url: str, port: int, workers: int | None, threads: int | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        OUTREACH_DATABASE_URL=url,
        OUTREACH_SECRET_KEY=secrets.token_hex(32),
        OUTREACH_JWT_SECRET=secrets.token_hex(32),
        OUTREACH_MATCH_KEY_SECRET=secrets.token_hex(32),
        OUTREACH_BIND=f"127.0.0.1:{port}",
        # Many devices sign in from one address (loopback): lift the per-address limit.
        OUTREACH_LOGIN_LIMIT_ADDRESS="100000/minute",
        OUTREACH_LOGIN_LIMIT_ACCOUNT="100000/minute",
    )
    if workers:
        env["OUTREACH_WEB_WORKERS"] = str(workers)
    if threads:
        env["OUTREACH_WEB_THREADS"] = str(threads)
    return env


def migrate(url: str) -> None:
    env = server_env(url, 0, None)
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def create_users(url: str, devices: int, teams: int, fast_passwords: bool) -> list[str]:
    """An area, `teams` teams and one worker per device; returns the workers' emails."""
    from outreach import create_app
    from outreach.core.extensions import db
    from outreach.org.service import create_area, create_team, create_user

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_FAST": True,  # see below: one production hash for everyone
            "SECRET_KEY": "x" * 40,
            "JWT_SECRET_KEY": "x" * 40,
        }
    )
    emails = []
    with app.app_context():
        area = create_area("load", "Load", "Bench", actor_id=None)
        team_ids = [
            create_team(area.id, f"Load team {i}", "Bench", actor_id=None).id for i in range(teams)
        ]
        for i in range(devices):
            email = f"load.worker{i}@outreach.test"
            create_user(
                email,
                f"Load worker {i}",
                "worker",
                PASSWORD,
                team_id=team_ids[i % teams],
                actor_id=None,
                commit=False,
            )
            emails.append(email)
        if not fast_passwords:
            # Signing in verifies with production argon2 parameters; hashing 200 times
            # at setup would only slow the bench down, so every worker shares one hash.
            from sqlalchemy import update

            from outreach.access.models import User
            from outreach.access.passwords import PRODUCTION_HASHER

            db.session.execute(
                update(User)
                .where(User.email.in_(emails))
                .values(password_hash=PRODUCTION_HASHER.hash(PASSWORD))
            )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return emails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    url: str, port: int, workers: int | None, log_path: Path, threads: int | None = None
) -> subprocess.Popen:
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=server_env(url, port, workers, threads),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log_path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            pass
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit(f"gunicorn did not start; see {log_path}")


# --- the devices -------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.sent_ids: dict[str, set[str]] = {"client": set(), "intervention": set()}
        self.rejected = 0
        self.pulled = 0

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            if len(self.errors) < 1000:
                self.errors.append(message)


def device_records(count: int, index: int) -> list[dict]:
    """A shift's worth of records: a client per five, interventions for the rest."""
    now = datetime.now(UTC)
    mutations, clients = [], []
    for i in range(count):
        record_id = str(uuid.uuid4())
        if i % 5 == 0:
            entity = "client"
            data = {
                "initials": "LD",
                "date_of_birth": (date(1960, 1, 1) + timedelta(days=index * 97 + i)).isoformat(),
                "sex": "not_stated",
                "postcode_district": "DH1",
            }
            clients.append(record_id)
        else:
            entity = "intervention"
            data = {
                "client_id": clients[-1],
                "type": "harm_reduction_advice" if i % 3 else "naloxone_supplied",
                "occurred_at": (now - timedelta(minutes=i + 1)).isoformat(),
                "location": "street",
                "substances": ["opioids"],
            }
            if i % 3 == 0:
                data["quantity"] = 1
        mutations.append(
            {
                "mutation_id": str(uuid.uuid4()),
                "entity": entity,
                "op": "upsert",
                "id": record_id,
                "base_version": None,
                "data": data,
            }
        )
    return mutations


class Device:
    def __init__(self, index: int, email: str, port: int, args, stats: Stats, deadline: float):
        self.index, self.email, self.port = index, email, port
        self.args, self.stats, self.deadline = args, stats, deadline
        self.device_id = str(uuid.uuid4())
        self.token: str | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.pauses = random.Random(index)  # the same pauses on every run
        self.calls = 0

    def call(self, kind: str, method: str, path: str, body: dict | None = None) -> dict | None:
        if self.args.think and self.calls:
            # A worker between syncs (locust's wait_time): not counted in the latency.
            time.sleep(self.pauses.uniform(0.5, 1.5) * self.args.think)
        self.calls += 1
        if time.monotonic() > self.deadline:
            self.stats.error(f"device {self.index}: time limit reached before {kind}")
            return None
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # orjson: the generator shares the two cores with the server; the standard
        # library's parser spent about 1 ms of them on every 500-record pull page.
        data = orjson.dumps(body) if body is not None else None
        # One resend if the server closed a kept-alive connection: safe for every call
        # here, pushes included (mutation ids make a resent push a no-op).
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 0:
                    continue
                self.stats.error(f"device {self.index}: {kind} connection lost")
                return None
            except OSError as exc:
                self.conn.close()
                self.conn = None
                self.stats.error(f"device {self.index}: {kind} {type(exc).__name__}")
                return None
            self.stats.record(kind, time.perf_counter() - started)
            if response.status >= 300:
                detail = raw[:200].decode(errors="replace")
                self.stats.error(f"device {self.index}: {kind} HTTP {response.status} {detail}")
                return None
            return orjson.loads(raw) if raw else {}
        return None

    def run(self) -> None:
        try:
            body = self.call(
                "login",
                "POST",
                "/api/v1/auth/login",
                {"email": self.email, "password": PASSWORD, "device_id": self.device_id},
            )
            if body is None:
                return
            self.token = body["access_token"]
            mutations = device_records(self.args.records, self.index)
            for start in range(0, len(mutations), self.args.batch):
                batch = mutations[start : start + self.args.batch]
                answer = self.call(
                    "push",
                    "POST",
                    "/api/v1/sync/push",
                    {"device_id": self.device_id, "schema_version": 1, "mutations": batch},
                )
                if answer is None:
                    return
                for mutation, result in zip(batch, answer.get("results", []), strict=False):
                    if result.get("status") in ("applied", "duplicate"):
                        with self.stats.lock:
                            self.stats.sent_ids[mutation["entity"]].add(mutation["id"])
                    else:
                        with self.stats.lock:
                            self.stats.rejected += 1
                        self.stats.error(f"device {self.index}: {result.get('status')} {result}")
            cursor = None
            for _ in range(1000):
                query = f"?limit={self.args.pull_limit}" + (f"&cursor={cursor}" if cursor else "")
                page = self.call("pull", "GET", "/api/v1/sync/pull" + query)
                if page is None:
                    return
                with self.stats.lock:
                    self.stats.pulled += len(page.get("changes", []))
                cursor = page.get("cursor")
                if not page.get("has_more"):
                    break
        finally:
            if self.conn is not None:
                self.conn.close()


def run_devices(devices: list, concurrency: int, ramp: float, deadline: float) -> None:
    """Run every device, at most `concurrency` at once; the first `concurrency` to take a
    slot start spread evenly over `ramp` seconds, each later one when a slot frees."""
    gate = threading.Semaphore(concurrency)
    order = itertools.count()

    def run(device: Device) -> None:
        with gate:
            position = next(order)  # the n-th device to get a slot
            if position < concurrency and ramp > 0:
                time.sleep(position * ramp / concurrency)
            device.run()

    threads = [threading.Thread(target=run, args=(d,), daemon=True) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 5)
    if any(t.is_alive() for t in threads):
        devices[0].stats.error("time limit: some devices did not finish")


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) so far of the web server, PostgreSQL and this load
    generator, read from /proc (Linux): where the machine's two cores went."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"web": 0.0, "database": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if b"gunicorn" in cmdline:
            totals["web"] += used
        elif cmdline.startswith(b"postgres"):
            totals["database"] += used
    own = os.times()
    totals["load generator"] = own.user + own.system
    return totals


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def count_stored(url: str, stats: Stats) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    counts = {}
    with engine.connect() as conn:
        for entity, table in (("client", "client"), ("intervention", "intervention")):
            ids = list(stats.sent_ids[entity])
            stored = conn.execute(
                text(f"SELECT count(*), count(DISTINCT id) FROM {table} WHERE id = ANY(:ids)"),
                {"ids": [uuid.UUID(i) for i in ids]},
            ).one()
            total = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            counts[entity] = {
                "acknowledged": len(ids),
                "stored": stored[0],
                "distinct": stored[1],
                "in_database": total,
            }
    engine.dispose()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("OUTREACH_LOAD_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--records", type=int, default=50, help="records per device")
    parser.add_argument("--batch", type=int, default=10, help="mutations per push")
    parser.add_argument("--teams", type=int, default=10, help="devices are spread over teams")
    parser.add_argument("--concurrency", type=int, default=50, help="devices active at once")
    parser.add_argument("--pull-limit", type=int, default=500)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a device pauses between its requests (0.5x-1.5x; default none)",
    )
    parser.add_argument(
        "--ramp", type=float, default=5.0, help="seconds over which the first devices start"
    )
    parser.add_argument(
        "--warm-up", type=int, default=4, help="untimed devices run before the timed ones"
    )
    parser.add_argument("--web-workers", type=int, default=None, help="default: gunicorn.conf.py")
    parser.add_argument("--web-threads", type=int, default=None, help="default: gunicorn.conf.py")
    parser.add_argument("--max-seconds", type=float, default=600, help="hard time limit")
    parser.add_argument(
        "--fast-passwords",
        action="store_true",
        help="cheap argon2 parameters for the bench users (default: production parameters)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.devices < 1 or args.devices > 2000 or args.records < 1 or args.records > 5000:
        parser.error("devices must be 1..2000 and records 1..5000")
    if args.warm_up < 0 or args.ramp < 0 or args.think < 0 or args.concurrency < 1:
        parser.error("--warm-up, --ramp and --think must be >= 0, --concurrency >= 1")

    print(f"database {args.database_url}: recreate, migrate, {args.devices} users", flush=True)
    recreate_database(args.database_url)
    migrate(args.database_url)
    emails = create_users(
        args.database_url, args.devices + args.warm_up, args.teams, args.fast_passwords
    )
    warm_emails, emails = emails[args.devices :], emails[: args.devices]

    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"outreach-load-gunicorn-{port}.log"
    server = start_gunicorn(args.database_url, port, args.web_workers, log_path, args.web_threads)
    stats = Stats()
    deadline = time.monotonic() + args.max_seconds
    if warm_emails:
        warm = Stats()
        run_devices(
            [Device(-1 - i, e, port, args, warm, deadline) for i, e in enumerate(warm_emails)],
            len(warm_emails),
            0.0,
            deadline,
        )
        stats.errors += warm.errors
        stats.rejected += warm.rejected
        for entity, ids in warm.sent_ids.items():
            stats.sent_ids[entity] |= ids
    started = time.perf_counter()
    cpu_before = cpu_seconds()
    cpu_used: dict[str, float] = {}
    try:
        devices = [Device(i, email, port, args, stats, deadline) for i, email in enumerate(emails)]
        print(f"gunicorn on 127.0.0.1:{port}; {len(devices)} devices ...", flush=True)
        run_devices(devices, args.concurrency, args.ramp, deadline)
    finally:
        elapsed = time.perf_counter() - started
        cpu_used = {k: round(v - cpu_before[k], 1) for k, v in cpu_seconds().items()}
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    counts = count_stored(args.database_url, stats)
    requests = sum(len(v) for v in stats.latency.values())
    sent = (args.devices + args.warm_up) * args.records
    summary = {
        "devices": args.devices,
        "warm_up_devices": args.warm_up,
        "concurrency": args.concurrency,
        "think_s": args.think,
        "records_sent": sent,
        "elapsed_s": round(elapsed, 2),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "records_per_s": round(args.devices * args.records / elapsed, 1),
        "errors": len(stats.errors),
        "rejected": stats.rejected,
        "pulled_changes": stats.pulled,
        "cpu_s": cpu_used,
        "latency_ms": {
            kind: {
                "n": len(values),
                "p50": round(percentile(values, 50) * 1000, 1),
                "p95": round(percentile(values, 95) * 1000, 1),
                "p99": round(percentile(values, 99) * 1000, 1),
                "max": round(max(values) * 1000, 1),
                "mean": round(statistics.fmean(values) * 1000, 1),
            }
            for kind, values in sorted(stats.latency.items())
        },
        "stored": counts,
    }
    all_latency = [v for values in stats.latency.values() for v in values]
    summary["latency_ms"]["all"] = {
        "n": len(all_latency),
        "p50": round(percentile(all_latency, 50) * 1000, 1),
        "p95": round(percentile(all_latency, 95) * 1000, 1),
        "p99": round(percentile(all_latency, 99) * 1000, 1),
    }
    exact = (
        all(
            c["stored"] == c["distinct"] == c["acknowledged"] == c["in_database"]
            for c in counts.values()
        )
        and sum(c["acknowledged"] for c in counts.values()) == sent
    )
    summary["exactly_once"] = exact
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"\n{args.devices} devices (+{args.warm_up} warm-up; {args.concurrency} at once, "
            f"{args.think:g} s between requests), "
            f"{args.devices * args.records} records in {summary['elapsed_s']} s: "
            f"{summary['requests_per_s']} requests/s, {summary['records_per_s']} records/s"
        )
        print(f"{'kind':8} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for kind, row in summary["latency_ms"].items():
            print(
                f"{kind:8} {row['n']:>6} {row['p50']:>8} {row['p95']:>8} {row['p99']:>8} "
                f"{row.get('max', ''):>8}"
            )
        per_request = {k: round(v / max(requests, 1) * 1000, 1) for k, v in cpu_used.items()}
        print(f"CPU s used: {cpu_used} (ms per request: {per_request})")
        for entity, c in counts.items():
            print(
                f"{entity:13} acknowledged {c['acknowledged']}, stored {c['stored']} "
                f"(distinct {c['distinct']}), in database {c['in_database']}"
            )
        print(f"errors {summary['errors']}, rejected {stats.rejected}, exactly once: {exact}")
        for line in stats.errors[:10]:
            print("  ", line)
    return 0 if exact and not stats.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
