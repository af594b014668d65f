"""Issue 20's pathway figures over time (docs/disclosure.md, "Pathway figures"): random
referral cohorts, late and deleted referrals and late treatment entries, weeks
released as the scheduler releases them for three recipients with overlapping scopes
(Durham, Dorset, a region of both) fetching JSON and CSV week after week for 17
weeks. The attacker (tests/reports/attacker.py) files each cohort figure under the
cohort's week, whichever release carried it, and searches everything exactly: no
figure differs between two outputs, no hidden cell is pinned, no difference of two
published figures (3 to 6 weeks, 6 to 12, referred but not entered) is pinned to 1-4,
and every pathway step is counted once (weekly release or late-records release)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from outreach.core.extensions import db, limiter
from outreach.org.service import create_user
from outreach.pathways.models import Referral
from outreach.reports import releases
from outreach.reports.weeks import IsoWeek
from tests.conftest import ApiClient, _wipe
from tests.factories import PASSWORD, build_world, make_clients
from tests.pathways.helpers import make_referral
from tests.reports.attacker import Collected

FIRST = IsoWeek(2026, 40)  # 28 September to 4 October 2026: the first cohort
COHORTS = 3  # cohorts of weeks 40, 41, 42: published by the releases of 52, 53, 2027-W01
STEPS = 17  # Mondays 08:00 UTC from 5 October 2026 to 25 January 2027
ENTRY = [None, 10, 30, 60, 100]  # days from referral to treatment entry (None: never)
AREAS = {"durham": "custody", "dorset": "dorset"}  # the referring team of each area


def monday(step: int) -> datetime:
    return datetime(2026, 10, 5, 8, tzinfo=UTC) + timedelta(weeks=step)


def sent_in(week: IsoWeek, hour: int = 10) -> datetime:
    return datetime.combine(week.monday, datetime.min.time(), tzinfo=UTC) + timedelta(
        days=2, hours=hour
    )


def refer(world, client: dict, sent: datetime, entry_days: int | None, **over) -> dict:
    steps: dict = {"status": "sent"}
    if entry_days is not None:
        steps = {
            "status": "treatment_entry",
            "accepted_at": sent + timedelta(days=1),
            "first_contact_at": sent + timedelta(days=2),
            "treatment_entry_at": sent + timedelta(days=entry_days),
        }
    return make_referral(client, world.team_ids["street"], sent, **(steps | over))


class Scenario:
    """The world, a clock the releases read, recipients, and what they collected."""

    def __init__(self, app, client, monkeypatch, region: bool = True):
        _wipe(app)
        limiter.reset()
        self.app = app
        self.moment = {"now": monday(0)}
        monkeypatch.setattr(releases, "clock", lambda: self.moment["now"])
        with app.app_context():
            self.world = build_world()
            if region:
                create_user(
                    "region@example.test",
                    "Region",
                    "commissioner",
                    PASSWORD,
                    area_codes=["durham", "dorset"],
                    actor_id=None,
                )
            self.pool = {
                area: make_clients(self.world.team_ids[team], self.world.area_ids[area], 40)
                for area, team in AREAS.items()
            }
            db.session.remove()
        self.used = dict.fromkeys(AREAS, 0)
        self.recipients = {
            "durham": (ApiClient(client, "commissioner@example.test"), ["durham"]),
            "dorset": (ApiClient(client, "commissioner_sw@example.test"), ["dorset"]),
        }
        if region:
            self.recipients["region"] = (
                ApiClient(client, "region@example.test"),
                ["dorset", "durham"],
            )
        self.seen = Collected()
        self.bodies: dict[str, dict] = {}

    def client_of(self, area: str) -> dict:
        row = self.pool[area][self.used[area] % len(self.pool[area])]
        self.used[area] += 1
        return row

    def refer(self, area: str, week: IsoWeek, entry_days, hour: int = 10, **over) -> dict:
        return refer(self.world, self.client_of(area), sent_in(week, hour), entry_days, **over)

    def fetch(self, name: str, week: IsoWeek) -> dict:
        api, codes = self.recipients[name]
        body = api.get(f"/api/v1/reports/weekly?week={week}").get_json()
        assert body["week"] == str(week), body
        self.seen.add_json(body)
        csv = api.get(f"/api/v1/reports/weekly.csv?week={week}").get_data(as_text=True)
        self.seen.add_csv(csv, codes)
        self.bodies[f"{name}/{week}"] = body
        return body

    def step(self, now: datetime) -> IsoWeek:
        """The scheduler's run at `now`, then every recipient fetches the latest week."""
        self.moment["now"] = now
        with self.app.app_context():
            releases.release_due(now)
            latest = releases.latest_due_week(now)
            db.session.remove()
        if latest >= FIRST:
            for name in self.recipients:
                self.fetch(name, latest)
        return latest

    def assert_nothing_revealed(self) -> None:
        assert self.seen.differences() == []
        assert self.seen.small_differences() == []
        for release in sorted(self.seen.releases()):
            assert self.seen.determined(release) == [], release


def _delete_one(area_id: int, week: IsoWeek, tz: str, now: datetime) -> None:
    lo, hi = week.bounds(tz)
    r = Referral
    row = db.session.scalar(
        select(r)
        .where(r.area_id == area_id, r.sent_at >= lo, r.sent_at < hi, r.deleted_at.is_(None))
        .order_by(r.id)
        .limit(1)
    )
    if row is not None:
        row.deleted_at = now
        db.session.commit()


def _enter_late(area_id: int, week: IsoWeek, tz: str, now: datetime) -> None:
    """A treatment entry recorded now, dated 20 days after a referral of `week`."""
    lo, hi = week.bounds(tz)
    r = Referral
    row = db.session.scalar(
        select(r)
        .where(
            r.area_id == area_id,
            r.sent_at >= lo,
            r.sent_at < hi,
            r.deleted_at.is_(None),
            r.treatment_entry_at.is_(None),
        )
        .order_by(r.id)
        .limit(1)
    )
    if row is not None and row.sent_at is not None:
        row.status = "treatment_entry"
        row.treatment_entry_at = row.sent_at + timedelta(days=20)
        db.session.commit()


cohort = st.tuples(
    st.lists(st.sampled_from(ENTRY), max_size=7), st.lists(st.sampled_from(ENTRY), max_size=7)
)
later = st.tuples(
    st.integers(0, COHORTS - 1),  # the cohort week it concerns
    st.integers(0, 14),  # steps after that week's release
    st.sampled_from(sorted(AREAS)),
    st.sampled_from(["arrive", "delete", "enter"]),
    st.sampled_from(ENTRY),  # a late referral's entry
)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cohorts=st.lists(cohort, min_size=COHORTS, max_size=COHORTS),
    events=st.lists(later, max_size=6),
)
@example(  # one late referral for the first cohort, in the week after its release
    cohorts=[([10, 10, 10, 10, 10, 30, 30, None], [10] * 6), ([], []), ([], [])],
    events=[(0, 1, "durham", "arrive", None), (0, 4, "durham", "delete", None)],
)
def test_no_release_over_weeks_reveals_a_small_pathway_count(
    app, client, monkeypatch, cohorts, events
):
    s = Scenario(app, client, monkeypatch)
    with app.app_context():
        for i, (durham, dorset) in enumerate(cohorts):
            for area, entries in (("durham", durham), ("dorset", dorset)):
                for hour, entry in enumerate(entries):
                    s.refer(area, FIRST.shift(i), entry, hour=hour)
        db.session.remove()
    tz = app.config["TIMEZONE"]
    for step in range(STEPS):
        s.step(monday(step))
        with app.app_context():  # what reaches the server after this step's releases
            for i, delay, area, what, entry in events:
                if i + 1 + delay != step:
                    continue
                week, area_id = FIRST.shift(i), s.world.area_ids[area]
                if what == "arrive":
                    s.refer(area, week, entry, hour=20, created_at=monday(step))
                elif what == "delete":
                    _delete_one(area_id, week, tz, monday(step))
                else:
                    _enter_late(area_id, week, tz, monday(step))
            db.session.remove()
    s.step(datetime(2027, 2, 8, 8, tzinfo=UTC))  # January's late records counted too
    for name in s.recipients:  # the cohorts' weeks and their releases again, by all
        for i in range(COHORTS):
            s.fetch(name, FIRST.shift(i))
            s.fetch(name, FIRST.shift(i + 12))

    s.assert_nothing_revealed()
    with app.app_context():
        _assert_every_step_counted_once(tz)


def _assert_every_step_counted_once(tz: str) -> None:
    """The pathway ledger's rows in force are exactly the live steps of released weeks."""
    from outreach.reports.models import ReportCountedStep, ReportRelease
    from outreach.reports.step_ledger import live_steps

    weeks = sorted(
        IsoWeek.parse(p)
        for p in db.session.scalars(
            select(ReportRelease.period).where(ReportRelease.kind == "week")
        )
    )
    names = {str(w) for w in weeks}
    live = {
        st.key
        for st in live_steps(weeks[0].bounds(tz)[0], weeks[-1].bounds(tz)[1], tz)
        if str(IsoWeek.of(st.at.astimezone(_zone(tz)).date())) in names
    }
    s = ReportCountedStep
    counted = [
        (m, r, at if at.tzinfo else at.replace(tzinfo=UTC), a)
        for m, r, at, a in db.session.execute(
            select(s.measure, s.record_id, s.at, s.area_id).where(s.withdrawn_by.is_(None))
        )
    ]
    assert len(counted) == len(set(counted))
    assert set(counted) == live


def _zone(tz: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)
