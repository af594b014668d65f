"""Weeks and days are Europe/London's, bounds in UTC (summer time included)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from outreach.caseload.clock import Clock


def test_summer_monday_starts_at_2300_utc_on_sunday():
    clock = Clock(datetime(2026, 7, 5, 23, 30, tzinfo=UTC))  # Monday 00:30 BST
    assert clock.today == date(2026, 7, 6)
    assert clock.week_start == datetime(2026, 7, 5, 23, 0, tzinfo=UTC)
    assert clock.week_end == datetime(2026, 7, 12, 23, 0, tzinfo=UTC)
    assert clock.four_weeks_start == datetime(2026, 6, 7, 23, 0, tzinfo=UTC)
    assert clock.describe()["week"] == "2026-W28"


def test_winter_week_and_due_horizon():
    clock = Clock(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))  # Sunday
    assert clock.today == date(2026, 11, 29)
    assert clock.monday == date(2026, 11, 23)
    assert clock.week_start == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert clock.due_horizon == date(2026, 12, 6)
    described = clock.describe()
    assert described["last_4_weeks_start"] == date(2026, 10, 26)
    assert described["last_4_weeks_end"] == date(2026, 11, 22)


def test_week_across_the_clocks_going_back():
    clock = Clock(datetime(2026, 10, 26, 12, 0, tzinfo=UTC))  # Monday after BST ends
    assert clock.week_start == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert clock.four_weeks_start == datetime(2026, 9, 27, 23, 0, tzinfo=UTC)
