"""Retention of pathway records (DESIGN §5b, UK GDPR art. 5(1)(e)): when a client is
anonymised, the free text of their referrals (notes) and diversion episodes (conditions)
is erased, and the history and ledger copies of those records go with it. Statuses,
step times, teams and outcomes stay, so every pathway measure stays the same.

Not yet called by the retention job (outreach/retention is another slice at this layer):
the job, or the scheduler above it, calls `erase_pathway_text(client_ids)` in the same
transaction as it anonymises those clients.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, delete, or_, select, update

from outreach.core.db import rowcount
from outreach.core.extensions import db
from outreach.pathways.models import Episode, Referral
from outreach.records.models import RecordVersion, SyncMutation


def erase_pathway_text(client_ids: Sequence[uuid.UUID]) -> int:
    """Erase the free text of the clients' referrals and episodes, and every history and
    ledger copy of those records; returns the records whose text was erased."""
    ids = list(client_ids)
    if not ids:
        return 0
    erased = rowcount(
        db.session.execute(
            update(Referral)
            .where(Referral.client_id.in_(ids), Referral.notes.is_not(None))
            .values(notes=None)
        )
    )
    erased += rowcount(
        db.session.execute(update(Episode).where(Episode.client_id.in_(ids)).values(conditions=[]))
    )
    referrals = select(Referral.id).where(Referral.client_id.in_(ids))
    episodes = select(Episode.id).where(Episode.client_id.in_(ids))
    db.session.execute(
        delete(RecordVersion).where(
            or_(
                and_(RecordVersion.entity == "referral", RecordVersion.record_id.in_(referrals)),
                and_(RecordVersion.entity == "episode", RecordVersion.record_id.in_(episodes)),
            )
        )
    )
    db.session.execute(
        delete(SyncMutation).where(
            or_(SyncMutation.record_id.in_(referrals), SyncMutation.record_id.in_(episodes))
        )
    )
    return erased
