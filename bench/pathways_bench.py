"""Pathways bench: the commissioners' pathway measures on 1,000,000 interventions and
100,000 referrals on PostgreSQL, against the bare GROUP BY of the existing measures.

Data: `bench/report_bench.py`'s generator (13 areas, 26 teams, 40,000 clients, the
interventions over 52 weeks, through the roll-up trigger), then referrals between teams
of one area with their steps (accepted, first contact, treatment entry at realistic
delays) and diversion episodes, by COPY. Times, in the same run, for 13 areas and a
3-area region over 1 and 12 weeks: (a) the bare GROUP BY (area, team, type) over the
interventions that report_bench uses as its baseline; (b) `pathway_weeks` (every weekly
pathway measure of the weeks) plus `referral_cohorts` for the same weeks. The ratio
(b)/(a) is the cost the pathway measures add to a report, as a multiple of the bare
GROUP BY (the issue's bar: at most 2x).

    python bench/pathways_bench.py [--database-url URL] [--rows 1000000] [--referrals 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from bench.common import ensure_database
from bench.report_bench import generate, timed, vacuum

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_pathways_bench"
EPISODES_PER_REFERRALS = 10  # one episode per ten referrals


def add_referrals(db, count: int, last_week_end) -> None:
    """`count` referrals between teams of one area (sent over 52 weeks, steps at
    realistic delays) and a tenth as many episodes."""
    from outreach.access.models import Team
    from outreach.people.models import Client

    rng = random.Random(20)
    teams_by_area: dict[int, list[int]] = {}
    for team_id, area_id in db.session.execute(select(Team.id, Team.area_id)):
        teams_by_area.setdefault(area_id, []).append(team_id)
    clients = db.session.execute(select(Client.id, Client.team_id, Client.area_id)).all()
    start = last_week_end - timedelta(weeks=52)
    span = int((last_week_end - start).total_seconds())
    now = last_week_end
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(
            "COPY referral (id, client_id, team_id, area_id, to_team_id, reason, urgency, "
            "status, status_at, sent_at, accepted_at, declined_at, first_contact_at, "
            "treatment_entry_at, version, server_seq, created_at, updated_at) FROM STDIN"
        ) as copy:
            for _ in range(count):
                client_id, team_id, area_id = clients[rng.randrange(len(clients))]
                to_team = next(t for t in teams_by_area[area_id] if t != team_id)
                sent = start + timedelta(seconds=rng.randrange(span))
                accepted = declined = contact = entry = None
                status, at = "sent", sent
                roll = rng.random()
                if roll < 0.1:
                    declined = sent + timedelta(hours=rng.randint(2, 60))
                    status, at = "declined", declined
                elif roll < 0.9:
                    accepted = sent + timedelta(hours=rng.randint(2, 60))
                    status, at = "accepted", accepted
                    if rng.random() < 0.8:
                        contact = accepted + timedelta(days=rng.randint(1, 14))
                        status, at = "first_contact", contact
                        if rng.random() < 0.6:
                            entry = contact + timedelta(days=rng.randint(1, 60))
                            status, at = "treatment_entry", entry
                steps = [s if s is None or s <= now else None for s in (contact, entry)]
                contact, entry = steps
                copy.write_row(
                    (
                        uuid.UUID(int=rng.getrandbits(128), version=4),
                        client_id,
                        team_id,
                        area_id,
                        to_team,
                        "structured_treatment",
                        "routine",
                        status if at <= now else "accepted",
                        min(at, now),
                        sent,
                        accepted,
                        declined,
                        contact,
                        entry,
                        1,
                        0,
                        sent,
                        sent,
                    )
                )
        with cur.copy(
            "COPY episode (id, client_id, team_id, area_id, kind, started_on, planned_end_on, "
            "conditions, sessions, outcome, ended_on, version, server_seq, created_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            for _ in range(count // EPISODES_PER_REFERRALS):
                client_id, team_id, area_id = clients[rng.randrange(len(clients))]
                begun = start + timedelta(seconds=rng.randrange(span))
                ended = begun + timedelta(days=rng.randint(60, 140))
                done = ended <= now
                copy.write_row(
                    (
                        uuid.UUID(int=rng.getrandbits(128), version=4),
                        client_id,
                        team_id,
                        area_id,
                        "checkpoint",
                        begun.date(),
                        begun.date() + timedelta(days=120),
                        "[]",
                        "[]",
                        rng.choice(["completed", "not_completed", "withdrawn"]) if done else None,
                        ended.date() if done else None,
                        1,
                        0,
                        begun,
                        begun,
                    )
                )
        raw.commit()
    finally:
        raw.close()
    vacuum(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("OUTREACH_DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.database_url or DEFAULT_URL
    if not url.startswith("postgresql"):
        sys.exit("pathways_bench needs PostgreSQL (--database-url)")
    ensure_database(url)

    from outreach import create_app
    from outreach.access.models import Area, User
    from outreach.core.extensions import db
    from outreach.core.types import utcnow
    from outreach.interventions.models import Intervention
    from outreach.pathways.measures import pathway_weeks, referral_cohorts
    from outreach.pathways.models import Referral
    from outreach.reports.weeks import last_complete_week, week_range

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_FAST": True, "TESTING": False})
    with app.app_context():
        db.create_all()
        tz = app.config["TIMEZONE"]
        week = last_complete_week(utcnow(), tz)
        end = week.bounds(tz)[1]
        have = db.session.scalar(select(func.count()).select_from(Intervention))
        if have < args.rows:
            if have:
                sys.exit(f"{have:,} interventions present; drop the database to regenerate")
            t = time.perf_counter()
            generate(db, args.rows, end)
            print(f"interventions generated in {time.perf_counter() - t:.1f} s")
        referrals = db.session.scalar(select(func.count()).select_from(Referral))
        if referrals < args.referrals:
            if referrals:
                sys.exit(f"{referrals:,} referrals present; drop the database to regenerate")
            t = time.perf_counter()
            add_referrals(db, args.referrals, end)
            print(f"{args.referrals:,} referrals generated in {time.perf_counter() - t:.1f} s")
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

        def pathways(weeks, areas):
            mondays = [w.monday for w in weeks]
            pathway_weeks(areas, mondays, tz)
            referral_cohorts(areas, mondays, utcnow(), tz)
            db.session.rollback()

        ratios = {}
        for label, areas in (("13 areas", all_areas), ("3-area region", region)):
            for span in (1, 12):
                weeks = week_range(week, span)
                b = timed(lambda w=weeks, a=areas: bare(w, a), args.repeat)
                p = timed(lambda w=weeks, a=areas: pathways(w, a), args.repeat)
                ratios[f"{label}, {span} week(s)"] = round(p / b, 2)
                print(
                    f"{label:>13}, {span:>2} week(s): bare GROUP BY {b * 1000:7.1f} ms, "
                    f"pathway measures {p * 1000:7.1f} ms (ratio {p / b:4.2f}x)"
                )
        print(json.dumps({"pathways_to_bare_group_by": ratios}))
        ledger_figures(db, week, tz, all_areas, bare, args.repeat)


def ledger_figures(db, week, tz, all_areas, bare, repeat: int) -> None:
    """A release's pathway part through the pathway ledger (docs/disclosure.md): one
    week's steps counted and tallied with its cohort's figures, against the bare GROUP
    BY of one week in the same run; and a late-records release's pathway part over 12
    counted weeks. Each in a transaction rolled back."""
    from outreach.core.types import utcnow
    from outreach.reports.models import ReportRelease
    from outreach.reports.step_ledger import (
        cohort_counts,
        count_late_steps,
        count_week_steps,
        tally_steps,
    )
    from outreach.reports.weeks import week_range

    def release(kind: str, period: str) -> int:
        row = ReportRelease(
            kind=kind, period=period, issued_at=utcnow(), cells={}, scopes={}, steps_counted=True
        )
        db.session.add(row)
        db.session.flush()
        return row.id

    def one_week():
        rid = release("week", str(week))
        count_week_steps(rid, week, tz)
        tally_steps(rid)
        cohort_counts(rid)
        db.session.rollback()

    b = timed(lambda: bare([week], all_areas), repeat)
    r = timed(one_week, repeat)
    print(
        f"release's pathway part (13 areas, 1 week, ledger + tally + cohort): {r * 1000:.1f} ms; "
        f"bare GROUP BY {b * 1000:.1f} ms (ratio {r / b:4.2f}x)"
    )
    weeks = week_range(week, 12)
    for w in weeks:
        count_week_steps(release("week", str(w)), w, tz)
    late = release("late", "bench")
    t = time.perf_counter()
    count_late_steps(late, [str(w) for w in weeks], tz)
    print(f"late-records release's pathway part over 12 weeks: {time.perf_counter() - t:.2f} s")
    db.session.rollback()


if __name__ == "__main__":
    main()
