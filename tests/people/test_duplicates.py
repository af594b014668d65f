"""Probable duplicates: same team and match key, linked as a star."""

from __future__ import annotations

from sqlalchemy import func, select

from outreach.core.extensions import db
from outreach.people.models import Client, ClientDuplicate
from outreach.people.service import link_probable_duplicates, list_probable_duplicates
from tests.factories import make_clients


def test_links_are_made_once_and_listed(app, world):
    with app.app_context():
        team, area = world.team_ids["street"], world.area_ids["durham"]
        # Three copies of one person, written as phones write them: linked as they are
        # written (a star on the first), once.
        rows = [make_clients(team, area, 1, same_as=1)[0] for _ in range(3)]
        pairs = [(r["id"], r["match_key"]) for r in rows]
        assert db.session.scalar(select(func.count()).select_from(ClientDuplicate)) == 2
        assert link_probable_duplicates(team, pairs) == 0
        links = db.session.scalars(select(ClientDuplicate)).all()
        first = rows[0]["id"]
        assert all(first in (link.client_id, link.other_client_id) for link in links)
        listed = list_probable_duplicates(team)
        assert len(listed) == 2
        # Another team's copy of the same attributes is not linked to ours.
        other = make_clients(world.team_ids["dorset"], world.area_ids["dorset"], 1, same_as=1)
        assert (
            link_probable_duplicates(
                world.team_ids["dorset"], [(other[0]["id"], other[0]["match_key"])]
            )
            == 0
        )
        # A deleted client drops out of the list.
        db.session.get(Client, rows[1]["id"]).deleted_at = db.session.get(Client, first).created_at
        db.session.commit()
        assert len(list_probable_duplicates(team)) == 1
