"""Partnerships (admin): which teams share clients under a data-sharing agreement, with
the agreement's reference and the dates it is in force (DESIGN §5b).

Ending an agreement (an `ends_on` in the past) stops new referrals and acceptances
between its teams at once; records already shared stay with the teams that hold them,
which get no newer version of them (`freeze_unagreed`, as when consent is withdrawn).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from outreach.access.models import Partnership, PartnershipTeam, Team
from outreach.access.scope import in_force, partnership_between, sharing_ended_at
from outreach.audit.service import record_event
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.records.models import RecordShare
from outreach.records.registry import ENTITIES


def partnership_out(p: Partnership, today: date) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "agreement_ref": p.agreement_ref,
        "starts_on": p.starts_on,
        "ends_on": p.ends_on,
        "in_force": p.starts_on <= today and (p.ends_on is None or p.ends_on >= today),
        "teams": [{"id": t.id, "name": t.name, "area_id": t.area_id} for t in p.teams],
    }


def _check(values: dict[str, Any], current: Partnership | None) -> None:
    errors: dict[str, list[str]] = {}
    team_ids = values.get("team_ids")
    if team_ids is not None:
        found = set(db.session.scalars(select(Team.id).where(Team.id.in_(team_ids))))
        if len(set(team_ids)) < 2:
            errors["team_ids"] = ["A partnership joins at least two teams."]
        elif found != set(team_ids):
            errors["team_ids"] = [f"No team with id {min(set(team_ids) - found)}."]
    starts = values.get("starts_on", current.starts_on if current else None)
    ends = values.get("ends_on", current.ends_on if current else None)
    if starts and ends and ends < starts:
        errors["ends_on"] = ["The agreement must end on or after it starts."]
    ref = values.get("agreement_ref")
    changed = ref is not None and (current is None or ref != current.agreement_ref)
    if changed and db.session.scalar(select(func.count()).where(Partnership.agreement_ref == ref)):
        raise ApiError(
            409,
            "A partnership with this agreement reference exists.",
            errors={"agreement_ref": ["Already used."]},
        )
    if errors:
        raise ApiError(422, "The request has invalid fields.", errors=errors)


def _set_teams(p: Partnership, team_ids: list[int]) -> None:
    db.session.execute(delete(PartnershipTeam).where(PartnershipTeam.partnership_id == p.id))
    for team_id in sorted(set(team_ids)):
        db.session.add(PartnershipTeam(partnership_id=p.id, team_id=team_id))
    db.session.flush()
    db.session.expire(p, ["teams"])


def create_partnership(values: dict[str, Any], *, actor_id: int | None) -> Partnership:
    """A new agreement between `team_ids`."""
    _check(values, None)
    p = Partnership(
        name=values["name"],
        agreement_ref=values["agreement_ref"],
        starts_on=values["starts_on"],
        ends_on=values.get("ends_on"),
    )
    db.session.add(p)
    db.session.flush()
    _set_teams(p, values["team_ids"])
    record_event(
        "partnership.create",
        actor_id=actor_id,
        entity="partnership",
        record_id=p.id,
        detail={"team_ids": sorted(set(values["team_ids"]))},
    )
    db.session.commit()
    return p


def update_partnership(p: Partnership, changes: dict[str, Any], *, actor_id: int | None):
    """Rename, re-date (end) or change the teams of an agreement."""
    _check(changes, p)
    for key in ("name", "agreement_ref", "starts_on", "ends_on"):
        if key in changes:
            setattr(p, key, changes[key])
    teams = {t.id for t in p.teams}
    if "team_ids" in changes:
        _set_teams(p, changes["team_ids"])
    frozen = freeze_unagreed(teams | {t.id for t in p.teams}, utcnow())
    record_event(
        "partnership.update",
        actor_id=actor_id,
        entity="partnership",
        record_id=p.id,
        detail={"fields": sorted(changes), "shares_frozen": frozen},
    )
    db.session.commit()
    return p


def partnerships_query(*, in_force_on: date | None = None):
    stmt = select(Partnership).order_by(Partnership.id)
    if in_force_on is not None:
        stmt = stmt.where(*in_force(in_force_on))
    return stmt


def freeze_unagreed(team_ids: set[int] | None, now: datetime) -> int:
    """Records (clients, and their referrals) shared with one of `team_ids` (None: any
    team) by a team it no longer shares an agreement in force with: the holding team
    keeps what it holds, and gets no newer version (the share is frozen, as when consent
    is withdrawn) from when the agreement ended (`sharing_ended_at`). Run when an admin
    changes an agreement, and daily for agreements that lapse by their date (the unit of
    work also freezes such a share when it writes the record). Returns how many shares
    froze."""
    if team_ids is not None and not team_ids:
        return 0
    share = RecordShare.__table__.c
    agreed: dict[tuple[int, int], datetime | None] = {}
    frozen = 0
    for entity in sorted(name for name, spec in ENTITIES.items() if spec.shareable):
        model = ENTITIES[entity].model.__table__.c
        stmt = (
            select(share.record_id, share.team_id, model.team_id.label("owner"))
            .join_from(RecordShare, ENTITIES[entity].model, model.id == share.record_id)
            .where(share.entity == entity, share.ended_at.is_(None), share.frozen_at.is_(None))
        )
        if team_ids is not None:
            stmt = stmt.where(share.team_id.in_(team_ids))
        for record_id, holder, owner in db.session.execute(stmt).all():
            if (owner, holder) not in agreed:
                found = partnership_between(owner, holder, now.date())
                agreed[(owner, holder)] = (
                    None if found is not None else sharing_ended_at(owner, holder, now)
                )
            until = agreed[(owner, holder)]
            if until is None:
                continue
            db.session.execute(
                update(RecordShare)
                .where(
                    share.entity == entity, share.record_id == record_id, share.team_id == holder
                )
                .values(frozen_at=until)
            )
            frozen += 1
    return frozen
