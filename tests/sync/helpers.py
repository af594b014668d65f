"""Builders for the sync tests: mutations as a phone makes them, push/pull helpers,
a phone-like replay of pulled streams, and moving a client to another team."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from outreach.core.extensions import db
from outreach.interventions.models import FollowUp
from outreach.people.models import Client
from outreach.records.sequence import allocate_seqs, log_changes


def now_iso(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


def client_data(**over) -> dict:
    data = {
        "initials": "JD",
        "date_of_birth": "1984-06-15",
        "sex": "female",
        "postcode_district": "DH1",
        "known_as": "Jo",
    }
    data.update(over)
    return data


def intervention_data(client_id=None, **over) -> dict:
    data = {
        "type": "harm_reduction_advice",
        "occurred_at": now_iso(-timedelta(hours=1)),
        "location": "street",
        "substances": ["opioids"],
    }
    if client_id is not None:
        data["client_id"] = str(client_id)
    data.update(over)
    return data


def mutation(entity: str, data: dict | None = None, *, op="upsert", id=None, base=None) -> dict:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": entity,
        "op": op,
        "id": str(id or uuid.uuid4()),
        "base_version": base,
        "data": data if data is not None else {},
    }


def push(api, mutations, *, schema_version=1, status=200):
    response = api.post(
        "/api/v1/sync/push",
        json={
            "device_id": str(api.device_id),
            "schema_version": schema_version,
            "mutations": mutations,
        },
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def pull(api, cursor=None, limit=None, status=200):
    query = {}
    if cursor is not None:
        query["cursor"] = cursor
    if limit is not None:
        query["limit"] = limit
    response = api.get("/api/v1/sync/pull", query_string=query)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def pull_all(api, cursor=None, limit=None) -> tuple[list[dict], str]:
    """Every page until has_more is false: (changes, final cursor)."""
    changes = []
    for _ in range(1000):
        page = pull(api, cursor, limit)
        changes.extend(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, cursor
    raise AssertionError("pull never ended")


def replay(changes: list[dict], store: dict | None = None) -> dict:
    """Apply a pulled stream the way a phone does: {(entity, id): data}."""
    store = {} if store is None else store
    for change in changes:
        key = (change["entity"], change["id"])
        if change["op"] == "remove":
            store.pop(key, None)
        else:
            store[key] = change["data"]
    return store


def move_client(client_id, team_id: int, area_id: int) -> None:
    """Move a client and its follow-ups to another team, logging changes for both
    teams (as the caseload slice does through outreach.sync.changes)."""
    client = db.session.get(Client, client_id)
    old_team = client.team_id
    follow_ups = db.session.query(FollowUp).filter(FollowUp.client_id == client_id).all()
    seqs = allocate_seqs(2 + 2 * len(follow_ups), {old_team, team_id})
    db.session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(team_id=team_id, area_id=area_id, version=Client.version + 1, server_seq=seqs[1])
    )
    rows = [
        (seqs[0], old_team, "client", client_id, "remove"),
        (seqs[1], team_id, "client", client_id, "upsert"),
    ]
    for i, f in enumerate(follow_ups):
        removed, added = seqs[2 + 2 * i], seqs[3 + 2 * i]
        f.team_id = team_id
        f.server_seq = added
        rows += [
            (removed, old_team, "follow_up", f.id, "remove"),
            (added, team_id, "follow_up", f.id, "upsert"),
        ]
    log_changes(rows)
    db.session.commit()


def server_scope(app, team_id: int, days: int = 90) -> dict:
    """What a device of the team should hold, serialised by the server: {(entity, id): data}."""
    from outreach.core.types import utcnow
    from outreach.records.registry import ENTITIES, in_scope, serialize

    since = utcnow() - timedelta(days=days)
    out = {}
    with app.app_context():
        for entity, spec in ENTITIES.items():
            model = spec.model
            for row in db.session.scalars(select(model).where(model.team_id == team_id)):
                if in_scope(entity, row, team_id, since):
                    out[(entity, str(row.id))] = serialize(entity, row)
    return out
