"""Fixtures of the reports tests: a local SMTP server and dated interventions."""

from __future__ import annotations

import contextlib
import socket
import threading
from datetime import datetime

import pytest
from aiosmtpd.controller import Controller

from outreach.core.extensions import db
from tests.conftest import point_smtp_at
from tests.factories import make_clients, make_interventions


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server on 127.0.0.1 (free port); the app is pointed at it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    point_smtp_at(app, monkeypatch, port)
    inbox.controller = controller
    inbox.port = port
    yield inbox
    with contextlib.suppress(AssertionError, RuntimeError):
        controller.stop()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def record(app, world):
    """record(team, type, when, n=1, client=None, quantity=None) -> rows (inserted)."""

    def _record(
        team="street",
        type_="harm_reduction_advice",
        when="2026-11-18T12:00:00Z",
        n=1,
        clients=None,
        quantity=None,
    ):
        area = "dorset" if team == "dorset" else "durham"
        worker = {"street": "worker", "custody": "custody", "dorset": "dorset"}[team]
        return make_interventions(
            world.team_ids[team],
            world.area_ids[area],
            world.user_ids[worker],
            n,
            client_ids=clients,
            type_=type_,
            occurred_at=utc(when),
            quantity=quantity,
        )

    return _record


@pytest.fixture
def clients(app, world):
    """clients(team, n) -> client ids."""

    def _clients(team="street", n=1):
        area = "dorset" if team == "dorset" else "durham"
        rows = make_clients(world.team_ids[team], world.area_ids[area], n)
        return [r["id"] for r in rows]

    return _clients


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()
