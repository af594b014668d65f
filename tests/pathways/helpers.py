"""Builders of pathway records as a phone sends them."""

from __future__ import annotations

import uuid

from tests.sync.helpers import client_data, mutation, now_iso, pull, push


def consented_client(**over) -> dict:
    return client_data(**{"consent_to_share": True, "consent_recorded_at": now_iso(), **over})


def withdraw_consent(custody, client_id) -> dict:
    """The referring team records that the client withdrew consent (the client's version
    2); the client's data as pushed."""
    withdrawn = consented_client(consent_to_share=False, consent_recorded_at=now_iso())
    assert one(custody, mutation("client", withdrawn, id=client_id, base=1))["status"] == "applied"
    return withdrawn


def change_after_withdrawal(custody, client_id, withdrawn: dict) -> None:
    """The referring team changes the client after the withdrawal (version 3)."""
    later = {**withdrawn, "known_as": "Changed after withdrawal", "postcode_district": "DH9"}
    assert one(custody, mutation("client", later, id=client_id, base=2))["status"] == "applied"


def referral_data(client_id, to_team_id: int, **over) -> dict:
    data = {
        "client_id": str(client_id),
        "to_team_id": to_team_id,
        "reason": "structured_treatment",
        "urgency": "soon",
        "notes": "Wants a script",
        "status": "sent",
        "status_at": now_iso(),
    }
    data.update(over)
    return data


def one(api, m: dict) -> dict:
    """Push one mutation; its result."""
    return push(api, [m])["results"][0]


def pulled(api, cursor=None) -> tuple[dict[tuple[str, str], dict], str]:
    """Every change a pull brings (all pages), by (entity, id); and the last cursor."""
    out: dict[tuple[str, str], dict] = {}
    while True:
        body = pull(api, cursor)
        for change in body["changes"]:
            out[(change["entity"], change["id"])] = change
        cursor = body["cursor"]
        if not body["has_more"]:
            return out, cursor


def refer(custody, street_team: int, **client_over) -> tuple[uuid.UUID, uuid.UUID]:
    """A consented custody client referred to the street team: (client id, referral id)."""
    client_id, referral_id = uuid.uuid4(), uuid.uuid4()
    results = push(
        custody,
        [
            mutation("client", consented_client(**client_over), id=client_id),
            mutation("referral", referral_data(client_id, street_team), id=referral_id),
        ],
    )["results"]
    assert [r["status"] for r in results] == ["applied", "applied"], results
    return client_id, referral_id


def make_referral(client: dict, to_team_id: int, sent_at, **over) -> dict:
    """A referral row written through the unit of work (as the app does), from `client`
    (a row of tests.factories.make_clients) to `to_team_id`."""
    from tests.factories import _insert_synced

    row = {
        "id": uuid.uuid4(),
        "client_id": client["id"],
        "team_id": client["team_id"],
        "area_id": client["area_id"],
        "to_team_id": to_team_id,
        "reason": "structured_treatment",
        "urgency": "routine",
        "status": "sent",
        "status_at": sent_at,
        "sent_at": sent_at,
        "created_at": sent_at,
        "updated_at": sent_at,
    }
    row.update(over)
    _insert_synced("referral", [row])
    return row


def make_episode(client: dict, started_on, **over) -> dict:
    from tests.factories import _insert_synced

    row = {
        "id": uuid.uuid4(),
        "client_id": client["id"],
        "team_id": client["team_id"],
        "area_id": client["area_id"],
        "kind": "checkpoint",
        "started_on": started_on,
        "conditions": [],
        "sessions": [],
    }
    row.update(over)
    _insert_synced("episode", [row])
    return row


def accept(street, client_id, referral_id) -> None:
    """The receiving team accepts the referral (a push from its phone)."""
    changes, _ = pulled(street)
    referral = changes[("referral", str(referral_id))]
    accepted = {**referral["data"], "status": "accepted", "status_at": now_iso()}
    result = one(street, mutation("referral", accepted, id=referral_id, base=referral["version"]))
    assert result["status"] == "applied", result


def listed(lead, path="/api/v1/caseload/clients") -> dict[str, dict]:
    """A caseload list of the lead's team (first 100), by client id."""
    response = lead.get(path, query_string={"per_page": 100})
    assert response.status_code == 200, response.get_json()
    return {item["id"]: item for item in response.get_json()["items"]}
