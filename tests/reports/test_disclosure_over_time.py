"""Issue 18's bar: random weeks of data, random late arrivals across weeks and teams,
releases made as the scheduler makes them, and four recipients with overlapping scopes
(Durham, Dorset, a region of both, an admin) fetching every week's JSON and CSV as the
weeks go by. The attacker gathers everything released and searches it exactly: no
figure differs between two outputs (so no change of 1 to 4 is revealed), no hidden
cell is pinned, and every record is counted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from outreach.core.extensions import db, limiter
from outreach.interventions.models import Intervention
from outreach.org.service import create_user
from outreach.reports import releases
from outreach.reports.models import ReportCounted, ReportRelease
from outreach.reports.weeks import IsoWeek
from tests.conftest import ApiClient, _wipe
from tests.factories import PASSWORD, build_world, make_clients, make_interventions
from tests.reports.attacker import Collected

FIRST = IsoWeek(2026, 40)  # 28 September to 4 October 2026
WEEKS = 5
STEPS = 10  # Mondays 08:00 UTC from 5 October to 7 December (two month ends)
TEAMS = {
    "street": ("durham", "worker"),
    "custody": ("durham", "custody"),
    "dorset": ("dorset", "dorset"),
}
TYPES = ["harm_reduction_advice", "naloxone_supplied", "overdose_response"]


def monday(step: int) -> datetime:
    return datetime(2026, 10, 5, 8, tzinfo=UTC) + timedelta(weeks=step)


counts = st.integers(0, 7) | st.integers(0, 2)
batch = st.tuples(st.sampled_from(sorted(TEAMS)), st.sampled_from(TYPES), counts, st.booleans())
late = st.tuples(
    st.integers(0, WEEKS - 1),  # the week it is dated in
    st.integers(0, 4),  # weeks after that week's release it arrives
    st.sampled_from(sorted(TEAMS)),
    st.sampled_from(TYPES),
    st.integers(1, 3),
)


def _insert(world, pool, team, type_, n, with_client, week: IsoWeek, hour: int) -> None:
    area, worker = TEAMS[team]
    when = datetime.combine(week.monday, datetime.min.time(), tzinfo=UTC) + timedelta(
        days=2, hours=hour
    )
    make_interventions(
        world.team_ids[team],
        world.area_ids[area],
        world.user_ids[worker],
        n,
        client_ids=pool[team] if with_client else None,
        type_=type_,
        occurred_at=when,
        quantity=1 if type_ == "naloxone_supplied" else None,
    )


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    weeks=st.lists(st.lists(batch, max_size=4), min_size=WEEKS, max_size=WEEKS),
    arrivals=st.lists(late, max_size=6),
    deletions=st.lists(st.tuples(st.integers(0, WEEKS - 1), st.integers(0, 4)), max_size=3),
)
def test_nothing_released_over_weeks_reveals_a_small_count(
    app, client, monkeypatch, weeks, arrivals, deletions
):
    _wipe(app)
    limiter.reset()
    moment = {"now": monday(0)}
    monkeypatch.setattr(releases, "clock", lambda: moment["now"])
    with app.app_context():
        world = build_world()
        create_user(
            "region@example.test",
            "Region",
            "commissioner",
            PASSWORD,
            area_codes=["durham", "dorset"],
            actor_id=None,
        )
        pool = {
            t: [c["id"] for c in make_clients(world.team_ids[t], world.area_ids[TEAMS[t][0]], 3)]
            for t in TEAMS
        }
        for i, week_batches in enumerate(weeks):
            for hour, (team, type_, n, with_client) in enumerate(week_batches):
                if n:
                    _insert(world, pool, team, type_, n, with_client, FIRST.shift(i), hour)
        db.session.remove()
    recipients = {
        "durham": (ApiClient(client, "commissioner@example.test"), ["durham"]),
        "dorset": (ApiClient(client, "commissioner_sw@example.test"), ["dorset"]),
        "region": (ApiClient(client, "region@example.test"), ["dorset", "durham"]),
        "admin": (ApiClient(client, "admin@example.test"), ["dorset", "durham"]),
    }
    seen = Collected()

    def fetch(api, codes, week, area=None):
        query = f"week={week}" + (f"&area={area}" if area else "")
        body = api.get(f"/api/v1/reports/weekly?{query}").get_json()
        assert body["week"] == str(week), body
        seen.add_json(body)
        csv = api.get(f"/api/v1/reports/weekly.csv?{query}").get_data(as_text=True)
        seen.add_csv(csv, [area] if area else codes)

    for step in range(STEPS):
        moment["now"] = monday(step)
        with app.app_context():
            releases.release_due(moment["now"])  # what the scheduler releases first
            db.session.remove()
        latest = releases_latest(app, moment["now"])
        if latest is not None and latest >= FIRST:
            for name, (api, codes) in recipients.items():
                fetch(api, codes, latest)
                if name == "region":
                    fetch(api, codes, latest, area=codes[step % 2])
        with app.app_context():  # records that arrive late, after this step's releases
            for week_index, delay, team, type_, n in arrivals:
                if week_index + 1 + delay == step:
                    _insert(world, pool, team, type_, n, False, FIRST.shift(week_index), 20)
            for week_index, delay in deletions:  # a worker deletes a record of a sent week
                if week_index + 1 + delay == step:
                    _delete_one(app, FIRST.shift(week_index), moment["now"])
            db.session.remove()
    # January: November's late records are counted too; then every week again, by all.
    moment["now"] = datetime(2027, 1, 4, 8, tzinfo=UTC)
    with app.app_context():
        releases.release_due(moment["now"])
        db.session.remove()
    for _name, (api, codes) in recipients.items():
        fetch(api, codes, releases_latest(app, moment["now"]))
        for week in range(WEEKS):
            fetch(api, codes, FIRST.shift(week))

    assert seen.differences() == []
    assert seen.small_differences() == []
    for release in sorted(seen.releases()):
        assert seen.determined(release) == [], release
    with app.app_context():  # every live record of a released week counted, once
        counted = set(db.session.scalars(select(ReportCounted.intervention_id)))
        assert counted == _live_in_released_weeks(app)


def releases_latest(app, now) -> IsoWeek | None:
    with app.app_context():
        week = releases.latest_due_week(now)
        db.session.remove()
    return week


def _delete_one(app, week: IsoWeek, now) -> None:
    lo, hi = week.bounds(app.config["TIMEZONE"])
    iv = Intervention
    row = db.session.scalar(
        select(iv)
        .where(iv.occurred_at >= lo, iv.occurred_at < hi, iv.deleted_at.is_(None))
        .limit(1)
    )
    if row is not None:
        row.deleted_at = now
        db.session.commit()


def _live_in_released_weeks(app) -> set:
    tz = app.config["TIMEZONE"]
    live: set = set()
    iv = Intervention
    for period in db.session.scalars(
        select(ReportRelease.period).where(ReportRelease.kind == "week")
    ):
        lo, hi = IsoWeek.parse(period).bounds(tz)
        live |= set(
            db.session.scalars(
                select(iv.id).where(
                    iv.occurred_at >= lo, iv.occurred_at < hi, iv.deleted_at.is_(None)
                )
            )
        )
    return live
