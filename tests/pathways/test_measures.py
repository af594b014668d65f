"""Pathway measures for commissioners, counted independently of how they were recorded:
referrals made and accepted, days to first contact, treatment within 21 days, episodes,
cohorts; local (Europe/London) weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from outreach.core.extensions import db
from outreach.pathways.measures import (
    linked_new_clients,
    pathway_counts,
    pathway_weeks,
    referral_cohorts,
)
from outreach.pathways.models import ClientLink
from tests.factories import make_clients
from tests.pathways.helpers import make_episode, make_referral

MONDAY = date(2026, 11, 2)  # GMT
AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _durham(world):
    return make_clients(world.team_ids["custody"], world.area_ids["durham"], 6)


def test_the_weeks_pathway_figures(app, world):
    with app.app_context():
        a, b, c, d, e, f = _durham(world)
        street = world.team_ids["street"]
        day = timedelta(days=1)
        make_referral(
            a,
            street,
            AT,
            status="treatment_entry",
            accepted_at=AT + day,
            first_contact_at=AT + 3 * day,
            treatment_entry_at=AT + 10 * day,
        )
        make_referral(
            b,
            street,
            AT,
            status="treatment_entry",
            accepted_at=AT + 2 * day,
            first_contact_at=AT + 4 * day,
            treatment_entry_at=AT + 6 * day,
        )
        make_referral(  # sent a month before: its entry is outside the 21 days
            c,
            street,
            AT - 30 * day,
            status="treatment_entry",
            treatment_entry_at=AT + 2 * day,
        )
        make_referral(d, street, AT, deleted_at=AT + day)  # deleted: never counted
        dorset = make_clients(world.team_ids["dorset"], world.area_ids["dorset"], 1)[0]
        make_referral(dorset, world.team_ids["street"], AT)
        make_episode(e, MONDAY)
        make_episode(f, MONDAY - 120 * day, outcome="completed", ended_on=MONDAY + 2 * day)
        make_episode(f, MONDAY - 130 * day, outcome="not_completed", ended_on=MONDAY)
        make_episode(f, MONDAY - 7 * day)  # started the week before
        figures = pathway_counts([world.area_ids["durham"], world.area_ids["dorset"]], MONDAY)
    durham = figures[world.area_ids["durham"]]
    assert durham == {
        "referrals_made": 2,
        "referrals_accepted": 2,
        "first_contacts": 2,
        "median_days_to_first_contact": 3.5,
        "treatment_within_21_days": 1,
        "episodes_started": 1,
        "episodes_completed": 1,
        "episodes_not_completed": 1,
        "episodes_withdrawn": 0,
    }
    assert figures[world.area_ids["dorset"]]["referrals_made"] == 1


def test_a_week_is_a_london_week(app, world):
    summer_monday = date(2026, 6, 1)  # BST: the week starts at Sunday 23:00 UTC
    sunday_night = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)
    with app.app_context():
        (client,) = make_clients(world.team_ids["custody"], world.area_ids["durham"], 1)
        make_referral(client, world.team_ids["street"], sunday_night)
        this_week = pathway_counts([world.area_ids["durham"]], summer_monday)
        week_before = pathway_counts([world.area_ids["durham"]], summer_monday - timedelta(7))
    assert this_week[world.area_ids["durham"]]["referrals_made"] == 1
    assert week_before[world.area_ids["durham"]]["referrals_made"] == 0


def test_cohorts_by_week_of_referral(app, world):
    with app.app_context():
        clients = _durham(world)
        street = world.team_ids["street"]
        for client, days in zip(clients, (5, 30, 60, None, None, 100), strict=True):
            over = {}
            if days is not None:
                over = {"status": "treatment_entry", "treatment_entry_at": AT + timedelta(days)}
            make_referral(client, street, AT, **over)
        durham = world.area_ids["durham"]
        later = AT + timedelta(weeks=20)
        known = referral_cohorts([durham], [MONDAY], later)[MONDAY][durham]
        young = referral_cohorts([durham], [MONDAY], AT + timedelta(weeks=4))[MONDAY][durham]
    assert known == {
        "referred": 6,
        "entered_3_weeks": 1,
        "entered_6_weeks": 2,
        "entered_12_weeks": 3,
    }
    assert young == {
        "referred": 6,
        "entered_3_weeks": 1,
        "entered_6_weeks": None,
        "entered_12_weeks": None,
    }


def test_a_person_linked_across_teams_is_not_new_twice(app, world):
    with app.app_context():
        (first,) = make_clients(
            world.team_ids["street"], world.area_ids["durham"], 1, created_at=AT - timedelta(60)
        )
        (again,) = make_clients(
            world.team_ids["custody"], world.area_ids["durham"], 1, created_at=AT
        )
        pair = sorted([first["id"], again["id"]], key=str)
        db.session.add(
            ClientLink(
                client_id=pair[0],
                other_client_id=pair[1],
                resolution="linked",
                team_id=world.team_ids["street"],
                confirmed_by_id=world.user_ids["lead"],
            )
        )
        db.session.commit()
        counts = linked_new_clients([world.area_ids["durham"]], MONDAY)
    assert counts == {world.area_ids["durham"]: 1}


def test_several_weeks_at_once_equal_each_week_alone(app, world):
    with app.app_context():
        clients = _durham(world)
        street = world.team_ids["street"]
        for n, client in enumerate(clients):
            sent = AT - timedelta(days=9 * n)
            make_referral(
                client,
                street,
                sent,
                status="treatment_entry",
                accepted_at=sent + timedelta(days=1),
                first_contact_at=sent + timedelta(days=2 + n),
                treatment_entry_at=sent + timedelta(days=5 * n),
            )
        areas = [world.area_ids["durham"], world.area_ids["dorset"]]
        mondays = [MONDAY - timedelta(weeks=k) for k in range(0, 8, 2)]  # not contiguous
        together = pathway_weeks(areas, mondays)
        alone = {m: pathway_counts(areas, m) for m in mondays}
    assert together == alone
    assert sum(together[m][areas[0]]["referrals_made"] for m in mondays) >= 3
