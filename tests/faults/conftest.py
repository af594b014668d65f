"""Fault-injection harness: a real gunicorn on a free loopback port over the test database,
raw HTTP so a test can hang up before reading, and record counting."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
SECRETS = {
    "OUTREACH_SECRET_KEY": "faults-secret-key-that-is-long-enough-0000",
    "OUTREACH_JWT_SECRET": "faults-jwt-secret-that-is-long-enough-0000",
    "OUTREACH_MATCH_KEY_SECRET": "faults-match-secret-that-is-long-enough-00",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GunicornServer:
    """`gunicorn -c gunicorn.conf.py wsgi:app` in its own process group, on 127.0.0.1."""

    def __init__(
        self, database_url: str, log_path: Path, *, workers: int = 1, env: dict | None = None
    ):
        self.database_url = database_url
        self.log_path = log_path
        self.workers = workers
        self.extra_env = env or {}
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
        env.update(SECRETS)
        env.update(
            OUTREACH_DATABASE_URL=self.database_url,
            OUTREACH_BIND=f"127.0.0.1:{self.port}",
            OUTREACH_WEB_WORKERS=str(self.workers),
            OUTREACH_WEB_THREADS="2",
            OUTREACH_LOGIN_LIMIT_ACCOUNT="10000/minute",
            OUTREACH_LOGIN_LIMIT_ADDRESS="10000/minute",
        )
        env.update(self.extra_env)
        return {k: v for k, v in env.items() if v is not None}

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can kill master and workers
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _ = self.request("GET", "/api/v1/health", timeout=2)
                if status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers): no graceful anything."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def raw(self, method: str, path: str, headers: dict | None = None):
        """(status, headers, body bytes) of one request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def request(self, method, path, body=None, token=None, timeout=60) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw else {})
        finally:
            conn.close()

    def send_and_hang_up(self, path: str, body: dict, token: str) -> None:
        """Send a whole request, then close the socket without reading a byte of the answer:
        the phone lost its signal after sending."""
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(head + data)

    def login(self, email: str, password: str = "correct-horse-battery") -> dict:
        device_id = str(uuid.uuid4())
        status, body = self.request(
            "POST",
            "/api/v1/auth/login",
            {"email": email, "password": password, "device_id": device_id},
        )
        assert status == 200, body
        return {"device_id": device_id, "token": body["access_token"]}


@pytest.fixture
def gunicorn(database_url, tmp_path, app):
    """A function starting a gunicorn over the test database; every one is stopped after."""
    servers: list[GunicornServer] = []

    def _start(workers: int = 1, env: dict | None = None) -> GunicornServer:
        server = GunicornServer(
            database_url, tmp_path / f"gunicorn-{len(servers)}.log", workers=workers, env=env
        )
        servers.append(server)
        server.start()
        return server

    yield _start
    for server in servers:
        server.stop()


def client_mutations(count: int, *, seed: int = 0) -> list[dict]:
    """`count` new-client upserts as a phone makes them (ids and mutation ids are UUIDs)."""
    mutations = []
    for i in range(count):
        mutations.append(
            {
                "mutation_id": str(uuid.uuid4()),
                "entity": "client",
                "op": "upsert",
                "id": str(uuid.uuid4()),
                "base_version": None,
                "data": {
                    "initials": "FT",
                    "date_of_birth": (
                        date(1970, 1, 1) + timedelta(days=seed * 1000 + i)
                    ).isoformat(),
                    "sex": "female",
                    "postcode_district": "DH1",
                },
            }
        )
    return mutations


def push_body(device_id: str, mutations: list[dict]) -> dict:
    return {"device_id": device_id, "schema_version": 1, "mutations": mutations}
