"""Another team's clients in a team's caseload (DESIGN §5b): a client a partner team
referred to this team, shared with it (`record_share`), once this team took the
referral on (accepted, then first contact or treatment entry). The team lead lists
them with the team's own clients, marked as shared, and gives them a key worker of
the team (kept on the team's share of the client).

What the team sees of such a client is what its phones hold: after consent is
withdrawn (the share is frozen) or the agreement between the teams has ended, the
version it held then, never a later one (`records.shares.held_versions`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, select

from outreach.access.models import Partnership
from outreach.access.scope import partnership_between, shared_into_caseload
from outreach.core.db import among
from outreach.core.extensions import db
from outreach.pathways.models import Referral
from outreach.pathways.queries import team_names
from outreach.records.models import RecordShare

TAKEN_ON = ("accepted", "first_contact", "treatment_entry")
CHUNK = 500


@shared_into_caseload
def taken_on_clients(team_id: int) -> Select[Any]:
    """SELECT of the ids of other teams' clients shared with the team (a live share)
    whose referral to the team it took on (not declined, closed or deleted)."""
    share = RecordShare.__table__.c
    return (
        select(Referral.client_id)
        .join(
            RecordShare,
            and_(
                share.entity == "client",
                share.record_id == Referral.client_id,
                share.team_id == team_id,
                share.ended_at.is_(None),
            ),
        )
        .where(
            Referral.to_team_id == team_id,
            Referral.status.in_(TAKEN_ON),
            Referral.deleted_at.is_(None),
        )
    )


def _day_after(day: Any) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def shared_clients(team_id: int, ids: Iterable[uuid.UUID], now: datetime) -> dict[uuid.UUID, dict]:
    """Of `ids` (clients of other teams in the team's caseload), per client: the team
    that shared it, the referral's step, the team's key worker for it, and until when
    the team holds its versions (`held_until`: consent withdrawn, or the agreement
    between the teams ended; None while sharing goes on)."""
    wanted = list(dict.fromkeys(ids))
    out: dict[uuid.UUID, dict] = {}
    if not wanted:
        return out
    share = RecordShare.__table__.c
    shares = {}
    referrals: dict[uuid.UUID, Any] = {}
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        for row in db.session.execute(
            select(share.record_id, share.frozen_at, share.key_worker_id).where(
                share.entity == "client",
                share.team_id == team_id,
                share.ended_at.is_(None),
                among(share.record_id, part),
            )
        ):
            shares[row.record_id] = row
        for ref in db.session.execute(
            select(
                Referral.client_id,
                Referral.team_id,
                Referral.status,
                Referral.status_at,
                Referral.accepted_at,
                Partnership.ends_on,
            )
            .outerjoin(Partnership, Partnership.id == Referral.partnership_id)
            .where(
                Referral.to_team_id == team_id,
                Referral.status.in_(TAKEN_ON),
                Referral.deleted_at.is_(None),
                among(Referral.client_id, part),
            )
            .order_by(Referral.status_at, Referral.id)
        ):
            referrals[ref.client_id] = ref  # the latest taken on
    names = team_names({r.team_id for r in referrals.values()})
    agreements: dict[int, bool] = {}
    for client_id, ref in referrals.items():
        held = shares.get(client_id)
        if held is None:
            continue
        if ref.team_id not in agreements:
            found = partnership_between(ref.team_id, team_id, now.date())
            agreements[ref.team_id] = found is not None
        ended = not agreements[ref.team_id]
        # Frozen (consent withdrawn, or an admin ended the agreement): what the team's
        # phones got until then. An agreement that lapsed by its date: until its end.
        until = held.frozen_at
        if until is None and ended:
            until = _day_after(ref.ends_on) if ref.ends_on is not None else now
        out[client_id] = {
            "team_id": ref.team_id,
            "team_name": names.get(ref.team_id),
            "referral_status": ref.status,
            "accepted_at": ref.accepted_at,
            "key_worker_id": held.key_worker_id,
            "consent_withdrawn": held.frozen_at is not None and not ended,
            "agreement_ended": ended,
            "held_until": until,
        }
    return out
