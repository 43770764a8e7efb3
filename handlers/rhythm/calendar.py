"""Working days, the monthly giao ban's date, and the periodic reports' periods and deadlines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from handlers.rhythm.settings import RhythmSettings
from handlers.settings import DomainSettings
from handlers.weeks import Week, local_midnight

ROMAN = ("I", "II", "III", "IV")


def is_working_day(rhythm: RhythmSettings, day: date) -> bool:
    return day.weekday() in rhythm.working_days and day not in rhythm.holidays


def working_day_on_or_before(rhythm: RhythmSettings, day: date) -> date:
    for _ in range(60):
        if is_working_day(rhythm, day):
            return day
        day -= timedelta(days=1)
    return day


def working_days_before(rhythm: RhythmSettings, day: date, n: int) -> date:
    """The ``n``-th working day before ``day``."""
    for _ in range(n):
        day = working_day_on_or_before(rhythm, day - timedelta(days=1))
    return day


def meeting_day(rhythm: RhythmSettings, year: int, month: int) -> date:
    """The giao ban of a month: the configured day, or the working day before it."""
    return working_day_on_or_before(rhythm, date(year, month, rhythm.briefing_day))


def agenda_day(rhythm: RhythmSettings, year: int, month: int) -> date:
    return working_days_before(
        rhythm, meeting_day(rhythm, year, month), rhythm.agenda_working_days_before
    )


def meeting_time(settings: DomainSettings, day: date) -> datetime:
    at = datetime.combine(day, settings.rhythm.briefing_time, tzinfo=settings.timezone)
    return at.astimezone(UTC)


def month_key(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def due_moment(settings: DomainSettings, week: Week) -> datetime:
    """When a week's report is due (``schedule.weekly_due``): later ones count as late."""
    due = settings.rhythm.weekly_due
    day = week.monday + timedelta(days=due.weekdays[0])
    return datetime.combine(day, due.at, tzinfo=settings.timezone).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """A periodic report's period: a quarter ("2026-Q4"), a half-year ("2026-H1") or a year."""

    kind: str  # quarter | half | year
    year: int
    index: int = 1  # the quarter (1-4) or the half (1-2)

    @property
    def key(self) -> str:
        if self.kind == "quarter":
            return f"{self.year}-Q{self.index}"
        if self.kind == "half":
            return f"{self.year}-H{self.index}"
        return str(self.year)

    @property
    def first_day(self) -> date:
        months = {"quarter": 3 * (self.index - 1) + 1, "half": 6 * (self.index - 1) + 1}
        return date(self.year, months.get(self.kind, 1), 1)

    @property
    def end_day(self) -> date:
        """The day after the period."""
        length = {"quarter": 3, "half": 6}.get(self.kind, 12)
        month = self.first_day.month - 1 + length
        return date(self.year + month // 12, month % 12 + 1, 1)

    def deadline(self, rhythm: RhythmSettings) -> date | None:
        """The plan's deadline: before the 15th of the quarter's last month, 15/5, 15/11."""
        if self.kind == "quarter":
            return date(self.year, 3 * self.index, rhythm.quarterly_deadline_day)
        if self.kind == "half":
            if self.index != 1:
                return None  # the second half is covered by the annual report
            month, day = rhythm.half_year_deadline
            return date(self.year, month, day)
        month, day = rhythm.annual_deadline
        return date(self.year, month, day)

    def bounds(self, settings: DomainSettings) -> tuple[datetime, datetime]:
        tz = settings.timezone
        return local_midnight(self.first_day, tz), local_midnight(self.end_day, tz)

    def label_values(self) -> dict[str, str]:
        return {"year": str(self.year), "roman": ROMAN[self.index - 1], "n": str(self.index)}


def parse_period(text: str) -> Period:
    """ "2026-Q4", "2026-H1", "2026"; raises ValueError."""
    found = re.fullmatch(r"(\d{4})(?:-([QqHh])(\d))?", text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a period like 2026-Q4, 2026-H1 or 2026")
    year = int(found[1])
    if found[2] is None:
        return Period("year", year)
    kind = "quarter" if found[2].upper() == "Q" else "half"
    index = int(found[3])
    if not 1 <= index <= (4 if kind == "quarter" else 2):
        raise ValueError(f"{text!r}: no such {kind}")
    return Period(kind, year, index)


def periods_due(rhythm: RhythmSettings, day: date) -> list[tuple[Period, int]]:
    """The periods whose deadline is one of the reminder days after ``day``: (period, days)."""
    found: list[tuple[Period, int]] = []
    for days in rhythm.periodic_remind_days:
        target = day + timedelta(days=days)
        candidates = [Period("quarter", target.year, q) for q in range(1, 5)]
        candidates += [Period("half", target.year, 1), Period("year", target.year)]
        found.extend((p, days) for p in candidates if p.deadline(rhythm) == target)
    return found
