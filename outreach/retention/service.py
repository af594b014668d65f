"""Retention: anonymise client data a configurable time after the last contact.

Special-category data is kept no longer than needed (UK GDPR art. 5(1)(e)). After
`RETENTION_YEARS` (default 7) since a client's last contact, the client's attributes
(initials, date of birth, sex, postcode district, known-as name, match key) are
erased, the client becomes a tombstone (phones drop it on their next pull), the
free text of their interventions and follow-ups is erased, and the record history
and sync ledger entries that copied those values are deleted. Interventions keep
their type, date, area, team, quantity and client id, so every aggregate count a
report needs (including unique clients) stays the same. Free-text notes of any
intervention older than the retention period are erased too, anonymous ones included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update

from outreach.audit.service import record_event
from outreach.core.db import among, rowcount
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp, Intervention
from outreach.pathways.retention import erase_pathway_text
from outreach.people.models import Client
from outreach.records.models import RecordVersion, SyncMutation
from outreach.records.unit import UnitOfWork, Writer

CHUNK = 500
ERASED_REASON = "(erased after the retention period)"
ERASED_CLIENT_COLUMNS = (
    "initials",
    "date_of_birth",
    "sex",
    "postcode_district",
    "known_as",
    "match_key",
)


@dataclass
class RetentionResult:
    cutoff: datetime
    clients: int = 0
    interventions_scrubbed: int = 0
    follow_ups: int = 0


def retention_cutoff(now: datetime, years: int) -> datetime:
    """`years` before `now` (365.25-day years: no leap-day edge cases)."""
    return now - timedelta(days=round(365.25 * years))


def expired_client_ids(cutoff: datetime) -> list[tuple]:
    """(id, team_id) of clients whose last contact is before the cutoff."""
    last_contact = (
        select(Intervention.client_id, func.max(Intervention.occurred_at).label("last"))
        .where(Intervention.client_id.is_not(None))
        .group_by(Intervention.client_id)
        .subquery()
    )
    stmt = (
        select(Client.id, Client.team_id)
        .outerjoin(last_contact, last_contact.c.client_id == Client.id)
        .where(
            Client.anonymised_at.is_(None),
            func.coalesce(last_contact.c.last, Client.created_at) < cutoff,
        )
        .order_by(Client.id)
    )
    return [tuple(row) for row in db.session.execute(stmt)]


def apply_retention(
    *, now: datetime | None = None, years: int, dry_run: bool = False
) -> RetentionResult:
    """Anonymise every client past the retention period; one transaction per chunk."""
    now = now or utcnow()
    result = RetentionResult(cutoff=retention_cutoff(now, years))
    expired = expired_client_ids(result.cutoff)
    result.clients = len(expired)
    if dry_run:
        return result
    for start in range(0, len(expired), CHUNK):
        _anonymise_chunk(expired[start : start + CHUNK], now, result)
    result.interventions_scrubbed += rowcount(
        db.session.execute(
            update(Intervention)
            .where(Intervention.occurred_at < result.cutoff, Intervention.notes.is_not(None))
            .values(notes=None)
        )
    )
    record_event(
        "retention.run",
        actor_id=None,
        detail={
            "clients": result.clients,
            "interventions_scrubbed": result.interventions_scrubbed,
            "follow_ups": result.follow_ups,
            "cutoff": result.cutoff.isoformat(),
        },
    )
    db.session.commit()
    return result


def _anonymise_chunk(rows: list[tuple], now: datetime, result: RetentionResult) -> None:
    ids = [client_id for client_id, _team in rows]
    uow = UnitOfWork(Writer(None, None, now, "retention"))
    # The teams' sequence locks first (as a push takes them): a push holding one cannot
    # add a follow-up to these clients between the read below and the anonymising.
    uow.lock({team for _c, team in rows})
    c, f = Client.__table__.c, FollowUp.__table__.c
    clients = uow.load_where("client", among(c.id, ids), lock=True)
    follow_ups = uow.load_where("follow_up", among(f.client_id, ids), lock=True)
    uow.reserve(len(clients) + len(follow_ups))
    # Erasure, not an edit: no slice rules; phones drop the records (remove).
    for client in clients:
        uow.update(
            "client",
            {
                **client,
                **dict.fromkeys(ERASED_CLIENT_COLUMNS),
                "anonymised_at": now,
                "deleted_at": client["deleted_at"] or now,
            },
            reason="anonymise",
            op="remove",
            rules=False,
        )
    for follow_up in follow_ups:
        uow.update(
            "follow_up",
            {**follow_up, "reason": ERASED_REASON, "deleted_at": follow_up["deleted_at"] or now},
            reason="anonymise",
            op="remove",
            rules=False,
        )
    uow.flush()
    result.interventions_scrubbed += rowcount(
        db.session.execute(
            update(Intervention)
            .where(Intervention.client_id.in_(ids), Intervention.notes.is_not(None))
            .values(notes=None)
        )
    )
    intervention_ids = select(Intervention.id).where(Intervention.client_id.in_(ids))
    follow_up_ids = [fu["id"] for fu in follow_ups]
    # History and ledger rows hold copies of the erased values (the unit of work's
    # own included): none is kept.
    db.session.execute(
        delete(RecordVersion).where(
            or_(
                and_(RecordVersion.entity == "client", RecordVersion.record_id.in_(ids)),
                and_(
                    RecordVersion.entity == "intervention",
                    RecordVersion.record_id.in_(intervention_ids),
                ),
                and_(
                    RecordVersion.entity == "follow_up",
                    among(RecordVersion.record_id, follow_up_ids),
                ),
            )
        )
    )
    db.session.execute(
        delete(SyncMutation).where(
            or_(
                SyncMutation.record_id.in_(ids),
                SyncMutation.record_id.in_(intervention_ids),
                among(SyncMutation.record_id, follow_up_ids),
            )
        )
    )
    result.follow_ups += len(follow_ups)
    # Their referrals and diversion episodes keep their steps (counted in pathway
    # figures) but lose their free text and every copy of it.
    erase_pathway_text(ids)
    db.session.commit()
