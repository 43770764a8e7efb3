"""Escalation deadlines: hours on the clock for urgent cases, working hours for the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.hotspots.settings import HotspotSettings

MAX_DAYS = 366  # a configuration with no working time at all cannot loop forever


def deadline(start: datetime, urgent: bool, settings: HotspotSettings, tz: ZoneInfo) -> datetime:
    """When a case alerted at ``start`` escalates if nobody acknowledges it."""
    if urgent:
        return start + timedelta(hours=settings.escalate_urgent_hours)
    return add_working_hours(start, settings.escalate_working_hours, settings, tz)


def add_working_hours(
    start: datetime, hours: float, settings: HotspotSettings, tz: ZoneInfo
) -> datetime:
    """``start`` moved on by ``hours`` of working time (working days, working hours, local)."""
    left = timedelta(hours=hours)
    local = start.astimezone(tz)
    day = local.date()
    for _ in range(MAX_DAYS):
        if day.isoweekday() in settings.working_days:
            for begin_t, end_t in settings.working_hours:
                begin = datetime.combine(day, begin_t, tzinfo=tz)
                end = datetime.combine(day, end_t, tzinfo=tz)
                begin = max(begin, local)
                if begin >= end:
                    continue
                if begin + left <= end:
                    return (begin + left).astimezone(UTC)
                left -= end - begin
        day += timedelta(days=1)
    return start + timedelta(hours=hours)
