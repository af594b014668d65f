"""Waiting for a state instead of sleeping: a poll with a deadline, and PostgreSQL's own
view of which session waits for whose lock (a sleep only guesses that the other side
got there, and guesses wrong on a loaded machine)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 30, step: float = 0.01) -> T:
    """Poll `condition` until its answer is true or `timeout` seconds pass; return its
    last answer (assert it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = condition()
        if answer:
            return answer
        time.sleep(step)
    return condition()


def backend_pid(connection) -> int:
    """The PostgreSQL backend of a Session or Connection (starts its transaction if none)."""
    return connection.scalar(text("SELECT pg_backend_pid()"))


def waiting_on(holder_pid: int, engine: Engine) -> dict[int, str]:
    """{pid: query} of the sessions now waiting for a lock that `holder_pid` holds."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid, query FROM pg_stat_activity "
                "WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))"
            ),
            {"holder": holder_pid},
        )
        return {row.pid: row.query for row in rows}
