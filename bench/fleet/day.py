"""A worker's day for every phone, on a clock `--compress` times faster than real time.

* Sign-ins spread at random over the shift start (`--shift-start`, 10 minutes), each a
  login, `/me` and a first pull of the team's caseload.
* Every open app syncs once a `--sync-every` (a minute): push its outbox, pull from its
  cursor (nearly always nothing new: the idle pull).
* Saves at `--saves-per-hour` per phone (random arrivals); each save syncs at once (the
  burst after a save), whichever minute it is.
* Access tokens are refreshed every 14 minutes (they last 15).
* `--returning` of the phones were out of signal for hours: signed in yesterday (before
  the clock starts, untimed), they hold `--backlog` records made offline and an old
  cursor, and come back at a random moment of the run: refresh, push the backlog in
  batches of 50, pull what the team did meanwhile, then sync like the others.

Events run on a pool of threads against the clock; how late each one started is kept
(`lag`): a late generator would hide the server's latency (coordinated omission), so a
run whose lag p99 passes 100 ms says so.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench.fleet.phone import Phone, Stats, utcnow

REFRESH_EVERY = 14 * 60


class Day:
    def __init__(self, phones: list[Phone], args, stats: Stats) -> None:
        self.phones, self.args, self.stats = phones, args, stats
        self.heap: list = []
        self.order = itertools.count()
        self.cv = threading.Condition()
        self.end = args.minutes * 60.0
        self.t0 = 0.0
        self.stopped = False
        self.refreshed: dict[int, float] = {}

    # --- the clock ------------------------------------------------------------------------

    def now(self) -> float:
        """Simulated seconds since the start of the shift."""
        return (time.monotonic() - self.t0) * self.args.compress

    def at(self, when: float, phone: Phone, action: Callable) -> None:
        if when > self.end:
            return
        with self.cv:
            heapq.heappush(self.heap, (when, next(self.order), phone, action))
            self.cv.notify()

    def _dispatch(self, pool: ThreadPoolExecutor, deadline: float) -> None:
        """Hand each event to the pool when it falls due (idle threads block on the
        pool's queue: no polling)."""
        while True:
            with self.cv:
                now = time.monotonic()
                if now >= deadline:
                    return
                if not self.heap:
                    self.cv.wait(min(0.5, deadline - now))
                    continue
                due = self.t0 + self.heap[0][0] / self.args.compress
                if due > now:
                    self.cv.wait(min(due - now, deadline - now))
                    continue
                when, _, phone, action = heapq.heappop(self.heap)
            pool.submit(self._run, due, when, phone, action)

    def _run(self, due: float, when: float, phone: Phone, action: Callable) -> None:
        if self.stopped:
            return
        with self.stats.lock:
            self.stats.lag.append(max(0.0, time.monotonic() - due))
        with phone.busy:
            try:
                action(phone, when)
            except Exception as exc:  # noqa: BLE001 - a bench bug must not hang the run
                self.stats.error(f"phone {phone.index}: {type(exc).__name__}: {exc}")

    # --- what happens ---------------------------------------------------------------------

    def _jitter(self, seconds: float, phone: Phone) -> float:
        return seconds * phone.rng.uniform(0.9, 1.1)

    def _schedule_day(self, phone: Phone, now: float) -> None:
        self.at(now + self._jitter(self.args.sync_every, phone), phone, self.sync)
        if self.args.saves_per_hour > 0:
            gap = phone.rng.expovariate(self.args.saves_per_hour / 3600)
            self.at(now + gap, phone, self.save)

    def sign_in(self, phone: Phone, now: float) -> None:
        if phone.sign_in():
            self.refreshed[phone.index] = now
            self._schedule_day(phone, now)
        phone.hang_up()

    def _fresh_token(self, phone: Phone, now: float) -> bool:
        if now - self.refreshed.get(phone.index, now) >= REFRESH_EVERY:
            if not phone.refresh():
                return False
            self.refreshed[phone.index] = now
        return True

    def sync(self, phone: Phone, now: float) -> None:
        if self._fresh_token(phone, now):
            phone.sync()
        self.at(now + self._jitter(self.args.sync_every, phone), phone, self.sync)

    def save(self, phone: Phone, now: float) -> None:
        phone.save(utcnow())
        if self._fresh_token(phone, now):
            phone.sync()  # the burst after a save
        gap = phone.rng.expovariate(self.args.saves_per_hour / 3600)
        self.at(now + gap, phone, self.save)

    def come_back(self, phone: Phone, now: float) -> None:
        """Back in signal after hours: the access token has long expired."""
        ok = phone.refresh()
        self.refreshed[phone.index] = now
        if ok:
            phone.sync("backlog push")
            self._schedule_day(phone, now)
        phone.hang_up()

    # --- the run --------------------------------------------------------------------------

    def prepare_returning(self, returning: list[Phone]) -> None:
        """Before the clock: the returning phones signed in yesterday and went offline
        with a backlog (untimed: their requests go to a throwaway Stats)."""
        real = [p.stats for p in returning]
        scratch = Stats()
        for phone in returning:
            phone.stats = scratch

        def yesterday(phone: Phone) -> None:
            phone.sign_in()
            phone.hang_up()

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(yesterday, returning))
        for phone, stats in zip(returning, real, strict=True):
            phone.stats = stats
            for _ in range(self.args.backlog):
                phone.save(utcnow())
        self.stats.errors += scratch.errors
        self.stats.error_count += scratch.error_count

    def run(self, returning: set[int]) -> float:
        """Run the day; returns the real seconds it took."""
        args = self.args
        self.t0 = time.monotonic() + 0.2
        for phone in self.phones:
            if phone.index in returning:
                self.at(phone.rng.uniform(0, self.end * 0.8), phone, self.come_back)
            else:
                self.at(phone.rng.uniform(0, min(args.shift_start, self.end)), phone, self.sign_in)
        deadline = self.t0 + self.end / args.compress
        pool = ThreadPoolExecutor(args.threads)
        self._dispatch(pool, deadline)
        self.stopped = True  # events queued but not started are dropped
        pool.shutdown(wait=True, cancel_futures=True)
        return time.monotonic() - self.t0

    def drain(self) -> None:
        """After the clock: every phone still holding records pushes them (timed apart,
        as "drain push"), so that every record made can be checked stored once."""

        def flush(phone: Phone) -> None:
            with phone.busy:
                if phone.outbox:
                    if not phone.signed_in:
                        phone.sign_in()
                    else:
                        phone.refresh()
                    phone.push("drain push")
                    phone.hang_up()

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(flush, self.phones))
