"""Days and weeks in the team's time zone (Europe/London by default), bounds in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach.core.types import utcnow

DEFAULT_TZ = "Europe/London"


def local_midnight_utc(day: date, tz: str) -> datetime:
    """Midnight of `day` in `tz`, as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


@dataclass(frozen=True)
class Clock:
    """`now` seen from `tz`: today, this ISO week (Monday to Sunday) and the 4 before it."""

    now: datetime
    tz: str = DEFAULT_TZ

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.tz)).date()

    @property
    def monday(self) -> date:
        return self.today - timedelta(days=self.today.weekday())

    @property
    def week_start(self) -> datetime:
        return local_midnight_utc(self.monday, self.tz)

    @property
    def week_end(self) -> datetime:
        return local_midnight_utc(self.monday + timedelta(days=7), self.tz)

    @property
    def four_weeks_start(self) -> datetime:
        return local_midnight_utc(self.monday - timedelta(days=28), self.tz)

    @property
    def due_horizon(self) -> date:
        """Follow-ups due from today to this day (inclusive) are 'due'."""
        return self.today + timedelta(days=7)

    def day_start(self, day: date) -> datetime:
        return local_midnight_utc(day, self.tz)

    def describe(self) -> dict:
        year, week, _ = self.monday.isocalendar()
        return {
            "today": self.today,
            "timezone": self.tz,
            "week": f"{year}-W{week:02d}",
            "week_start": self.monday,
            "week_end": self.monday + timedelta(days=6),
            "last_4_weeks_start": self.monday - timedelta(days=28),
            "last_4_weeks_end": self.monday - timedelta(days=1),
            "due_until": self.due_horizon,
        }


def make_clock(now: datetime | None = None, tz: str | None = None) -> Clock:
    return Clock(now or utcnow(), tz or DEFAULT_TZ)
