"""Filtering, sorting and attention reasons over the caseload's client summaries
(`outreach.caseload.queries.client_summaries`): in memory, a team holds a few thousand
clients at most."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from outreach.access.scope import in_caseload
from outreach.caseload.clock import Clock
from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.people.models import Client


def attention_reasons(row: dict, clock: Clock, no_contact_days: int, referral_days: int) -> list:
    """Why a client needs a lead's attention (empty: they do not)."""
    reasons = []
    if row["days_since_contact"] >= no_contact_days:
        reasons.append("no_contact")
    if row["follow_ups_overdue"]:
        reasons.append("overdue_follow_up")
    referred, confirmed = row["referred_at"], row["treatment_entry_confirmed_at"]
    if (
        referred is not None
        and referred <= clock.now - timedelta(days=referral_days)
        and (confirmed is None or confirmed < referred)
    ):
        reasons.append("treatment_not_confirmed")
    if row["duplicates"]:
        reasons.append("duplicate")
    return reasons


def clients_with_contact(
    team_id: int,
    clock: Clock,
    *,
    type_: str | None,
    date_from: date | None,
    date_to: date | None,
) -> set[uuid.UUID]:
    """Clients in the team's caseload with an intervention of the team (of `type_`)
    between the two local days."""
    stmt = (
        select(Intervention.client_id)
        .join(Client, Client.id == Intervention.client_id)
        .where(
            in_caseload(Client.id, Client.team_id, team_id),
            Intervention.team_id == team_id,
            Intervention.deleted_at.is_(None),
        )
        .distinct()
    )
    if type_:
        stmt = stmt.where(Intervention.type == type_)
    if date_from:
        stmt = stmt.where(Intervention.occurred_at >= clock.day_start(date_from))
    if date_to:
        stmt = stmt.where(Intervention.occurred_at < clock.day_start(date_to + timedelta(days=1)))
    return set(db.session.scalars(stmt))


def _sort_key(sort: str):
    far_past = datetime.min.replace(year=1)

    def key(row: dict) -> Any:
        primary: Any
        if sort.lstrip("-") == "last_contact":
            value = row["last_contact_at"]
            primary = (value is not None, value.replace(tzinfo=None) if value else far_past)
        elif sort.lstrip("-") == "initials":
            primary = (row["initials"] or "", row["known_as"] or "")
        elif sort.lstrip("-") == "created_at":
            primary = row["created_at"].replace(tzinfo=None)
        elif sort.lstrip("-") == "follow_ups_overdue":
            primary = row["follow_ups_overdue"]
        else:  # key_worker
            primary = (row["key_worker_name"] is None, (row["key_worker_name"] or "").lower())
        return primary

    return key


def select_clients(
    rows: list[dict],
    clock: Clock,
    *,
    team_id: int,
    args: dict,
    attention: tuple[int, int] | None = None,
) -> list[dict]:
    """Filter and sort client summaries (the route pages them). `attention` =
    (no_contact_days, referral_days): keep only clients with a reason (and the `reason`
    filter)."""
    worker_id = args.get("worker_id")
    if worker_id is not None:
        rows = [r for r in rows if r["key_worker_id"] == worker_id]
    if args.get("unassigned"):
        rows = [r for r in rows if r["key_worker_id"] is None]
    if args.get("type") or args.get("date_from") or args.get("date_to"):
        keep = clients_with_contact(
            team_id,
            clock,
            type_=args.get("type"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
        )
        rows = [r for r in rows if r["id"] in keep]
    if attention is not None:
        no_contact_days, referral_days = attention
        kept = []
        for r in rows:
            reasons = attention_reasons(r, clock, no_contact_days, referral_days)
            if reasons and (not args.get("reason") or args["reason"] in reasons):
                kept.append({**r, "reasons": reasons})
        rows = kept
    sort = args.get("sort") or "last_contact"
    rows = sorted(rows, key=lambda r: str(r["id"]))
    rows.sort(key=_sort_key(sort), reverse=sort.startswith("-"))
    return rows
