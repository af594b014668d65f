"""One phone, as the PWA behaves (static/js/core/sync.js, api.js): it signs in, pulls
its team's scope, then syncs (push its outbox in batches, pull from its cursor until
`has_more` is false), refreshes its access token before it expires, and keeps records
made offline in its outbox until a push acknowledges them. Records are always valid,
whatever the fleet size: dates of birth in the past, contacts a few minutes old."""

from __future__ import annotations

import http.client
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import orjson

from bench.fleet.server import PASSWORD, birth_date

PUSH_BATCH = 50  # the PWA's pickBatch
PULL_LIMIT = 500


class Stats:
    """Latencies per request kind, errors, and the records acknowledged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.error_count = 0
        self.made = 0
        self.acknowledged: dict[str, set[str]] = {"client": set(), "intervention": set()}
        self.rejected = 0
        self.pulled = 0
        self.lag: list[float] = []  # how late the generator started an event

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 200:
                self.errors.append(message)


class Phone:
    def __init__(self, index: int, email: str, ports: list[int], stats: Stats, seed: int = 0):
        self.index, self.email, self.ports, self.stats = index, email, ports, stats
        self.device_id = str(uuid.uuid4())
        self.rng = random.Random(seed * 1_000_003 + index)
        self.access: str | None = None
        self.refresh_token: str | None = None
        self.cursor: str | None = None
        self.outbox: list[dict] = []
        self.clients: list[str] = []
        self.online = True
        self.signed_in = False
        self.visits = 0  # which server: a phone may reach either between requests
        self.conn: http.client.HTTPConnection | None = None
        self.busy = threading.Lock()  # one sync at a time, as the PWA's lock

    # --- HTTP ---------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            port = self.ports[self.visits % len(self.ports)]
            self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        return self.conn

    def hang_up(self) -> None:
        """The end of a sync: a phone keeps no connection for a minute (gunicorn's
        keep-alive is 5 s); the next sync may reach the other server."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.visits += 1

    def call(self, kind, method: str, path: str, body=None, token: str | None = None):
        """One request; `kind` names it in the statistics (a function of the answer's
        body: a pull that brought nothing is an "idle pull")."""
        headers = {"Content-Type": "application/json"}
        bearer = token if token is not None else self.access
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        data = orjson.dumps(body) if body is not None else None
        for attempt in range(2):
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed: resend once (pushes are
                # idempotent by mutation id).
                self.conn = None
                if attempt == 0:
                    continue
                self.stats.error(f"phone {self.index}: {kind} connection lost")
                return None
            except OSError as exc:
                self.conn = None
                self.stats.error(f"phone {self.index}: {kind} {type(exc).__name__}")
                return None
            elapsed = time.perf_counter() - started
            answer = orjson.loads(raw) if raw and response.status < 300 else {}
            name = kind(answer) if callable(kind) else kind
            self.stats.record(name, elapsed)
            if response.status >= 300:
                detail = raw[:160].decode(errors="replace")
                self.stats.error(f"phone {self.index}: {name} HTTP {response.status} {detail}")
                return None
            return answer
        return None

    # --- what a phone does --------------------------------------------------------------

    def sign_in(self) -> bool:
        body = self.call(
            "login",
            "POST",
            "/api/v1/auth/login",
            {"email": self.email, "password": PASSWORD, "device_id": self.device_id},
        )
        if body is None:
            return False
        self.access, self.refresh_token = body["access_token"], body["refresh_token"]
        self.signed_in = True
        self.call("me", "GET", "/api/v1/me")
        return self.pull()

    def refresh(self) -> bool:
        body = self.call("refresh", "POST", "/api/v1/auth/refresh", token=self.refresh_token)
        if body is None:
            return False
        self.access, self.refresh_token = body["access_token"], body["refresh_token"]
        return True

    def save(self, now: datetime) -> None:
        """The worker records a contact: a new client one time in four."""
        record_id = str(uuid.uuid4())
        if not self.clients or self.rng.random() < 0.25:
            entity = "client"
            data = {
                "initials": "LD",
                "date_of_birth": birth_date(self.index * 131 + len(self.clients)).isoformat(),
                "sex": "not_stated",
                "postcode_district": "DH1",
            }
            self.clients.append(record_id)
        else:
            entity = "intervention"
            data = {
                "client_id": self.rng.choice(self.clients[-20:]),
                "type": self.rng.choice(["harm_reduction_advice", "naloxone_supplied"]),
                "occurred_at": (now - timedelta(minutes=self.rng.randint(1, 30))).isoformat(),
                "location": "street",
                "substances": ["opioids"],
            }
            if data["type"] == "naloxone_supplied":
                data["quantity"] = 1
        self.outbox.append(
            {
                "mutation_id": str(uuid.uuid4()),
                "entity": entity,
                "op": "upsert",
                "id": record_id,
                "base_version": None,
                "data": data,
            }
        )
        with self.stats.lock:
            self.stats.made += 1

    def push(self, kind: str = "push") -> bool:
        while self.outbox:
            batch = self.outbox[:PUSH_BATCH]
            answer = self.call(
                kind,
                "POST",
                "/api/v1/sync/push",
                {"device_id": self.device_id, "schema_version": 1, "mutations": batch},
            )
            if answer is None:
                return False
            for mutation, result in zip(batch, answer.get("results", []), strict=False):
                if result.get("status") in ("applied", "duplicate"):
                    with self.stats.lock:
                        self.stats.acknowledged[mutation["entity"]].add(mutation["id"])
                else:
                    with self.stats.lock:
                        self.stats.rejected += 1
                    self.stats.error(f"phone {self.index}: {result.get('status')} {result}")
            del self.outbox[: len(batch)]
        return True

    def pull(self) -> bool:
        first = self.cursor is None
        for _ in range(1000):
            query = f"?limit={PULL_LIMIT}" + (f"&cursor={self.cursor}" if self.cursor else "")
            page = self.call(
                "first pull" if first else _pull_kind, "GET", "/api/v1/sync/pull" + query
            )
            if page is None:
                return False
            changes = page.get("changes", [])
            with self.stats.lock:
                self.stats.pulled += len(changes)
            self.cursor = page.get("cursor")
            if not page.get("has_more"):
                return True
        return True

    def sync(self, push_kind: str = "push") -> bool:
        """Push the outbox, then pull to the end; hang up."""
        try:
            return self.push(push_kind) and self.pull()
        finally:
            self.hang_up()


def _pull_kind(page: dict) -> str:
    """Nothing new: the idle pull the fast path answers."""
    return "pull" if page.get("changes") or page.get("has_more") else "idle pull"


def utcnow() -> datetime:
    return datetime.now(UTC)
