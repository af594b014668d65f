"""What the caller may see: the one place slices ask (DESIGN §2).

Two answers, one message each: a role that may not use an endpoint gets 403
(`forbidden`, raised by `require` and by the helpers here when an actor has no team);
an object outside the caller's scope gets 404 (`out_of_scope`), never a hint that it
exists. Team-held records (clients, interventions, follow-ups, duplicate links) are
in scope for the members of their team; areas for their commissioners, every area for
admins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import aliased

from outreach.access.guard import FORBIDDEN, Actor
from outreach.access.models import TEAM_ROLES, Area, Partnership, PartnershipTeam, Team, User
from outreach.core.errors import ApiError
from outreach.core.extensions import db

MAX_ID = 2**31 - 1  # INTEGER primary keys: a larger id is no row (PostgreSQL would raise)
S = TypeVar("S", bound=Select[Any])


def forbidden() -> ApiError:
    """403: the caller's role may not do this."""
    return ApiError(403, FORBIDDEN)


def out_of_scope(what: str, *, errors: dict | None = None) -> ApiError:
    """404 for anything the caller may not see, whether or not it exists."""
    return ApiError(404, f"No such {what} in your scope.", errors=errors)


def team_of(actor: Actor) -> int:
    """The caller's team. Roles without one (commissioners, admins) may not use
    team-scoped endpoints."""
    if actor.team_id is None:
        raise forbidden()
    return actor.team_id


def team_area_of(actor: Actor) -> tuple[int, int]:
    """(team, area of the team) of a team member."""
    team_id = team_of(actor)
    area_id = next(iter(actor.area_ids), None)
    if area_id is None:  # the guard loads it with the user; this is a fallback
        area_id = db.session.scalar(select(Team.area_id).where(Team.id == team_id))
    if area_id is None:
        raise forbidden()
    return team_id, area_id


def in_team(stmt: S, model: Any, actor: Actor) -> S:
    """`stmt` limited to the caller's team's rows of a team-held `model`."""
    return stmt.where(model.team_id == team_of(actor))


def areas_of(actor: Actor, *, code: str | None = None) -> list[tuple[int, str]]:
    """(id, code) of the areas the caller may report on, by code: a commissioner's own,
    every active area for an admin (or the one asked for, active or not). `code`
    narrows to one area; outside the scope it is a 404."""
    stmt = select(Area.id, Area.code)
    if actor.is_admin:
        stmt = stmt.where(Area.code == code) if code else stmt.where(Area.active.is_(True))
    elif actor.role == "commissioner":
        stmt = stmt.where(Area.id.in_(list(actor.area_ids)))
    else:
        raise forbidden()
    rows = [
        (area_id, area_code) for area_id, area_code in db.session.execute(stmt.order_by(Area.code))
    ]
    if not rows or (code and code not in {c for _, c in rows}):
        raise out_of_scope("area")
    return rows


def team_member(actor: Actor, user_id: int, *, field: str = "worker_id") -> User:
    """An active worker or lead of the caller's team (404 outside it; 422 when the
    account is no longer active)."""
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None or user.team_id != team_of(actor) or user.role not in TEAM_ROLES:
        raise out_of_scope("worker")
    if not user.active:
        raise ApiError(
            422,
            "The request has invalid fields.",
            errors={field: ["That worker's account is not active."]},
        )
    return user


def team_members(team_id: int) -> set[int]:
    """Ids of the active workers and leads of a team."""
    return set(
        db.session.scalars(
            select(User.id).where(
                User.team_id == team_id, User.active.is_(True), User.role.in_(TEAM_ROLES)
            )
        )
    )


def get_or_404(model: Any, ident: int, what: str | None = None) -> Any:
    """An admin's lookup of an organisation row by integer id."""
    row = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if row is None:
        raise ApiError(404, f"No such {what or model.__name__.lower()}.")
    return row


def partnership_between(team_id: int, other_team_id: int, on: date) -> int | None:
    """The id of an agreement in force on `on` that both teams are part of, or None
    (DESIGN §5b: no agreement, no sharing)."""
    mine = aliased(PartnershipTeam)
    theirs = aliased(PartnershipTeam)
    return db.session.scalar(
        select(Partnership.id)
        .join(mine, mine.partnership_id == Partnership.id)
        .join(theirs, theirs.partnership_id == Partnership.id)
        .where(
            mine.team_id == team_id,
            theirs.team_id == other_team_id,
            *in_force(on),
        )
        .order_by(Partnership.id)
        .limit(1)
    )


def sharing_ended_at(team_id: int, other_team_id: int, now: datetime) -> datetime:
    """When sharing between two teams with no agreement in force stopped: the start of
    the day after the latest `ends_on` among the agreements that joined them, when that
    is earlier than `now` (an agreement that lapsed by its date); else `now`."""
    mine = aliased(PartnershipTeam)
    theirs = aliased(PartnershipTeam)
    ended = db.session.scalar(
        select(func.max(Partnership.ends_on))
        .join(mine, mine.partnership_id == Partnership.id)
        .join(theirs, theirs.partnership_id == Partnership.id)
        .where(
            mine.team_id == team_id,
            theirs.team_id == other_team_id,
            Partnership.ends_on < now.date(),
        )
    )
    if ended is None:
        return now
    return min(now, datetime.combine(ended + timedelta(days=1), time(0), tzinfo=UTC))


def in_force(on: date) -> list[Any]:
    """SQL conditions: a partnership in force on `on`."""
    return [
        Partnership.starts_on <= on,
        or_(Partnership.ends_on.is_(None), Partnership.ends_on >= on),
    ]


def partner_teams(team_id: int, on: date) -> set[int]:
    """The teams that share an agreement in force with `team_id` (itself excluded)."""
    mine = aliased(PartnershipTeam)
    theirs = aliased(PartnershipTeam)
    return set(
        db.session.scalars(
            select(theirs.team_id)
            .join(mine, mine.partnership_id == theirs.partnership_id)
            .join(Partnership, Partnership.id == theirs.partnership_id)
            .where(mine.team_id == team_id, theirs.team_id != team_id, *in_force(on))
        )
    )


# Clients of another team that a team holds in its caseload (DESIGN §5b: shared with it
# through a referral it took on). The slice that shares records (pathways) registers
# the SELECT of their ids; every caseload read and action asks here, so the rule is
# applied in one place and never re-done in a view.
_SHARED_CASELOAD: list[Callable[[int], Select[Any]]] = []


def shared_into_caseload(
    provider: Callable[[int], Select[Any]],
) -> Callable[[int], Select[Any]]:
    """Register `provider(team_id)`: a SELECT of the ids of other teams' clients in the
    team's caseload."""
    if provider not in _SHARED_CASELOAD:
        _SHARED_CASELOAD.append(provider)
    return provider


def shared_caseload_ids(team_id: int) -> Select[Any] | None:
    """SELECT of the ids of other teams' clients in the team's caseload (None: none can
    be, no sharing slice registered)."""
    selects = [provider(team_id) for provider in _SHARED_CASELOAD]
    if not selects:
        return None
    out = selects[0]
    for other in selects[1:]:
        out = out.union(other)  # type: ignore[assignment]
    return out


def in_caseload(id_column: Any, team_column: Any, team_id: int) -> ColumnElement[bool]:
    """SQL: a client in the team's caseload: one of its own, or another team's shared
    with it and taken on (`shared_caseload_ids`, read now: a few ids, so the team's own
    rows are still found by their index)."""
    own: ColumnElement[bool] = team_column == team_id
    ids = shared_in_caseload(team_id)
    return or_(own, id_column.in_(ids)) if ids else own


def shared_in_caseload(team_id: int) -> list[Any]:
    """The ids of other teams' clients in the team's caseload, now."""
    shared = shared_caseload_ids(team_id)
    return list(dict.fromkeys(db.session.scalars(shared))) if shared is not None else []
