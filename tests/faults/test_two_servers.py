"""Two app servers side by side in front of one database and one Redis (issue 21): a phone
may reach either between requests, and the sign-in limits are counted once for both.
(The scheduler is its own process; two at once send each report once:
tests/reports/test_delivery.py.)"""

from __future__ import annotations

import uuid

import pytest

from tests.faults.conftest import client_mutations, push_body

pytestmark = pytest.mark.slow
REDIS = "redis://127.0.0.1:6379/0"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def two_servers(gunicorn, world):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.exceptions.ConnectionError:
        from tests.conftest import need

        need(False, f"needs Redis at {REDIS}")
    env = {
        "OUTREACH_RATELIMIT_STORAGE_URL": REDIS,
        # Counts of this test alone, whatever else the Redis holds.
        "OUTREACH_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "OUTREACH_LOGIN_BACKOFF_AFTER": "3",
    }
    return gunicorn(env=env), gunicorn(env=env)


def pull_all(server, token, cursor=None) -> tuple[set[str], str]:
    ids: set[str] = set()
    while True:
        path = "/api/v1/sync/pull" + (f"?cursor={cursor}" if cursor else "")
        status, page = server.request("GET", path, token=token)
        assert status == 200, page
        ids |= {c["id"] for c in page["changes"]}
        cursor = page["cursor"]
        if not page["has_more"]:
            return ids, cursor


def test_a_phone_moves_between_two_servers(two_servers):
    a, b = two_servers
    status, signed_in = a.request(
        "POST",
        "/api/v1/auth/login",
        {"email": "worker@example.test", "password": PASSWORD, "device_id": str(uuid.uuid4())},
    )
    assert status == 200, signed_in
    token = signed_in["access_token"]
    first, second = client_mutations(1, seed=1), client_mutations(1, seed=2)
    status, body = a.request(
        "POST", "/api/v1/sync/push", push_body(str(uuid.uuid4()), first), token
    )
    assert status == 200 and body["results"][0]["status"] == "applied"
    ids, cursor = pull_all(b, token)  # the record pushed to A, pulled from B
    assert first[0]["id"] in ids
    status, body = b.request(
        "POST", "/api/v1/sync/push", push_body(str(uuid.uuid4()), second), token
    )
    assert status == 200 and body["results"][0]["status"] == "applied"
    # The same push again on A (its answer was lost): applied once.
    status, body = a.request(
        "POST", "/api/v1/sync/push", push_body(str(uuid.uuid4()), second), token
    )
    assert status == 200 and body["results"][0]["status"] == "duplicate"
    ids, cursor = pull_all(a, token, cursor)
    assert ids == {second[0]["id"]}
    assert pull_all(b, token, cursor)[0] == set()  # the idle pull, on either server
    # A refresh on B; the new pair works on A, the spent refresh token on neither.
    status, pair = b.request("POST", "/api/v1/auth/refresh", token=signed_in["refresh_token"])
    assert status == 200, pair
    assert a.request("GET", "/api/v1/me", token=pair["access_token"])[0] == 200
    # The new refresh token spent on A: the old one (its successor now used, so no grace
    # for a lost answer) is refused on both.
    status, later = a.request("POST", "/api/v1/auth/refresh", token=pair["refresh_token"])
    assert status == 200, later
    for server in (a, b):
        assert (
            server.request("POST", "/api/v1/auth/refresh", token=signed_in["refresh_token"])[0]
            == 401
        )


def test_sign_in_limits_are_shared_by_both_servers(two_servers):
    a, b = two_servers
    wrong = {
        "email": "worker2@example.test",
        "password": "not-the-password",
        "device_id": str(uuid.uuid4()),
    }
    for server in (a, b, a):  # three failures from one address, spread over both: a back-off
        assert server.request("POST", "/api/v1/auth/login", wrong)[0] == 401
    right = {**wrong, "password": PASSWORD}
    status, body = b.request("POST", "/api/v1/auth/login", right)
    assert status == 429, body  # B counted A's failures too
    assert a.request("POST", "/api/v1/auth/login", right)[0] == 429
