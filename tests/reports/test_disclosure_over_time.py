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
from sqlalchemy import func, select

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
)
def test_nothing_released_over_weeks_reveals_a_small_count(
    app, client, monkeypatch, weeks, arrivals
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
            db.session.remove()
    for week in range(WEEKS):  # at the end, every week again, by everyone
        for _name, (api, codes) in recipients.items():
            fetch(api, codes, FIRST.shift(week))

    assert seen.differences() == []
    assert seen.small_differences() == []
    for release in sorted(seen.releases()):
        assert seen.determined(release) == [], release
    on_time = sum(n for week_batches in weeks for (_t, _y, n, _c) in week_batches)
    # Late records are counted by the late-records release of the next month's first
    # Monday (2 November, step 4; 7 December, step 9) after they arrive.
    late_counted = sum(n for w, delay, _t, _y, n in arrivals if w + 1 + delay < STEPS - 1)
    with app.app_context():
        counted = db.session.scalar(select(func.count()).select_from(ReportCounted))
        assert counted == on_time + late_counted
        assert _live_in_released_weeks(app) >= counted


def releases_latest(app, now) -> IsoWeek | None:
    with app.app_context():
        week = releases.latest_due_week(now)
        db.session.remove()
    return week


def _live_in_released_weeks(app) -> int:
    tz = app.config["TIMEZONE"]
    live = 0
    for period in db.session.scalars(
        select(ReportRelease.period).where(ReportRelease.kind == "week")
    ):
        lo, hi = IsoWeek.parse(period).bounds(tz)
        iv = Intervention
        live += db.session.scalar(
            select(func.count())
            .select_from(iv)
            .where(iv.occurred_at >= lo, iv.occurred_at < hi, iv.deleted_at.is_(None))
        )
    return live
