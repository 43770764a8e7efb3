"""Quiet hours: messages that can wait (reminders, digests, invitations) wait until morning.

Only messages of priority ``HOLD_FROM`` (10, the default for messages to other members) and
above are held: reminders, digests, agendas, invitations (20). Replies to the person chatting
(0), urgent alerts (5) and notices that need a look (below 10) always go at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from handlers.settings import DomainSettings

HOLD_FROM = 10  # this and higher numbers wait for the morning


def in_quiet_hours(settings: DomainSettings, moment: datetime) -> bool:
    return hold_until(settings, moment, HOLD_FROM) is not None


def hold_until(settings: DomainSettings, now: datetime, priority: int) -> datetime | None:
    """When a message of ``priority`` enqueued ``now`` may go; None: at once."""
    span = settings.rhythm.quiet_hours
    if span is None or priority < HOLD_FROM:
        return None
    start, end = span
    local = now.astimezone(settings.timezone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        quiet = start <= clock < end
    else:  # over midnight: 21:00-06:30
        quiet = clock >= start or clock < end
    if not quiet:
        return None
    day = local.date()
    if clock >= end:  # in the evening part: the end is tomorrow morning
        day += timedelta(days=1)
    wake = datetime.combine(day, _naive(end), tzinfo=settings.timezone)
    return wake.astimezone(UTC)


def _naive(moment: time) -> time:
    return moment.replace(tzinfo=None)
