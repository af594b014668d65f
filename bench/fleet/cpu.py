"""Where the CPU went, from /proc (Linux), counting only this bench's processes.

* Web: every process of each gunicorn's process group (master and live workers) plus
  the master's `cutime + cstime`: the CPU of workers it has reaped. gunicorn recycles a
  worker after `max_requests`; a meter that sums live processes only loses everything a
  recycled worker did (issue 21: 0.3 ms per request reported).
* Database: the backends connected to this bench's database (`pg_stat_activity`),
  sampled every second and kept per pid, so a backend that closes (its worker recycled)
  keeps what it used up to its last sample. PostgreSQL's shared processes (WAL writer,
  checkpointer, autovacuum) serve every database on the machine and are not counted.
* Machine: busy share of all cores from /proc/stat over the run (other agents' work
  included), and steal: how noisy the figures are.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def web_seconds(masters: list[int]) -> float:
    """CPU seconds so far of the gunicorn process groups led by `masters`, reaped
    workers included."""
    total = 0.0
    groups = set(masters)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None or int(fields[2]) not in groups:  # field 5: process group
            continue
        used = int(fields[11]) + int(fields[12])  # utime, stime
        if int(entry.name) in groups:
            used += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped workers
        total += used / TICK
    return total


def machine() -> tuple[float, float, float]:
    """(busy, steal, total) jiffies of all cores so far."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    total = sum(values[:8])
    return total - idle - steal, steal, total


class Meter:
    """Samples our database's backends every second between `start()` and `stop()`."""

    def __init__(self, url: str, masters: list[int]) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.masters = masters
        self.database = make_url(url).database
        self.engine = create_engine(url, pool_size=1)
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.own_pid: int | None = None
        self.started = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            if self.own_pid is None:
                self.own_pid = conn.scalar(text("SELECT pg_backend_pid()"))
            pids = conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.database}
            ).all()
        for pid in pids:
            if pid == self.own_pid:
                continue
            fields = _stat(pid)
            if fields is None:
                continue
            used = (int(fields[11]) + int(fields[12])) / TICK
            # Alive at the start: count from now; born during the run: all of it.
            self.first.setdefault(pid, 0.0 if self.started else used)
            self.last[pid] = used

    def _loop(self) -> None:
        while not self.stopping.wait(1.0):
            self._sample()

    def start(self) -> None:
        self.started = False
        self._sample()  # backends alive now count from what they have used so far
        self.started = True
        self.web0 = web_seconds(self.masters)
        self.machine0 = machine()
        self.own0 = os.times()
        self.thread.start()

    def stop(self) -> dict:
        self.stopping.set()
        self.thread.join(5)
        self._sample()
        web = web_seconds(self.masters) - self.web0
        busy, steal, total = (b - a for a, b in zip(self.machine0, machine(), strict=True))
        own = os.times()
        self.engine.dispose()
        return {
            "web": round(web, 2),
            "database": round(sum(self.last[p] - self.first[p] for p in self.last), 2),
            "load generator": round(own.user + own.system - self.own0.user - self.own0.system, 2),
            "machine_busy_share": round(busy / max(total, 1), 3),
            "machine_steal_share": round(steal / max(total, 1), 3),
        }
