"""The load bench tells the truth (issue 21): its phones make valid records at any fleet
size, and its CPU meter counts the workers gunicorn has recycled."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

from bench.fleet.cpu import web_seconds
from bench.fleet.phone import Phone, Stats, utcnow
from bench.fleet.server import birth_date
from tests.sync.helpers import push


def test_dates_of_birth_are_in_the_past_for_any_fleet():
    assert all(date(1945, 1, 1) <= birth_date(n) < date.today() for n in range(0, 10**6, 101))


def test_records_of_phones_far_into_a_big_fleet_are_accepted(login):
    worker = login("worker")
    mutations = []
    for index in (0, 258, 259, 4_999, 39_999):  # device 259 on once made future births
        phone = Phone(index, "unused@example.test", [0], Stats())
        for _ in range(6):
            phone.save(utcnow())
        mutations += phone.outbox
    results = push(worker, mutations)["results"]
    assert [r["status"] for r in results] == ["applied"] * len(mutations), results


BURN = """
import os, sys, time
pid = os.fork()
if pid == 0:  # a worker: burns CPU, then exits (recycled)
    end = time.process_time() + 0.4
    while time.process_time() < end:
        pass
    os._exit(0)
os.waitpid(pid, 0)  # the master reaps it, as gunicorn does
print("reaped", flush=True)
time.sleep(60)
"""


def test_the_cpu_meter_counts_workers_that_have_exited():
    master = subprocess.Popen(
        [sys.executable, "-c", BURN], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert master.stdout.readline().strip() == "reaped"
        assert web_seconds([master.pid]) >= 0.35  # the dead worker's 0.4 s are there
    finally:
        master.kill()
        master.wait()
