"""The scheduled jobs: name -> default schedule and coroutine ``(services, at) -> summary``.

``at`` is the time the job was due (it may run late, after a restart); each job only puts
messages in the outbox, with idempotency keys, so running it twice for one ``at`` sends once.
``[schedule.jobs]`` in config.toml overrides a job's schedule ("fri 08:00", "daily 08:00",
"day 25 08:00", "every 15m"). To add a job, add one line to :data:`JOBS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from handlers.hotspots.jobs import escalate_overdue, reage_hotspots
from handlers.rhythm import briefing, digest, periodic, reminders
from handlers.services import Services

JobFn = Callable[[Services, datetime], Awaitable[str]]


@dataclass(frozen=True)
class Job:
    default: str  # when it runs unless [schedule.jobs] says otherwise
    run: JobFn
    about: str


async def _reage(services: Services, at: datetime) -> str:
    return f"{await reage_hotspots(services, at)} hotspot scores changed"


async def _escalate(services: Services, at: datetime) -> str:
    return f"{await escalate_overdue(services, at)} cases escalated"


JOBS: dict[str, Job] = {
    "digest": Job("mon 07:30", digest.send_digests, "last week's digest to leaders, officers"),
    "remind_first": Job("fri 08:00", reminders.remind_first, "villages without a report"),
    "remind_second": Job("sat 08:00", reminders.remind_second, "second, firmer reminder"),
    "missing_to_leaders": Job(
        "mon 08:00", reminders.missing_to_leaders, "leaders: villages silent last week"
    ),
    "briefing_agenda": Job("daily 08:00", briefing.send_agendas, "giao ban agenda when due"),
    "periodic": Job("daily 08:00", periodic.send_reminders, "periodic report drafts when due"),
    "reage_hotspots": Job("daily 05:00", _reage, "hotspot scores re-aged: old reports fade"),
    "escalate": Job("every 15m", _escalate, "cases nobody acknowledged in time go up the tree"),
}


def defaults() -> dict[str, str]:
    return {name: job.default for name, job in JOBS.items()}
