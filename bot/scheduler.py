"""The scheduler: when each job of ``handlers.rhythm.jobs.JOBS`` runs, and that it runs once.

- :class:`JobRunner` is the heart and needs no timer: ``run_due(now)`` runs every job whose
  time came (once per fire time, recorded in ``job_runs``), ``run(name, at)`` runs one by
  hand. A run missed while the service was down runs once, late, at start-up (if it is not
  older than ``schedule.catch_up_hours``), and the log says so. Tests drive it with a clock.
- :class:`Scheduler` is the live service's: APScheduler 3 (``AsyncIOScheduler``) fires at
  the configured times in the configured timezone and calls the runner. Only one process
  runs jobs: on PostgreSQL the one holding a session advisory lock on a dedicated
  connection; on SQLite the single process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from handlers.rhythm.jobs import JOBS, Job
from handlers.rhythm.settings import DAYS, When, parse_when
from handlers.services import Services

log = logging.getLogger(__name__)

LOCK_KEY = 0x5173_5EED  # the advisory lock of the process that runs the jobs
LATE_AFTER = timedelta(minutes=1)
MAX_FIRES = 10_000  # fire times looked at, at most, when counting missed runs
RETRY_LEAD_SECONDS = 60.0


def make_trigger(when: When, tz: ZoneInfo) -> BaseTrigger:
    """The APScheduler trigger of a schedule, in local time."""
    if when.every_minutes is not None:
        anchor = datetime(2020, 1, 6, tzinfo=tz)  # a Monday midnight: stable fire times
        return IntervalTrigger(minutes=when.every_minutes, start_date=anchor, timezone=tz)
    fields: dict[str, object] = {"hour": when.at.hour, "minute": when.at.minute, "timezone": tz}
    if when.month_day is not None:
        fields["day"] = when.month_day
    elif when.weekdays:
        fields["day_of_week"] = ",".join(DAYS[d] for d in when.weekdays)
    return CronTrigger(**fields)


def fire_times(trigger: BaseTrigger, after: datetime, until: datetime) -> list[datetime]:
    """The trigger's times in (after, until], oldest first (at most ``MAX_FIRES``)."""
    found: list[datetime] = []
    moment = after + timedelta(microseconds=1)
    while len(found) < MAX_FIRES:
        fire: datetime | None = trigger.get_next_fire_time(None, moment)
        if fire is None or fire > until:
            break
        found.append(fire)
        moment = fire + timedelta(microseconds=1)
    return found


@dataclass(frozen=True)
class RunResult:
    job: str
    at: datetime
    status: str  # done | failed
    summary: str
    late: bool


class JobRunner:
    """Runs the jobs that are due, each once per fire time; no timers of its own."""

    def __init__(
        self,
        services: Services,
        jobs: Mapping[str, Job] | None = None,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.services = services
        self.jobs = dict(JOBS if jobs is None else jobs)
        self.on_outbox = on_outbox
        self._next: dict[str, tuple[datetime, datetime | None]] = {}
        rhythm = services.settings.rhythm
        tz = services.settings.timezone
        self.triggers: dict[str, BaseTrigger] = {}
        for name, job in self.jobs.items():
            when = rhythm.jobs.get(name)
            if when is None:  # a job added to the registry after the config was read
                when = parse_when(job.default)
            self.triggers[name] = make_trigger(when, tz)
        self.specs = {
            name: (rhythm.jobs[name].spec if name in rhythm.jobs else job.default)
            for name, job in self.jobs.items()
        }

    def next_runs(self, now: datetime) -> list[tuple[str, str, datetime | None]]:
        """Each job, its schedule and its next fire time after ``now``."""
        return [
            (name, self.specs[name], trigger.get_next_fire_time(None, now))
            for name, trigger in self.triggers.items()
        ]

    async def run_due(self, now: datetime, only: str | None = None) -> list[RunResult]:
        """Run every job (or ``only`` one) whose latest fire time up to ``now`` has not run."""
        results = []
        catch_up = timedelta(hours=self.services.settings.rhythm.catch_up_hours)
        known = await self.services.store.jobs.last_fire_times()
        for name, trigger in self.triggers.items():
            if only is not None and name != only:
                continue
            last = known.get(name)
            window = now - catch_up - timedelta(microseconds=1)
            if last is not None:
                upcoming = self._next_after(name, trigger, last)
                if upcoming is None or upcoming > now:
                    continue  # the common case: nothing due, one cached look
            if last is not None and last >= window:
                due = fire_times(trigger, last, now)
            else:
                if last is not None:
                    missed = fire_times(trigger, last, window)
                    if missed:
                        log.warning(
                            "job %s missed %d run(s) from %s to %s while nobody ran jobs; "
                            "older than schedule.catch_up_hours, not run "
                            "(use `sitrep schedule run`)",
                            name,
                            len(missed),
                            missed[0],
                            missed[-1],
                        )
                due = fire_times(trigger, window, now)
            if not due:
                continue
            if len(due) > 1:
                log.warning(
                    "job %s: %d runs came due at once; only the latest (%s) runs",
                    name,
                    len(due),
                    due[-1],
                )
            result = await self.run(name, due[-1], late=now - due[-1] > LATE_AFTER)
            if result is not None:
                results.append(result)
        return results

    def _next_after(self, name: str, trigger: BaseTrigger, last: datetime) -> datetime | None:
        """The first fire time after ``last``, remembered while ``last`` stays the same."""
        cached = self._next.get(name)
        if cached is None or cached[0] != last:
            cached = (last, trigger.get_next_fire_time(None, last + timedelta(microseconds=1)))
            self._next[name] = cached
        return cached[1]

    async def recover(self) -> list[RunResult]:
        """Run again what a process that died was running (the outbox keys keep it once)."""
        results = []
        for run in await self.services.store.jobs.interrupted():
            if run.job not in self.jobs:
                continue
            log.warning("job %s for %s was interrupted; running it again", run.job, run.fire_time)
            result = await self.run(run.job, run.fire_time, manual=True)
            if result is not None:
                results.append(result)
        return results

    async def run(
        self, name: str, at: datetime, *, late: bool = False, manual: bool = False
    ) -> RunResult | None:
        """Run one job for the fire time ``at``; None if it ran for that time already.

        ``manual`` (``sitrep schedule run``) runs it whatever the record says; what it sends
        is still sent once, by the idempotency keys.
        """
        job = self.jobs.get(name)
        if job is None:
            raise KeyError(name)
        store = self.services.store
        clock = self.services.clock
        if not await store.jobs.claim(name, at, clock.now(), late=late, force=manual):
            log.info("job %s for %s ran already; not again", name, at)
            return None
        local = at.astimezone(self.services.settings.timezone)
        if late:
            log.warning("job %s due at %s runs late, now", name, f"{local:%Y-%m-%d %H:%M}")
        try:
            summary = await job.run(self.services, at)
        except Exception as exc:
            log.exception("job %s for %s failed", name, f"{local:%Y-%m-%d %H:%M}")
            await store.jobs.finish(name, at, "failed", repr(exc), clock.now())
            return RunResult(name, at, "failed", repr(exc), late)
        await store.jobs.finish(name, at, "done", summary, clock.now())
        log.info("job %s (%s): %s", name, f"{local:%Y-%m-%d %H:%M}", summary)
        if self.on_outbox is not None:
            self.on_outbox()
        return RunResult(name, at, "done", summary, late)


class Leadership:
    """Which process runs the jobs: PostgreSQL's session advisory lock, held on a dedicated
    connection for as long as the process runs; any SQLite process (there is one)."""

    def __init__(self, engine: AsyncEngine, key: int = LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._conn: AsyncConnection | None = None
        self.held = False

    async def acquire(self) -> bool:
        if self._engine.dialect.name != "postgresql":
            self.held = True
            return True
        if self.held and await self._alive():
            return True
        await self._close()
        conn = await self._engine.connect()
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        got = bool(
            (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})
            ).scalar_one()
        )
        if got:
            self._conn = conn
        else:
            await conn.close()
        self.held = got
        return got

    async def _alive(self) -> bool:
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            return True
        except Exception:
            log.exception("the connection holding the scheduler lock was lost")
            self.held = False
            return False

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except Exception:
                log.exception("closing the scheduler lock's connection failed")

    async def release(self) -> None:
        if self._conn is not None and self.held:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            except Exception:
                log.exception("releasing the scheduler lock failed (closing frees it)")
        self.held = False
        await self._close()


class Scheduler:
    """The live service's timer: start after the channels, stop before them."""

    def __init__(
        self,
        services: Services,
        on_outbox: Callable[[], None] | None = None,
        retry_seconds: float = RETRY_LEAD_SECONDS,
    ) -> None:
        self.runner = JobRunner(services, on_outbox=on_outbox)
        self._services = services
        self._leader = Leadership(services.store.engine)
        self._retry = retry_seconds
        self._aps: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()  # set once this process runs the jobs

    async def start(self) -> None:
        if not self._services.settings.rhythm.enabled:
            log.info("the schedule is off (schedule.enabled = false)")
            return
        self._task = asyncio.create_task(self._lead(), name="scheduler")
        self._task.add_done_callback(_log_failure)

    async def _lead(self) -> None:
        told = False
        while not await self._leader.acquire():
            if not told:
                log.info("another process runs the scheduled jobs; waiting to take over")
                told = True
            await asyncio.sleep(self._retry)
        log.info("this process runs the scheduled jobs")
        runner = self.runner
        await runner.recover()
        await runner.run_due(self._services.clock.now())  # what was missed, late, once
        aps = AsyncIOScheduler(timezone=self._services.settings.timezone)
        for name, trigger in runner.triggers.items():
            aps.add_job(
                self._fire,
                trigger,
                args=[name],
                id=name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        aps.start()
        self._aps = aps
        self.ready.set()
        for name, spec, at in runner.next_runs(self._services.clock.now()):
            log.info("job %s (%s): next run %s", name, spec, at)

    async def _fire(self, name: str) -> None:
        if not await self._leader.acquire():
            log.warning("job %s not run: another process holds the scheduler lock now", name)
            return
        await self.runner.run_due(self._services.clock.now(), only=name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        await self._leader.release()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the scheduler stopped: %r", task.exception(), exc_info=task.exception())
