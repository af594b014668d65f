"""From phones to the lead and back: records pushed by two phones, found as duplicates,
merged and reassigned by the lead; each phone's local copy (replayed from its pulls)
ends up right. Uses the real sync API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest


class Phone:
    """A signed-in device with a local store built only from what it pulls."""

    def __init__(self, api):
        self.api = api
        self.cursor = None
        self.store: dict[tuple[str, str], dict] = {}

    def push(self, entity: str, data: dict, record_id=None) -> str:
        record_id = str(record_id or uuid.uuid4())
        body = {
            "device_id": str(self.api.device_id),
            "schema_version": 1,
            "mutations": [
                {
                    "mutation_id": str(uuid.uuid4()),
                    "entity": entity,
                    "op": "upsert",
                    "id": record_id,
                    "base_version": None,
                    "data": data,
                }
            ],
        }
        response = self.api.post("/api/v1/sync/push", json=body)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["results"][0]["status"] == "applied", response.get_json()
        return record_id

    def sync(self) -> None:
        for _ in range(50):
            query = {"limit": 200} | ({"cursor": self.cursor} if self.cursor else {})
            response = self.api.get("/api/v1/sync/pull", query_string=query)
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            for change in body["changes"]:
                key = (change["entity"], change["id"])
                if change["op"] == "upsert":
                    self.store[key] = change["data"]
                else:
                    self.store.pop(key, None)
            self.cursor = body["cursor"]
            if not body["has_more"]:
                return
        raise AssertionError("pull did not finish")

    def get(self, entity: str, record_id) -> dict | None:
        return self.store.get((entity, str(record_id)))


@pytest.fixture
def phones(app, login):
    return Phone(login("worker")), Phone(login("worker2")), Phone(login("custody"))


def _person(key_worker_id: int) -> dict:
    return {
        "initials": "QZ",
        "date_of_birth": "1979-03-04",
        "sex": "male",
        "postcode_district": "DH1",
        "key_worker_id": key_worker_id,
    }


def _contact(client_id: str, days_ago: int) -> dict:
    when = datetime.now(UTC) - timedelta(days=days_ago, hours=1)
    return {
        "client_id": client_id,
        "type": "wound_care",
        "occurred_at": when.replace(microsecond=0).isoformat(),
        "location": "street",
        "substances": ["opioids"],
        "follow_up_on": (when + timedelta(days=3)).date().isoformat(),
    }


def test_pushed_duplicates_merged_then_reassigned(app, world, lead, phones):
    a, b, custody = phones
    for phone in phones:
        phone.sync()
    worker, worker2 = world.user_ids["worker"], world.user_ids["worker2"]
    x = a.push("client", _person(worker))
    ix = a.push("intervention", _contact(x, 2))
    y = b.push("client", _person(worker2))
    iy = b.push("intervention", _contact(y, 1))
    for phone in phones:
        phone.sync()
    assert a.get("client", y) and b.get("client", x) and custody.store == {}

    pairs = lead.get("/api/v1/caseload/duplicates").get_json()["items"]
    assert len(pairs) == 1
    assert {pairs[0]["client"]["id"], pairs[0]["other_client"]["id"]} == {x, y}
    attention = lead.get("/api/v1/caseload/attention?reason=duplicate").get_json()
    assert {i["id"] for i in attention["items"]} == {x, y}

    merged = lead.post(f"/api/v1/clients/{x}/merge", json={"other_client_id": y})
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json()["interventions_moved"] == 1
    for phone in (a, b):
        phone.sync()
        assert phone.get("client", y) is None
        assert phone.get("client", x)["key_worker_id"] == worker
        assert phone.get("intervention", iy)["client_id"] == x
        assert phone.get("intervention", ix)["client_id"] == x
        follow_ups = [d for (e, _i), d in phone.store.items() if e == "follow_up"]
        assert follow_ups and all(f["client_id"] == x for f in follow_ups)
    assert lead.get("/api/v1/caseload/duplicates").get_json()["items"] == []
    overview = lead.get("/api/v1/caseload/overview").get_json()
    rows = {w["worker_id"]: w for w in overview["workers"]}
    assert rows[worker]["last_sync_at"] and rows[worker2]["last_sync_at"]  # set by their pulls
    assert rows[world.user_ids["lead"]]["last_sync_at"] is None
    assert rows[worker]["open_clients"] == 1
    mine = rows[worker]["interventions_this_week"] + rows[worker]["interventions_last_4_weeks"]
    assert mine == 1  # ix (2 days ago); iy moved to x but is still worker2's

    moved = lead.post(
        "/api/v1/caseload/assign",
        json={"client_ids": [x], "worker_id": worker2, "reason": "rebalance"},
    )
    assert moved.status_code == 200
    for phone in (a, b):
        phone.sync()
        assert phone.get("client", x)["key_worker_id"] == worker2
    custody.sync()
    assert custody.store == {}

    mine = phones[1].api.get("/api/v1/caseload/mine").get_json()
    assert x in {i["id"] for i in mine["items"]}
    assert x not in {
        i["id"] for i in phones[0].api.get("/api/v1/caseload/mine").get_json()["items"]
    }

    history = a.api.get(f"/api/v1/clients/{x}/history").get_json()["items"]
    changes = [
        (e["from_worker_id"], e["to_worker_id"])
        for e in history
        if e["kind"] == "key_worker_change"
    ]
    assert changes == [(worker, worker2), (None, worker)]
    assert {e["record_id"] for e in history if e["kind"] == "intervention"} == {ix, iy}
    assert any(e["kind"] == "merge" and e["merged_client_id"] == y for e in history)
