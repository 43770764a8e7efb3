"""The ``[schedule]`` settings: when each job runs, quiet hours, working days, deadlines.

Parsed and checked by ``bot/schedule_config.py``; everything here is plain, frozen data and
the small parsers both the config loader and the conversations use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2})[:h.](\d{2})$")
_EVERY = re.compile(r"^every\s+(\d+)\s*(m|min|minutes?|h|hours?)$")


class ScheduleError(ValueError):
    """A value that cannot be a schedule; the config loader adds the key's name."""


@dataclass(frozen=True)
class When:
    """When a job runs: on some weekdays (or every day, or a day of the month) at a time,
    or every so many minutes.

    ``weekdays`` are 0 (Monday) to 6; empty with ``month_day`` None means every day.
    """

    at: time = time(8, 0)
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    every_minutes: int | None = None
    spec: str = "daily 08:00"

    def describe(self) -> str:
        return self.spec


def parse_time(text: str) -> time:
    """ "08:00", "8h30", "21.00" -> a time; anything else raises :class:`ScheduleError`."""
    found = _TIME.match(text.strip().lower())
    if found is None:
        raise ScheduleError(f"{text!r} is not a time of day like 08:00")
    hour, minute = int(found[1]), int(found[2])
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{text!r} is not a time of day")
    return time(hour, minute)


def parse_weekdays(text: str) -> tuple[int, ...]:
    """ "mon-fri", "fri", "mon,wed,fri" -> weekday numbers (Monday 0)."""
    days: list[int] = []
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ScheduleError(f"{part!r} is not a day of the week (mon … sun)")
        start = DAYS.index(first)
        end = DAYS.index(last) if last else start
        if end < start:
            raise ScheduleError(f"{part!r}: the days must run forwards")
        days.extend(d for d in range(start, end + 1) if d not in days)
    return tuple(sorted(days))


def parse_when(text: str) -> When:
    """ "fri 08:00", "mon-fri 07:30", "daily 08:00", "day 25 08:00", "every 15m"."""
    spec = " ".join(text.strip().lower().split())
    every = _EVERY.match(spec)
    if every is not None:
        n = int(every[1]) * (60 if every[2].startswith("h") else 1)
        if n < 1:
            raise ScheduleError(f"{text!r}: the interval must be at least a minute")
        return When(every_minutes=n, spec=spec)
    parts = spec.split()
    if len(parts) == 3 and parts[0] == "day":
        if not parts[1].isdigit() or not 1 <= int(parts[1]) <= 28:
            raise ScheduleError(f"{text!r}: the day of the month must be 1 to 28")
        return When(parse_time(parts[2]), month_day=int(parts[1]), spec=spec)
    if len(parts) != 2:
        raise ScheduleError(
            f"{text!r} is not a schedule like 'fri 08:00', 'daily 08:00', 'day 25 08:00' "
            "or 'every 15m'"
        )
    at = parse_time(parts[1])
    if parts[0] == "daily":
        return When(at, spec=spec)
    return When(at, weekdays=parse_weekdays(parts[0]), spec=spec)


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """ "21:00-06:30" -> (start, end); empty or "off" -> None (never quiet)."""
    if text.strip().lower() in ("", "off", "none"):
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ScheduleError(f"{text!r} is not a span like 21:00-06:30")
    first, last = parse_time(start), parse_time(end)
    if first == last:
        raise ScheduleError(f"{text!r}: start and end are the same")
    return first, last


def parse_month_day(text: str) -> tuple[int, int]:
    """ "05-15" -> (5, 15), a day that exists every year (29 February does not)."""
    found = re.match(r"^(\d{1,2})-(\d{1,2})$", text.strip())
    if found is None:
        raise ScheduleError(f"{text!r} is not a month-day like 05-15")
    month, day = int(found[1]), int(found[2])
    try:
        date(2025, month, day)  # not a leap year: a day that exists every year
    except ValueError as exc:
        raise ScheduleError(f"{text!r} is not a day of the year") from exc
    return month, day


@dataclass(frozen=True)
class RhythmSettings:
    """Everything the rhythm jobs need from ``[schedule]``, with the plan's defaults."""

    enabled: bool = True
    jobs: dict[str, When] = field(default_factory=dict)  # job name -> when it runs
    catch_up_hours: int = 12
    quiet_hours: tuple[time, time] | None = (time(21, 0), time(6, 30))
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    holidays: tuple[date, ...] = ()
    weekly_due: When = field(default_factory=lambda: When(time(8, 0), (4,), spec="fri 08:00"))
    briefing_day: int = 25
    briefing_time: time = time(8, 0)
    briefing_place: str = "trụ sở UBND xã"
    agenda_working_days_before: int = 3
    quarterly_deadline_day: int = 15
    half_year_deadline: tuple[int, int] = (5, 15)
    annual_deadline: tuple[int, int] = (11, 15)
    periodic_remind_days: tuple[int, ...] = (7, 2)
    files_dir: Path = Path("./media/generated")
    digest_weeks: int = 8
