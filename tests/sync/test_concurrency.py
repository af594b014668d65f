"""Cursor correctness under concurrency on PostgreSQL (DESIGN §4, issue 3).

Phones push and pull at the same time against a real HTTP server (werkzeug, one
thread per request). Every device's pulled stream, replayed the way a phone
replays it, must equal the server's final state for its team: a change committed
with a lower sequence than one a device already pulled would leave a stale record.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import requests
from werkzeug.serving import make_server

from outreach.core.extensions import db
from outreach.org.service import create_user
from tests.factories import PASSWORD
from tests.sync.helpers import client_data, intervention_data, mutation, replay, server_scope
from tests.waiting import backend_pid, wait_for, waiting_on

PUSHERS = 6
ROUNDS = 12
PULLERS = 3


class Phone:
    """A signed-in device talking HTTP; remembers the versions it has seen."""

    def __init__(self, base: str, email: str):
        self.base = base
        self.http = requests.Session()
        self.device_id = uuid.uuid4()
        r = self.http.post(
            f"{base}/api/v1/auth/login",
            json={"email": email, "password": PASSWORD, "device_id": str(self.device_id)},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        self.cursor: str | None = None
        self.stream: list[dict] = []
        self.versions: dict[str, int] = {}
        self.errors: list[str] = []

    def push(self, mutations: list[dict]) -> list[dict]:
        r = self.http.post(
            f"{self.base}/api/v1/sync/push",
            json={"device_id": str(self.device_id), "schema_version": 1, "mutations": mutations},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        for result in results:
            if result.get("version"):
                self.versions[result["id"]] = result["version"]
        return results

    def pull_until_done(self) -> None:
        for _ in range(10_000):
            query = {"limit": 7}
            if self.cursor is not None:
                query["cursor"] = self.cursor
            r = self.http.get(f"{self.base}/api/v1/sync/pull", params=query, timeout=60)
            assert r.status_code == 200, r.text
            page = r.json()
            self.stream.extend(page["changes"])
            for change in page["changes"]:
                if change["op"] == "upsert":
                    self.versions[change["id"]] = change["version"]
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return


def test_concurrent_pushers_and_pullers_converge(app, world, pg_only):
    """Two teams push at once (their writers do not wait for each other); every
    device's stream, replayed, equals its team's final state."""
    teams = ("street", "custody")
    with app.app_context():
        emails = []
        for n in range(PUSHERS):
            email = f"phone{n}@example.test"
            create_user(
                email,
                f"Phone {n}",
                "worker",
                PASSWORD,
                team_id=world.team_ids[teams[n % 2]],
                actor_id=None,
                commit=False,
            )
            emails.append(email)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        shared_ids: dict[str, list[str]] = {}
        seeded: dict[str, dict] = {}
        for n, team in enumerate(teams):
            seeder = Phone(base, emails[n])
            shared = [mutation("client", client_data(known_as=f"c{k}")) for k in range(10)]
            assert {r["status"] for r in seeder.push(shared)} == {"applied"}
            shared_ids[team] = [m["id"] for m in shared]
            seeded[team] = seeder.versions
        pushers = [Phone(base, email) for email in emails]
        team_of = {id(p): teams[n % 2] for n, p in enumerate(pushers)}
        pullers = [Phone(base, world.emails[k]) for k in ("worker", "lead", "custody")][:PULLERS]
        team_of.update(
            {id(p): t for p, t in zip(pullers, ("street", "street", "custody"), strict=False)}
        )
        for phone in pushers:
            phone.versions.update(seeded[team_of[id(phone)]])
        done = threading.Event()
        failures: list[BaseException] = []

        def pusher(phone: Phone, seed: int) -> None:
            rng = random.Random(seed)
            ids = shared_ids[team_of[id(phone)]]
            try:
                for _ in range(ROUNDS):
                    batch = []
                    for _ in range(rng.randint(1, 8)):
                        cid = rng.choice(ids)
                        kind = rng.random()
                        if kind < 0.5:
                            batch.append(
                                mutation(
                                    "client",
                                    client_data(known_as=f"k{rng.randint(0, 99)}"),
                                    id=cid,
                                    base=phone.versions.get(cid, 1),
                                )
                            )
                        elif kind < 0.9:
                            batch.append(mutation("intervention", intervention_data(cid)))
                        else:
                            batch.append(mutation("client", client_data(initials="NW")))
                    phone.push(batch)
                    phone.pull_until_done()
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failures.append(exc)

        def puller(phone: Phone) -> None:
            try:
                while not done.is_set():
                    phone.pull_until_done()
                    time.sleep(0.005)
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)

        threads = [threading.Thread(target=pusher, args=(p, n)) for n, p in enumerate(pushers)] + [
            threading.Thread(target=puller, args=(p,)) for p in pullers
        ]
        for t in threads:
            t.start()
        for t in threads[: len(pushers)]:
            t.join(timeout=300)
        done.set()
        for t in threads[len(pushers) :]:
            t.join(timeout=60)
        assert not failures, failures
        expected = {team: server_scope(app, world.team_ids[team]) for team in teams}
        assert all(len(scope) > 10 for scope in expected.values())
        for phone in pushers + pullers:
            phone.pull_until_done()
            assert replay(phone.stream) == expected[team_of[id(phone)]], phone.device_id
        # A fresh device's first pull sees the same.
        for key, team in (("worker", "street"), ("custody", "custody")):
            fresh = Phone(base, world.emails[key])
            fresh.pull_until_done()
            assert replay(fresh.stream) == expected[team]
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_first_allocations_on_a_new_database_race_safely(app, world, pg_only):
    """Four writers of one team at once on a new database: the team's lock row is
    created once, and each writer's numbers are a block no other writer interleaves."""
    from outreach.records.sequence import allocate_seqs

    team = world.team_ids["street"]
    barrier = threading.Barrier(4)
    got: list[list[int]] = []
    failures: list[BaseException] = []

    def allocate() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                got.append(allocate_seqs(3, [team]))
                time.sleep(0.05)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures
    assert sorted(got) == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]


def test_a_teams_open_write_holds_back_only_that_team(app, world, pg_only):
    """A push of one team does not wait for another team's open transaction, and a
    pull never passes a number still being written for its own team."""
    from outreach.records.sequence import allocate_seqs, current_seq

    street, custody = world.team_ids["street"], world.team_ids["custody"]
    opened, release = threading.Event(), threading.Event()
    held: list[list[int]] = []
    holder: list[int] = []  # the street writer's backend

    def slow_street_writer() -> None:
        with app.app_context():
            held.append(allocate_seqs(2, [street]))
            holder.append(backend_pid(db.session))
            opened.set()
            release.wait(timeout=30)
            db.session.commit()

    def allocate_and_commit(team: int, got: list[list[int]]) -> None:
        with app.app_context():
            got.append(allocate_seqs(1, [team]))
            db.session.commit()

    with app.app_context():
        engine = db.engine
    writer = threading.Thread(target=slow_street_writer)
    writer.start()
    try:
        assert opened.wait(timeout=30)
        # Another team's writer is done without ever waiting for the street writer.
        other: list[list[int]] = []
        custody_writer = threading.Thread(target=allocate_and_commit, args=(custody, other))
        custody_writer.start()
        assert wait_for(lambda: not custody_writer.is_alive() or waiting_on(holder[0], engine))
        assert not custody_writer.is_alive(), waiting_on(holder[0], engine)
        with app.app_context():
            assert other[0][0] > held[0][-1]
            assert current_seq(custody) == other[0][0]
            assert current_seq(street) < held[0][0]  # not yet committed: not passed
        # A second writer of the same team waits for the first.
        second_held: list[list[int]] = []
        second = threading.Thread(target=allocate_and_commit, args=(street, second_held))
        second.start()
        assert wait_for(lambda: waiting_on(holder[0], engine)), "no writer waits"
        assert not second_held
        release.set()
        second.join(timeout=30)
        assert second_held and second_held[0][0] > held[0][-1]
        with app.app_context():
            assert current_seq(street) > held[0][-1]
    finally:
        release.set()
        writer.join(timeout=30)
