"""Client services: probable duplicates, and the client rules that run on every write.

When two phones record the same person offline, the server keeps both clients and
links them (same team, same `match_key`) in `client_duplicate`, whoever wrote them (a
push, the demo loader, a merge): the unit of work's "flushed" hook links every client
whose match key is new. A team lead reviews the links; merging belongs to the caseload
slice, which reads them through `probable_duplicates_query`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, and_, bindparam, insert, or_, select
from sqlalchemy.orm import aliased

from outreach.core.db import in_batch, on_postgres
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.people.models import Client, ClientDuplicate
from outreach.people.rules import CLIENT
from outreach.records.registry import on, serialize
from outreach.records.unit import UnitOfWork


@functools.cache
def _same_key_query(postgres: bool):
    """The team's live clients with any of the match keys `ids`, earliest first."""
    return (
        select(Client.id, Client.match_key)
        .where(
            Client.team_id == bindparam("team_id"),
            in_batch(Client.match_key, postgres),
            Client.deleted_at.is_(None),
            Client.merged_into_id.is_(None),
        )
        .order_by(Client.created_at, Client.id)
    )


def link_probable_duplicates(team_id: int, clients: Iterable[tuple[uuid.UUID, str]]) -> int:
    """Link each (client id, match key) to the team's earliest other live client with
    the same key, unless the two are already linked either way (a star, not every
    pair: ten copies of one person make nine links). Two queries whatever the number
    of clients; call after the clients are written. Returns the links made."""
    wanted = [(cid, key) for cid, key in clients if key]
    if not wanted:
        return 0
    keys = list({key for _cid, key in wanted})
    candidates: dict[str, list[uuid.UUID]] = {}
    rows = db.session.execute(_same_key_query(on_postgres()), {"team_id": team_id, "ids": keys})
    for cid, key in rows:
        candidates.setdefault(key, []).append(cid)
    pairs = []
    for cid, key in wanted:
        others = [o for o in candidates.get(key, ()) if o != cid]
        if others and cid in candidates.get(key, ()):
            pairs.append((cid, others[0]))
    if not pairs:
        return 0
    ids = {i for pair in pairs for i in pair}
    seen: set[frozenset] = {
        frozenset(pair)
        for pair in db.session.execute(
            select(ClientDuplicate.client_id, ClientDuplicate.other_client_id).where(
                or_(ClientDuplicate.client_id.in_(ids), ClientDuplicate.other_client_id.in_(ids))
            )
        )
    }
    now = utcnow()
    links: list[dict] = []
    for cid, other in pairs:
        pair = frozenset((cid, other))
        if pair in seen:
            continue
        seen.add(pair)
        links.append(
            {
                "team_id": team_id,
                "client_id": cid,
                "other_client_id": other,
                "detected_at": now,
                "resolved_at": None,
                "resolution": None,
            }
        )
    if links:
        db.session.execute(insert(ClientDuplicate), links)
    return len(links)


def probable_duplicates_query(team_id: int) -> Select:
    """Unresolved probable-duplicate links of a team whose two clients are both still
    live in that team, oldest first: rows for `duplicate_pair_out`."""
    first, second = aliased(Client), aliased(Client)
    return (
        select(ClientDuplicate, first, second)
        .join(first, first.id == ClientDuplicate.client_id)
        .join(second, second.id == ClientDuplicate.other_client_id)
        .where(
            ClientDuplicate.team_id == team_id,
            ClientDuplicate.resolved_at.is_(None),
            and_(first.team_id == team_id, second.team_id == team_id),
            first.deleted_at.is_(None),
            second.deleted_at.is_(None),
            first.merged_into_id.is_(None),
            second.merged_into_id.is_(None),
        )
        .order_by(ClientDuplicate.detected_at, ClientDuplicate.id)
    )


def duplicate_pair_out(row: Any) -> dict:
    """A (link, client, other client) row: ``{"id", "detected_at", "client",
    "other_client"}`` with each client as the phone stores it (`serialize`)."""
    link, a, b = row
    return {
        "id": link.id,
        "detected_at": link.detected_at.isoformat(),
        "client": serialize("client", a),
        "other_client": serialize("client", b),
    }


def list_probable_duplicates(team_id: int) -> list[dict]:
    """Every unresolved probable-duplicate pair of a team (`probable_duplicates_query`),
    for team-lead review."""
    return [
        duplicate_pair_out(row) for row in db.session.execute(probable_duplicates_query(team_id))
    ]


@on("prefetch", "client")
def load_survivors(uow: UnitOfWork, changes: object) -> None:
    """References to merged clients lead to their survivors: load those too (the chain
    is a few hops at most)."""
    for _ in range(5):
        clients = uow.table(CLIENT.name)
        missing = {
            r["merged_into_id"]
            for r in clients.values()
            if r["merged_into_id"] is not None and r["merged_into_id"] not in clients
        }
        if not missing:
            return
        uow.load(CLIENT.name, missing)


@on("flushed", "client")
def link_written_clients(uow: UnitOfWork) -> None:
    """Link every client this work wrote with a new match key to its probable
    duplicates in the team (after the rows are written)."""
    by_team: dict[int, list[tuple[uuid.UUID, str]]] = {}
    originals = uow.original.get(CLIENT.name, {})
    for row in uow.touched(CLIENT.name):
        before = originals.get(row["id"])
        if row["match_key"] and (before is None or before["match_key"] != row["match_key"]):
            by_team.setdefault(row["team_id"], []).append((row["id"], row["match_key"]))
    for team_id, clients in sorted(by_team.items()):
        link_probable_duplicates(team_id, clients)


@on("written", CLIENT.name)
def consent_recorded_by(
    uow: UnitOfWork, new: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    """Who recorded consent (given or withdrawn): the writer of the version that changed it."""
    before = previous or {}
    changed = any(
        new.get(name) != before.get(name) for name in ("consent_to_share", "consent_recorded_at")
    )
    if changed and new.get("consent_to_share") is not None:
        new["consent_recorded_by_id"] = uow.writer.actor_id
