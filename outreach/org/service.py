"""Areas, teams, users and commissioners' areas: the admin's organisation."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select

from outreach.access.models import ROLES, TEAM_ROLES, Area, CommissionerArea, Team, User
from outreach.access.passwords import hash_password, password_problem
from outreach.access.sessions import end_sessions
from outreach.audit.service import record_event
from outreach.core.errors import ApiError
from outreach.core.extensions import db

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _check_names(**names: str | None) -> None:
    """Names go into report emails' headers, PDFs and CSVs: no control characters (the
    API's schemas say the same; this holds the command line too)."""
    errors = {
        field: ["Names cannot hold control characters (line breaks, tabs)."]
        for field, value in names.items()
        if value is not None and CONTROL.search(value)
    }
    if errors:
        raise ApiError(422, "A name holds control characters.", errors=errors)


def _area_by_code(code: str) -> Area:
    area = db.session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise ApiError(422, "Unknown area.", errors={"areas": [f"No area with code {code!r}."]})
    return area


def create_area(code: str, name: str, region: str, *, actor_id: int | None) -> Area:
    _check_names(name=name, region=region)
    if db.session.scalar(select(func.count()).where(Area.code == code)):
        raise ApiError(
            409, "An area with this code already exists.", errors={"code": ["Already used."]}
        )
    area = Area(code=code, name=name, region=region, active=True)
    db.session.add(area)
    db.session.flush()
    record_event("area.create", actor_id=actor_id, entity="area", record_id=area.id)
    db.session.commit()
    return area


def update_area(area: Area, changes: dict, *, actor_id: int | None) -> Area:
    _check_names(name=changes.get("name"), region=changes.get("region"))
    for key in ("name", "region", "active"):
        if key in changes:
            setattr(area, key, changes[key])
    record_event(
        "area.update",
        actor_id=actor_id,
        entity="area",
        record_id=area.id,
        detail={"fields": sorted(changes)},
    )
    db.session.commit()
    return area


def create_team(area_id: int, name: str, provider: str, *, actor_id: int | None) -> Team:
    _check_names(name=name, provider=provider)
    if db.session.get(Area, area_id) is None:
        raise ApiError(422, "Unknown area.", errors={"area_id": ["No such area."]})
    _refuse_team_name_in_use(area_id, name)
    team = Team(area_id=area_id, name=name, provider=provider, active=True)
    db.session.add(team)
    db.session.flush()
    record_event("team.create", actor_id=actor_id, entity="team", record_id=team.id)
    db.session.commit()
    return team


def _refuse_team_name_in_use(area_id: int, name: str, *, other_than: int | None = None) -> None:
    taken = select(func.count()).where(Team.area_id == area_id, Team.name == name)
    if other_than is not None:
        taken = taken.where(Team.id != other_than)
    if db.session.scalar(taken):
        raise ApiError(
            409,
            "This area already has a team with that name.",
            errors={"name": ["Already used in this area."]},
        )


def update_team(team: Team, changes: dict, *, actor_id: int | None) -> Team:
    _check_names(name=changes.get("name"), provider=changes.get("provider"))
    if "name" in changes:
        _refuse_team_name_in_use(team.area_id, changes["name"], other_than=team.id)
    for key in ("name", "provider", "active"):
        if key in changes:
            setattr(team, key, changes[key])
    record_event(
        "team.update",
        actor_id=actor_id,
        entity="team",
        record_id=team.id,
        detail={"fields": sorted(changes)},
    )
    db.session.commit()
    return team


def _check_role_fields(role: str, team_id: int | None, area_codes: list[str] | None) -> None:
    errors: dict[str, list[str]] = {}
    if role not in ROLES:
        errors["role"] = [f"Must be one of: {', '.join(ROLES)}."]
    if role in TEAM_ROLES and team_id is None:
        errors["team_id"] = ["Workers and team leads belong to a team."]
    if role not in TEAM_ROLES and team_id is not None:
        errors["team_id"] = ["Only workers and team leads belong to a team."]
    if team_id is not None and db.session.get(Team, team_id) is None:
        errors["team_id"] = ["No such team."]
    if area_codes and role != "commissioner":
        errors["areas"] = ["Only commissioners hold areas."]
    if errors:
        raise ApiError(422, "The user's role and team do not fit.", errors=errors)


def create_user(
    email: str,
    name: str,
    role: str,
    password: str,
    *,
    team_id: int | None = None,
    area_codes: list[str] | None = None,
    actor_id: int | None,
    commit: bool = True,
) -> User:
    """Create an account; commissioners get their areas by code."""
    _check_names(name=name)
    email = email.strip().lower()
    _check_role_fields(role, team_id, area_codes)
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise ApiError(422, "The password is too weak.", errors={"password": [problem]})
    if db.session.scalar(select(func.count()).where(User.email == email)):
        raise ApiError(
            409, "An account with this email already exists.", errors={"email": ["Already used."]}
        )
    user = User(
        email=email,
        name=name,
        role=role,
        team_id=team_id,
        active=True,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    _set_areas(user, area_codes or [])
    record_event(
        "user.create", actor_id=actor_id, entity="user", record_id=user.id, detail={"role": role}
    )
    if commit:
        db.session.commit()
    return user


def _set_areas(user: User, area_codes: list[str]) -> None:
    areas = [_area_by_code(code) for code in dict.fromkeys(area_codes)]
    db.session.execute(delete(CommissionerArea).where(CommissionerArea.user_id == user.id))
    for area in areas:
        db.session.add(CommissionerArea(user_id=user.id, area_id=area.id))
    db.session.flush()
    db.session.expire(user, ["commissioner_areas"])


def update_user(user: User, changes: dict, *, actor_id: int | None) -> User:
    """Change name, role, team, areas, active flag or password."""
    _check_names(name=changes.get("name"))
    role = changes.get("role", user.role)
    team_id = changes.get("team_id", user.team_id)
    if role not in ("worker", "team_lead"):
        team_id = None if "team_id" not in changes else team_id
    areas = changes.get("areas")
    _check_role_fields(role, team_id, areas)
    ending = _ends_sessions(user, changes, role, team_id)
    if "password" in changes:
        problem = password_problem(
            changes["password"], email=user.email, name=changes.get("name", user.name)
        )
        if problem:
            raise ApiError(422, "The password is too weak.", errors={"password": [problem]})
        user.password_hash = hash_password(changes["password"])
    if "name" in changes:
        user.name = changes["name"]
    if "active" in changes:
        user.active = changes["active"]
    user.role = role
    user.team_id = team_id
    if areas is not None or role != "commissioner":
        _set_areas(user, areas or [])
    record_event(
        "user.update",
        actor_id=actor_id,
        entity="user",
        record_id=user.id,
        detail={
            "fields": sorted(k for k in changes if k != "password")
            + (["password"] if "password" in changes else [])
        },
    )
    if ending:
        end_sessions(user)
        record_event(
            "user.sessions_ended",
            actor_id=actor_id,
            entity="user",
            record_id=user.id,
            detail={"reasons": ending},
        )
    db.session.commit()
    return user


def _ends_sessions(user: User, changes: dict, role: str, team_id: int | None) -> list[str]:
    """Why this change ends the user's sessions (none: it does not)."""
    reasons = []
    if "password" in changes:
        reasons.append("password_reset")
    if changes.get("active") is False and user.active:
        reasons.append("deactivated")
    if role != user.role:
        reasons.append("role_change")
    if team_id != user.team_id:
        reasons.append("team_change")
    return reasons
