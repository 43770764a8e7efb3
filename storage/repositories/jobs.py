"""Runs of scheduled jobs, one row per job and fire time: what ran, when, and how it went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import JobRunRow


@dataclass(frozen=True)
class JobRun:
    job: str
    fire_time: datetime
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | done | failed
    late: bool
    manual: bool
    summary: str


def _run(row: JobRunRow) -> JobRun:
    return JobRun(
        row.job,
        row.fire_time,
        row.started_at,
        row.finished_at,
        row.status,
        row.late,
        row.manual,
        row.summary,
    )


class JobRunRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def last_fire_time(self, job: str) -> datetime | None:
        """The newest fire time this job was run (or started) for."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(func.max(JobRunRow.fire_time)).where(JobRunRow.job == job)
            )
            return found if isinstance(found, datetime) else None

    async def last_fire_times(self) -> dict[str, datetime]:
        """Each job's newest fire time, in one query."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(JobRunRow.job, func.max(JobRunRow.fire_time)).group_by(JobRunRow.job)
            )
            found: dict[str, datetime] = {}
            for job, at in rows.all():
                if isinstance(at, datetime):
                    found[job] = at
                elif isinstance(at, str):  # SQLite's max() returns the stored text
                    found[job] = _parse(at)
            return found

    async def claim(
        self, job: str, fire_time: datetime, now: datetime, *, late: bool, force: bool = False
    ) -> bool:
        """Record that the job starts for ``fire_time``; False if it ran (or runs) already.

        ``force`` (a run by hand) takes the row over whatever it says.
        """
        try:
            async with self._sessions.begin() as session:
                session.add(
                    JobRunRow(
                        job=job,
                        fire_time=fire_time,
                        started_at=now,
                        status="running",
                        late=late,
                        manual=force,
                        summary="",
                    )
                )
            return True
        except IntegrityError:
            if not force:
                return False
        async with self._sessions.begin() as session:
            await session.execute(
                update(JobRunRow)
                .where(JobRunRow.job == job, JobRunRow.fire_time == fire_time)
                .values(started_at=now, status="running", manual=True, finished_at=None)
            )
        return True

    async def finish(
        self, job: str, fire_time: datetime, status: str, summary: str, now: datetime
    ) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(JobRunRow)
                .where(JobRunRow.job == job, JobRunRow.fire_time == fire_time)
                .values(status=status, summary=summary[:2000], finished_at=now)
            )

    async def interrupted(self) -> list[JobRun]:
        """Runs started and never finished: the process running them died."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(JobRunRow)
                .where(JobRunRow.status == "running")
                .order_by(JobRunRow.fire_time, JobRunRow.id)
            )
            return [_run(r) for r in rows]

    async def last_runs(self) -> dict[str, JobRun]:
        """Each job's newest run."""
        async with self._sessions() as session:
            newest = (
                select(JobRunRow.job, func.max(JobRunRow.fire_time).label("at"))
                .group_by(JobRunRow.job)
                .subquery()
            )
            rows = await session.scalars(
                select(JobRunRow).join(
                    newest, (newest.c.job == JobRunRow.job) & (newest.c.at == JobRunRow.fire_time)
                )
            )
            return {r.job: _run(r) for r in rows}

    async def runs(self, job: str | None = None) -> list[JobRun]:
        """Every run (of one job), oldest first; for tests and the command line."""
        async with self._sessions() as session:
            query = select(JobRunRow)
            if job is not None:
                query = query.where(JobRunRow.job == job)
            rows = await session.scalars(query.order_by(JobRunRow.fire_time, JobRunRow.id))
            return [_run(r) for r in rows]


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
