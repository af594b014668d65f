"""Load bench: a fleet of phones against gunicorn on PostgreSQL on this machine.

    .venv/bin/python bench/load.py --day --phones 1000                  # a worker's day, 15 min
    .venv/bin/python bench/load.py --day --phones 5000 --minutes 20     # issue 21's target
    .venv/bin/python bench/load.py --day --phones 500 --compress 4      # 2,000 at a worker's pace
    .venv/bin/python bench/load.py --day --servers 2 --redis redis://127.0.0.1:6379/15
    .venv/bin/python bench/load.py --find-max --minutes 4 --shift-start 120
    .venv/bin/python bench/load.py --devices 200 --records 50           # the burst of issue 7

It (re)creates the database (default `test_load`), migrates it, bulk-creates an area,
teams of `--team-size` workers each with a caseload of `--caseload` clients, one worker per
phone (one production argon2 hash shared), starts `--servers` gunicorns (gunicorn.conf.py)
on free loopback ports, runs the phones, stops the servers and prints requests/s,
p50/p95/p99 per request kind, CPU per request (web: live and recycled workers; database:
this database's backends; see bench/fleet/cpu.py), active phones per CPU beside the
Community Health Toolkit's 288 active users per CPU, and whether every record a phone
made was stored exactly once. `--day` is described in bench/fleet/day.py; the burst mode
(no `--day`) has every device sign in, push `--records` records in batches of 50 and pull,
`--concurrency` at a time.

`--compress N` runs the day's clock N times faster: every phone syncs N times a minute,
so the server sees N times the phones (`phone_equivalents`); fewer devices and tokens
than a real fleet of that size, the same request mix.

`--find-max` runs days of growing fleets (doubling, then halving the gap) on fresh
databases and prints the largest whose p99 stays under 500 ms with no error and every
record stored once. The machine is shared: run it when it is quiet, compare ratios.

Exit status 0 only when the run (or the largest passing run) is clean.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fleet import server
from bench.fleet.cpu import Meter
from bench.fleet.day import Day
from bench.fleet.phone import Phone, Stats, utcnow
from bench.fleet.report import count_stored, print_summary, summarise

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_load"


def burst(phones: list[Phone], args) -> float:
    """Issue 7's bench: each device signs in, pushes its records, pulls; at most
    `--concurrency` at once, the first ones ramped over `--ramp` seconds."""
    order = iter(range(len(phones)))
    lock = threading.Lock()

    def one(phone: Phone) -> None:
        with lock:
            position = next(order)
        if position < args.concurrency and args.ramp:
            time.sleep(position * args.ramp / args.concurrency)
        if phone.sign_in():
            for _ in range(args.records):
                phone.save(utcnow())
            phone.sync()

    started = time.monotonic()
    with ThreadPoolExecutor(min(args.concurrency, len(phones))) as pool:
        list(pool.map(one, phones))
    return time.monotonic() - started


def run_once(args, phones_count: int) -> tuple[dict, list[str]]:
    url = args.database_url
    print(
        f"database {url}: recreate, migrate, {phones_count} workers in teams of {args.team_size}",
        flush=True,
    )
    server.recreate_database(url)
    server.migrate(url)
    people = server.create_world(url, phones_count, args.team_size, args.caseload)
    log_dir = Path(os.environ.get("TMPDIR", tempfile.gettempdir()))
    servers = [server.Server(url, args, log_dir) for _ in range(args.servers)]
    ports = [s.port for s in servers]
    stats = Stats()
    phones = [Phone(i, p["email"], ports, stats) for i, p in enumerate(people)]
    meter = Meter(url, [s.pid for s in servers])
    try:
        if args.day:
            day = Day(phones, args, stats)
            count = round(len(phones) * args.returning)
            returning = phones[:: max(1, len(phones) // count)][:count] if count else []
            day.prepare_returning(returning)
            print(
                f"gunicorn on ports {ports}; {len(phones)} phones ({len(returning)} returning "
                f"with {args.backlog} records each), {args.minutes:g} simulated minutes ...",
                flush=True,
            )
            meter.start()
            elapsed = day.run({p.index for p in returning})
            cpu = meter.stop()
            day.drain()
        else:
            print(f"gunicorn on ports {ports}; {len(phones)} devices ...", flush=True)
            meter.start()
            elapsed = burst(phones, args)
            cpu = meter.stop()
    finally:
        for s in servers:
            s.stop()
    counts = count_stored(url, stats)
    meta = {
        "mode": "day" if args.day else "burst",
        "phones": phones_count,
        "compress": args.compress if args.day else 1,
        "servers": args.servers,
        "minutes": args.minutes if args.day else 0,
        "team_size": args.team_size,
        "idle_fast_path": not args.full_path,
        "p99_target_ms": args.p99_ms,
        "caseload": args.caseload,
    }
    return summarise(stats, elapsed, cpu, counts, meta), stats.errors


def find_max(args) -> int:
    """Double the fleet until a day fails, then halve the gap a few times."""
    good: dict | None = None
    size, bad = args.phones, None
    while bad is None or (bad - good_size(good)) > max(50, bad // 10):
        summary, errors = run_once(args, size)
        print_summary(summary, errors)
        ok = summary["passed"] and not summary["generator_saturated"]
        print(f"--> {size} phones: {'PASS' if ok else 'FAIL'}\n", flush=True)
        if ok:
            good = summary
        else:
            bad = size
        if bad is None:
            size *= 2
        else:
            size = (good_size(good) + bad) // 2
        if size > args.max_phones:
            break
    if good is None:
        print(f"no fleet passed (smallest tried: {args.phones})")
        return 1
    print(
        f"largest fleet with p99 < {args.p99_ms:g} ms, no errors, exactly once: "
        f"{good_size(good)} phones "
        f"(x compress {good['compress']:g} = {good['phone_equivalents']} at a worker's pace); "
        f"{good['active_phones_per_cpu']} active phones per CPU "
        f"(CHT: {good['cht_active_users_per_cpu']})"
    )
    if args.json:
        print(json.dumps(good, indent=2))
    return 0


def good_size(summary: dict | None) -> int:
    return summary["phones"] if summary else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("OUTREACH_LOAD_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--day", action="store_true", help="a worker's day (bench/fleet/day.py)")
    parser.add_argument("--find-max", action="store_true", help="the largest fleet that passes")
    parser.add_argument("--phones", "--devices", type=int, default=200, dest="phones")
    parser.add_argument("--max-phones", type=int, default=40_000)
    parser.add_argument("--p99-ms", type=float, default=500, help="--find-max's target")
    parser.add_argument("--team-size", type=int, default=12)
    parser.add_argument("--caseload", type=int, default=50, help="clients per team at the start")
    parser.add_argument("--servers", type=int, default=1, help="gunicorns side by side")
    parser.add_argument("--redis", help="limiter storage the servers share (redis://...)")
    parser.add_argument(
        "--full-path", action="store_true", help="idle syncs without the fast path (baseline)"
    )
    parser.add_argument("--web-workers", type=int, default=None, help="default: gunicorn.conf.py")
    parser.add_argument("--web-threads", type=int, default=None, help="default: gunicorn.conf.py")
    day = parser.add_argument_group("--day")
    day.add_argument("--minutes", type=float, default=15, help="simulated minutes of the day")
    day.add_argument("--compress", type=float, default=1.0, help="simulated seconds per second")
    day.add_argument("--shift-start", type=float, default=600, help="sign-ins over (s)")
    day.add_argument("--sync-every", type=float, default=60, help="an open app syncs every (s)")
    day.add_argument("--saves-per-hour", type=float, default=4, help="records per phone per hour")
    day.add_argument("--returning", type=float, default=0.1, help="share back from offline")
    day.add_argument("--backlog", type=int, default=30, help="records each returning phone holds")
    day.add_argument("--threads", type=int, default=256, help="the generator's threads")
    classic = parser.add_argument_group("burst (without --day)")
    classic.add_argument("--records", type=int, default=50, help="records per device")
    classic.add_argument("--concurrency", type=int, default=50, help="devices active at once")
    classic.add_argument("--ramp", type=float, default=5.0, help="first devices start over (s)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.phones < 1 or args.phones > args.max_phones or args.servers < 1:
        parser.error(f"--phones must be 1..{args.max_phones}, --servers >= 1")
    if args.compress <= 0 or args.minutes <= 0 or args.threads < 1:
        parser.error("--compress, --minutes and --threads must be positive")
    if args.find_max:
        args.day = True
        return find_max(args)
    summary, errors = run_once(args, args.phones)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary, errors)
    return 0 if summary["exactly_once"] and not summary["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
