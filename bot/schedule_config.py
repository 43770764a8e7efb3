"""The ``[schedule]`` section of config.toml, read into :class:`RhythmSettings`.

Each value may be overridden by ``SITREP_SCHEDULE_<KEY>`` (job times by
``SITREP_SCHEDULE_JOBS_<NAME>``); a bad value raises ``ConfigError`` naming the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from handlers.rhythm.settings import (
    DAYS,
    RhythmSettings,
    ScheduleError,
    When,
    parse_month_day,
    parse_quiet_hours,
    parse_time,
    parse_weekdays,
    parse_when,
)

PREFIX = "SITREP_SCHEDULE_"


def rhythm_settings(
    raw: Mapping[str, Any],
    env: Mapping[str, str],
    media_dir: str,
    known_jobs: Mapping[str, str],
    error: Callable[[str], Exception],
) -> RhythmSettings:
    """Read ``[schedule]``; ``known_jobs`` maps each job to its default schedule."""
    section = raw.get("schedule", {})
    if not isinstance(section, dict):
        raise error("schedule must be a table ([schedule])")
    reader = _Reader(section, env, error)
    jobs_raw = section.get("jobs", {})
    if not isinstance(jobs_raw, dict):
        raise error("schedule.jobs must be a table ([schedule.jobs])")
    for name in jobs_raw:
        if name not in known_jobs:
            raise error(f"schedule.jobs.{name}: no such job (known: {', '.join(known_jobs)})")
    jobs: dict[str, When] = {}
    for name, default in known_jobs.items():
        jobs[name] = reader.parsed(f"jobs.{name}", default, parse_when, jobs_raw.get(name))
    holidays = reader.value("holidays", [])
    if isinstance(holidays, str):
        holidays = [h for h in (p.strip() for p in holidays.split(",")) if h]
    if not isinstance(holidays, list):
        raise error("schedule.holidays must be a list of dates like 2026-09-02")
    days: list[date] = []
    for entry in holidays:
        try:
            days.append(date.fromisoformat(str(entry)))
        except ValueError as exc:
            raise error(f"schedule.holidays: {entry!r} is not a date like 2026-09-02") from exc
    remind_days = reader.value("periodic_remind_days", [7, 2])
    if isinstance(remind_days, str):
        remind_days = [p.strip() for p in remind_days.split(",") if p.strip()]
    try:
        remind = tuple(sorted({int(d) for d in remind_days}, reverse=True))
    except (TypeError, ValueError) as exc:
        raise error("schedule.periodic_remind_days must be a list of whole numbers") from exc
    if not remind or any(d < 1 or d > 60 for d in remind):
        raise error("schedule.periodic_remind_days must be days between 1 and 60")
    quarterly = reader.integer("quarterly_deadline_day", 15, 1, 31)
    if quarterly > 30:  # the last months of the quarters: March 31, June 30, September 30 …
        raise error(
            f"schedule.quarterly_deadline_day: {quarterly} is not a day of every quarter's "
            "last month (June and September have 30 days)"
        )
    half_year = reader.parsed("half_year_deadline", "05-15", parse_month_day)
    if half_year[0] > 6:
        raise error(
            "schedule.half_year_deadline: the deadline must fall in the first half of the year"
        )
    working = reader.parsed("working_days", "mon-fri", parse_weekdays)
    if not working:
        raise error("schedule.working_days must name at least one day")
    files_dir = reader.text("files_dir", "")
    return RhythmSettings(
        enabled=reader.boolean("enabled", True),
        jobs=jobs,
        catch_up_hours=reader.integer("catch_up_hours", 12, 0, 24 * 7),
        quiet_hours=reader.parsed("quiet_hours", "21:00-06:30", parse_quiet_hours),
        working_days=working,
        holidays=tuple(days),
        weekly_due=reader.parsed("weekly_due", "fri 08:00", _weekly_due),
        briefing_day=reader.integer("briefing_day", 25, 1, 28),
        briefing_time=reader.parsed("briefing_time", "08:00", parse_time),
        briefing_place=reader.text("briefing_place", "trụ sở UBND xã"),
        agenda_working_days_before=reader.integer("agenda_working_days_before", 3, 1, 15),
        quarterly_deadline_day=quarterly,
        half_year_deadline=half_year,
        annual_deadline=reader.parsed("annual_deadline", "11-15", parse_month_day),
        periodic_remind_days=remind,
        files_dir=Path(files_dir) if files_dir else Path(media_dir) / "generated",
        digest_weeks=reader.integer("digest_weeks", 8, 2, 26),
    )


def _weekly_due(text: str) -> When:
    when = parse_when(text)
    if len(when.weekdays) != 1:
        raise ScheduleError(f"{text!r} must be one day and a time, like 'fri 08:00'")
    return when


class _Reader:
    def __init__(
        self, section: Mapping[str, Any], env: Mapping[str, str], error: Callable[[str], Exception]
    ) -> None:
        self._section = section
        self._env = env
        self._error = error

    def value(self, key: str, default: Any, given: Any = None) -> Any:
        env_name = PREFIX + key.replace(".", "_").upper()
        if env_name in self._env:
            return self._env[env_name]
        if given is not None:
            return given
        return self._section.get(key, default)

    def text(self, key: str, default: str) -> str:
        value = self.value(key, default)
        if not isinstance(value, str):
            raise self._error(f"schedule.{key} must be a string, not {value!r}")
        return value.strip()

    def parsed(self, key: str, default: str, parse: Callable[[str], Any], given: Any = None) -> Any:
        value = self.value(key, default, given)
        if not isinstance(value, str):
            raise self._error(f"schedule.{key} must be a string, not {value!r}")
        try:
            return parse(value)
        except ScheduleError as exc:
            raise self._error(f"schedule.{key}: {exc}") from exc

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.value(key, default)
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise self._error(f"schedule.{key} must be a whole number, not {value!r}") from exc
        if isinstance(value, bool) or not low <= number <= high:
            raise self._error(f"schedule.{key} must be between {low} and {high}, not {value!r}")
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value = self.value(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
            return False
        raise self._error(f"schedule.{key} must be true or false, not {value!r}")


__all__ = ["DAYS", "rhythm_settings"]
