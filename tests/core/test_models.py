"""Model constraints hold in the database itself."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError

from outreach.access.models import Area, User
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.people.models import Client
from outreach.reports.models import ReportDelivery


def _fails(app, *objects):
    with app.app_context():
        db.session.add_all(objects)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_area_code_unique(app, world):
    _fails(app, Area(code="durham", name="D", region="R"))


def test_worker_needs_team_and_role_is_known(app, world):
    _fails(app, User(email="a@example.test", name="A", role="worker", password_hash="x"))
    _fails(app, User(email="b@example.test", name="B", role="wizard", password_hash="x"))
    _fails(app, User(email="Upper@example.test", name="C", role="admin", password_hash="x"))


def test_email_unique(app, world):
    _fails(app, User(email="admin@example.test", name="A", role="admin", password_hash="x"))


def test_client_sex_checked_and_attributes_required(app, world):
    base = {
        "team_id": world.team_ids["street"],
        "area_id": world.area_ids["durham"],
        "version": 1,
        "server_seq": 1,
    }
    _fails(
        app,
        Client(
            id=uuid.uuid4(), initials="AB", date_of_birth=date(1990, 1, 1), sex="unknown", **base
        ),
    )
    _fails(
        app,
        Client(id=uuid.uuid4(), initials=None, date_of_birth=date(1990, 1, 1), sex="male", **base),
    )


def test_report_delivery_unique_per_recipient_and_week(app, world):
    uid = world.user_ids["commissioner"]
    now = utcnow()
    _fails(
        app,
        ReportDelivery(recipient_id=uid, email="c@x", period="2026-W47", created_at=now),
        ReportDelivery(recipient_id=uid, email="c@x", period="2026-W47", created_at=now),
    )


def test_datetimes_come_back_timezone_aware(app, world):
    with app.app_context():
        user = db.session.get(User, world.user_ids["admin"])
        db.session.expire(user)
        assert user.created_at.tzinfo is not None
