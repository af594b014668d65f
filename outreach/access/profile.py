"""What a signed-in user sees of themselves: role, team, areas (GET /me, sign-in)."""

from __future__ import annotations

from sqlalchemy import select

from outreach.access.models import Area, User
from outreach.core.extensions import db


def profile_of(user: User) -> dict:
    """The signed-in user's own view of themselves: role, team, areas."""
    team = user.team
    if user.role == "commissioner":
        areas = user.commissioner_areas
    elif user.role == "admin":
        areas = list(db.session.scalars(select(Area).order_by(Area.code)))
    else:
        areas = [team.area] if team else []
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "team": (
            {"id": team.id, "name": team.name, "provider": team.provider, "area_id": team.area_id}
            if team
            else None
        ),
        "areas": [{"id": a.id, "code": a.code, "name": a.name, "region": a.region} for a in areas],
    }
