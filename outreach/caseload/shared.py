"""Clients another team shared with the lead's team, in the caseload review: which they
are is asked of `outreach.access.scope.in_caseload` (the one place), what the team
holds of each of `outreach.pathways.shared`. Here: their rows in the lists get the
team's key worker (not the owning team's), a `shared_from` note, and, once sharing
stopped (consent withdrawn, agreement ended), the version the team held then."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, case

from outreach.pathways.shared import shared_clients
from outreach.people.models import Client
from outreach.records.models import RecordShare
from outreach.records.shares import held_versions

HELD_FIELDS = ("initials", "known_as", "sex", "postcode_district")


def shared_overlay(
    team_id: int, clients: Sequence[Any], now: datetime
) -> tuple[list[Any], dict[uuid.UUID, dict]]:
    """The client rows with other teams' clients as this team holds them, and their
    `shared_from` notes by client id."""
    others = [c.id for c in clients if c.team_id != team_id]
    if not others:
        return list(clients), {}
    facts = shared_clients(team_id, others, now)
    stale = {
        c.id: facts[c.id]["held_until"]
        for c in clients
        if c.id in facts
        and facts[c.id]["held_until"] is not None
        and c.updated_at > facts[c.id]["held_until"]
    }
    held = held_versions("client", stale) if stale else {}
    out: list[Any] = []
    notes: dict[uuid.UUID, dict] = {}
    for c in clients:
        fact = facts.get(c.id)
        if c.team_id == team_id:
            out.append(c)
            continue
        if fact is None:  # not held any more (a race with a decline): not listed
            continue
        row = SimpleNamespace(**c._mapping)
        row.key_worker_id = fact["key_worker_id"]
        if c.id in stale:
            data = held.get(c.id) or {}
            for name in HELD_FIELDS:
                setattr(row, name, data.get(name))
            born = data.get("date_of_birth")
            row.date_of_birth = date.fromisoformat(born) if born else None
            row.version = data.get("version", c.version)
        out.append(row)
        notes[c.id] = {k: v for k, v in fact.items() if k != "key_worker_id"}
    return out, notes


def share_of(team_id: int) -> Any:
    """The join condition of a client to the team's live share of it (outer join)."""
    share = RecordShare.__table__.c
    return and_(
        share.entity == "client",
        share.record_id == Client.id,
        share.team_id == team_id,
        share.ended_at.is_(None),
    )


def key_worker_for(team_id: int) -> Any:
    """SQL: a client's key worker for the team: its own key worker for the team's own
    clients, the team's key worker on its share for another team's (needs the outer
    join `share_of`)."""
    return case(
        (Client.team_id == team_id, Client.key_worker_id),
        else_=RecordShare.__table__.c.key_worker_id,
    )
