"""Report benchmark: 1,000,000 interventions in 13 areas on PostgreSQL.

Times the reports' aggregation (one week, and the 12-week window every report reads)
through `outreach.reports.aggregation.aggregate` (on PostgreSQL it reads the weekly
roll-ups a trigger keeps, see outreach/reports/rollups.py) against (a) the bare GROUP
BY (area, team, type) over the interventions themselves and (b) the very statements our
path sends, run bare through the driver (so (b) is the cost of the ORM and Python
around the SQL), in the same run; for reference, the same figures counted from the
interventions (the path SQLite takes); the whole live report build (an admin's draft,
with suppression); releasing a week (ledger, tally, one suppression over every area and
commissioner's scope), with and without the 11 earlier weeks of its trend; a late-records
release over the whole ledger; serving a released report (what commissioners fetch);
and rendering one commissioner's PDF. Data is generated once (COPY, through the trigger)
into a bench database and reused.

    python bench/report_bench.py [--database-url URL] [--rows 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select, text

from bench.common import ensure_database
from outreach.demo import TYPE_WEIGHTS

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_reports_bench"
AREAS = 13
TEAMS_PER_AREA = 2
CLIENTS = 40_000
WEEKS = 52


def generate(db, rows: int, last_week_end: datetime) -> None:
    """Areas, teams, workers, one regional commissioner, clients and `rows` interventions."""
    from outreach.access.models import Area, Team
    from outreach.org.service import create_user

    rng = random.Random(13)
    areas, teams = [], []
    for i in range(AREAS):
        area = Area(code=f"bench-{i:02d}", name=f"Bench area {i:02d}", region=f"Region {i // 5}")
        db.session.add(area)
        db.session.flush()
        areas.append(area)
        for j in range(TEAMS_PER_AREA):
            team = Team(area_id=area.id, name=f"Team {i:02d}-{j}", provider="Bench")
            db.session.add(team)
            db.session.flush()
            worker = create_user(
                f"worker-{i:02d}-{j}@bench.test",
                "Bench Worker",
                "worker",
                "lantern-orchard-quiet-57",
                team_id=team.id,
                actor_id=None,
                commit=False,
            )
            teams.append((team.id, area.id, worker.id))
    create_user(
        "commissioner@bench.test",
        "Bench Commissioner",
        "commissioner",
        "lantern-orchard-quiet-57",
        area_codes=[a.code for a in areas[:3]],
        actor_id=None,
        commit=False,
    )
    db.session.commit()

    start = last_week_end - timedelta(weeks=WEEKS)
    span = int((last_week_end - start).total_seconds())
    clients = []
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(
            "COPY client (id, team_id, area_id, initials, date_of_birth, sex, version, "
            "server_seq, created_at, updated_at) FROM STDIN"
        ) as copy:
            for _ in range(CLIENTS):
                team_id, area_id, _w = rng.choice(teams)
                cid = uuid.UUID(int=rng.getrandbits(128), version=4)
                clients.append((cid, team_id, area_id))
                copy.write_row(
                    (cid, team_id, area_id, "AB", date(1980, 1, 1), "male", 1, 0, start, start)
                )
        by_team: dict[int, list] = {}
        for cid, team_id, _a in clients:
            by_team.setdefault(team_id, []).append(cid)
        codes, weights = zip(*TYPE_WEIGHTS.items(), strict=True)
        cum = list(__import__("itertools").accumulate(weights))
        t0 = time.perf_counter()
        with cur.copy(
            "COPY intervention (id, client_id, worker_id, team_id, area_id, type, occurred_at, "
            "location, substances, quantity, version, server_seq, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            for _ in range(rows):
                team_id, area_id, worker_id = teams[rng.randrange(len(teams))]
                pool = by_team.get(team_id)
                client = rng.choice(pool) if pool and rng.random() > 0.15 else None
                code = rng.choices(codes, cum_weights=cum)[0]
                when = start + timedelta(seconds=rng.randrange(span))
                qty = rng.randint(1, 3) if code in ("naloxone_supplied",) else None
                if code == "needle_syringe_provision":
                    qty = rng.randint(1, 10)
                copy.write_row(
                    (
                        uuid.UUID(int=rng.getrandbits(128), version=4),
                        client,
                        worker_id,
                        team_id,
                        area_id,
                        code,
                        when,
                        "street",
                        '["opioids"]',
                        qty,
                        1,
                        0,
                        when,
                        when,
                    )
                )
        raw.commit()
        print(f"inserted {rows:,} interventions in {time.perf_counter() - t0:.1f} s")
        raw.commit()
    finally:
        raw.close()
    vacuum(db)


def vacuum(db) -> None:
    """VACUUM ANALYZE, as autovacuum would after a bulk load: statistics and the
    visibility map (index-only scans) for both our path and the bare GROUP BY."""
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.cursor().execute("VACUUM ANALYZE")
    finally:
        raw.driver_connection.autocommit = False
        raw.close()


def timed(fn, repeat: int) -> float:
    fn()  # warm up (caches, plans)
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("OUTREACH_DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.database_url or DEFAULT_URL
    if not url.startswith("postgresql"):
        sys.exit("report_bench needs PostgreSQL (--database-url or OUTREACH_DATABASE_URL)")
    ensure_database(url)

    from outreach import create_app
    from outreach.access.models import Area, User
    from outreach.core.extensions import db
    from outreach.core.types import utcnow
    from outreach.interventions.models import Intervention
    from outreach.reports.aggregation import aggregate
    from outreach.reports.assembly import build_report
    from outreach.reports.models import ReportWeekCount
    from outreach.reports.released import released_report
    from outreach.reports.releases import release_late, release_time, release_week
    from outreach.reports.render import render_pdf
    from outreach.reports.rollups import rebuild
    from outreach.reports.weeks import last_complete_week, week_range

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_FAST": True, "TESTING": False})
    with app.app_context():
        db.create_all()
        tz = app.config["TIMEZONE"]
        week = last_complete_week(utcnow(), tz)
        have = db.session.scalar(select(func.count()).select_from(Intervention))
        if have < args.rows:
            if have:
                sys.exit(f"{have:,} interventions present; drop the database to regenerate")
            t = time.perf_counter()
            generate(db, args.rows, week.bounds(tz)[1])
            print(f"generated in {time.perf_counter() - t:.1f} s")
        else:
            print(f"reusing {have:,} interventions")
            if not db.session.scalar(select(func.count()).select_from(ReportWeekCount)):
                t = time.perf_counter()  # a bench database made before the roll-ups
                rebuild()
                db.session.commit()
                vacuum(db)
                print(f"roll-ups rebuilt in {time.perf_counter() - t:.1f} s")
        all_areas = list(db.session.scalars(select(Area.id).order_by(Area.code)))
        commissioner = db.session.scalar(select(User).where(User.email.like("commissioner@%")))
        region = [a.id for a in commissioner.commissioner_areas]

        bare_sql = text(
            "SELECT area_id, team_id, type, count(*), sum(quantity) FROM intervention "
            "WHERE occurred_at >= :lo AND occurred_at < :hi AND area_id = ANY(:areas) "
            "AND deleted_at IS NULL GROUP BY area_id, team_id, type"
        )

        def bare(weeks, areas):
            lo, hi = weeks[0].bounds(tz)[0], weeks[-1].bounds(tz)[1]
            db.session.execute(bare_sql, {"lo": lo, "hi": hi, "areas": areas}).all()
            db.session.rollback()

        def ours(weeks, areas):
            aggregate(areas, weeks, tz)
            db.session.rollback()

        def from_rows(weeks, areas):
            aggregate(areas, weeks, tz, from_rollups=False)
            db.session.rollback()

        def same_sql(weeks, areas):
            """The statements our path sends, captured once, then run bare (no ORM/Python)."""
            captured = []

            def capture(conn, cursor, statement, parameters, context, executemany):
                captured.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                aggregate(areas, weeks, tz)
                db.session.rollback()
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)

            def run():
                raw = db.engine.raw_connection()
                try:
                    cur = raw.cursor()
                    for statement, parameters in captured:
                        cur.execute(statement, parameters)
                        if cur.description:
                            cur.fetchall()
                    raw.rollback()
                finally:
                    raw.close()

            return run

        results, overhead, direct = {}, {}, {}
        for label, areas in (("13 areas", all_areas), ("3-area region", region)):
            for span in (1, 12):
                weeks = week_range(week, span)
                b = timed(lambda w=weeks, a=areas: bare(w, a), args.repeat)
                o = timed(lambda w=weeks, a=areas: ours(w, a), args.repeat)
                r = timed(same_sql(weeks, areas), args.repeat)
                d = timed(lambda w=weeks, a=areas: from_rows(w, a), max(1, args.repeat // 2))
                results[f"{label}, {span} week(s)"] = (o, b)
                overhead[f"{label}, {span} week(s)"] = round(o / r, 2)
                direct[f"{label}, {span} week(s)"] = round(d / b, 2)
                print(
                    f"aggregate {label:>13}, {span:>2} week(s): ours {o * 1000:7.1f} ms, "
                    f"bare GROUP BY {b * 1000:7.1f} ms (ratio {o / b:4.2f}x); "
                    f"our SQL run bare {r * 1000:7.1f} ms (ratio {o / r:4.2f}x); "
                    f"counted from interventions {d * 1000:7.1f} ms ({d / b:4.2f}x)"
                )

        def build():
            report = build_report(region, week)
            db.session.rollback()
            return report

        build_s = timed(build, args.repeat)
        print(
            f"build_report (draft: 3-area region, 12 weeks, suppression): {build_s * 1000:.0f} ms"
        )

        def forget_releases():
            db.session.execute(text("DELETE FROM report_counted"))
            db.session.execute(text("DELETE FROM report_counted_step"))
            db.session.execute(text("UPDATE report_release SET late_release_id = NULL"))
            db.session.execute(text("DELETE FROM report_release"))
            db.session.commit()

        def once(fn) -> float:
            t = time.perf_counter()
            fn()
            return time.perf_counter() - t

        forget_releases()
        now = release_time(week) + timedelta(hours=8)
        release_s = once(lambda: release_week(week, now, with_trend=False))
        forget_releases()
        trend_s = once(lambda: release_week(week, now))
        late_s = once(lambda: release_late(now + timedelta(days=40)))
        print(
            f"release one week (13 areas, ledger, tally, suppression): {release_s * 1000:.0f} ms; "
            f"with the 11 weeks of its trend: {trend_s:.2f} s; "
            f"late-records release over the ledger: {late_s * 1000:.0f} ms"
        )

        def serve():
            r = released_report(region, week, now=now)
            db.session.rollback()
            return r

        serve_s = timed(serve, args.repeat)
        report = serve()
        pdf_s = timed(lambda: render_pdf(report), 3)
        size = len(render_pdf(report))
        print(f"released_report (3-area region, from the stored releases): {serve_s * 1000:.0f} ms")
        print(f"render one commissioner's PDF (3 areas): {pdf_s:.2f} s ({size // 1024} KiB)")
        forget_releases()
        print(
            json.dumps(
                {
                    "aggregate_ratio": {k: round(o / b, 2) for k, (o, b) in results.items()},
                    "ratio_to_same_sql_bare": overhead,
                    "from_interventions_ratio": direct,
                    "build_report_ms": round(build_s * 1000),
                    "release_week_ms": round(release_s * 1000),
                    "release_with_trend_s": round(trend_s, 2),
                    "late_release_ms": round(late_s * 1000),
                    "released_report_ms": round(serve_s * 1000),
                    "pdf_s": round(pdf_s, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
