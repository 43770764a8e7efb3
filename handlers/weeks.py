"""ISO weeks and months in local time, and how they are written for people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def of(cls, moment: datetime, tz: ZoneInfo) -> Week:
        iso = moment.astimezone(tz).isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def parse(cls, key: str) -> Week:
        year, number = key.split("-W")
        return cls(int(year), int(number))

    @property
    def key(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def previous(self) -> Week:
        return Week.of_date(self.monday - timedelta(days=7))

    @classmethod
    def of_date(cls, day: date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    def start(self, tz: ZoneInfo) -> datetime:
        return local_midnight(self.monday, tz)

    def end(self, tz: ZoneInfo) -> datetime:
        return local_midnight(self.monday + timedelta(days=7), tz)

    def label(self) -> str:
        """ "tuần 49 (02/12–08/12)" """
        return f"tuần {self.number} ({self.monday:%d/%m}–{self.sunday:%d/%m})"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def month_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The start of the local calendar month of ``moment`` and the start of the next."""
    local = moment.astimezone(tz).date()
    first = local.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first, tz), local_midnight(following, tz)


def weeks_between(start: datetime, end: datetime, tz: ZoneInfo) -> list[Week]:
    """The ISO weeks whose Monday falls in [start, end)."""
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    weeks: list[Week] = []
    while day < last:
        if day.isoweekday() == 1 or not weeks:
            week = Week.of_date(day)
            if week.monday >= start.astimezone(tz).date() and week not in weeks:
                weeks.append(week)
        day += timedelta(days=1)
    return weeks


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    """ "08:42 25/11" """
    return f"{moment.astimezone(tz):%H:%M %d/%m}"
