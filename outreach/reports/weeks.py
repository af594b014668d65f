"""ISO weeks (Monday to Sunday) in the reporting time zone, with bounds in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """One ISO week, e.g. 2026-W47; `tz` is where Monday 00:00 is taken."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Parse `YYYY-Www`; ValueError when malformed or not a real ISO week."""
        match = WEEK_RE.match((text or "").strip())
        if not match:
            raise ValueError("Use an ISO week such as 2026-W47.")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {week}.") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shift(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local Monday 00:00 to the next local Monday 00:00."""
        return local_midnight_utc(self.monday, tz), local_midnight_utc(
            self.monday + timedelta(days=7), tz
        )


def local_midnight_utc(day: date, tz: str) -> datetime:
    """Midnight of `day` in `tz`, as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def current_week(now: datetime, tz: str) -> IsoWeek:
    return IsoWeek.of(now.astimezone(ZoneInfo(tz)).date())


def last_complete_week(now: datetime, tz: str) -> IsoWeek:
    """The most recent week whose Sunday has ended in `tz`."""
    return current_week(now, tz).shift(-1)


def week_range(last: IsoWeek, count: int) -> list[IsoWeek]:
    """`count` consecutive weeks ending with `last`, oldest first."""
    return [last.shift(-i) for i in range(count - 1, -1, -1)]
