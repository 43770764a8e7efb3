"""The monthly giao ban of each commune and the conclusions recorded after it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ConclusionRow, MeetingRow, UnitRow


@dataclass(frozen=True)
class Meeting:
    id: int
    unit_id: int
    month: str
    scheduled_at: datetime
    status: str  # proposed | confirmed
    confirmed_by: int | None


@dataclass(frozen=True)
class Conclusion:
    id: int
    meeting_id: int
    unit_id: int
    village_id: int | None
    village_name: str | None
    text: str
    due_on: date | None
    status: str  # open | done
    created_at: datetime


def _meeting(row: MeetingRow) -> Meeting:
    return Meeting(row.id, row.unit_id, row.month, row.scheduled_at, row.status, row.confirmed_by)


class MeetingRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def ensure(
        self, unit_id: int, month: str, scheduled_at: datetime, now: datetime
    ) -> Meeting:
        """The commune's meeting of ``month``, created as proposed if there is none yet."""
        found = await self.of_month(unit_id, month)
        if found is not None:
            return found
        try:
            async with self._sessions.begin() as session:
                row = MeetingRow(
                    unit_id=unit_id,
                    month=month,
                    scheduled_at=scheduled_at,
                    status="proposed",
                    created_at=now,
                )
                session.add(row)
                await session.flush()
                return _meeting(row)
        except IntegrityError:
            found = await self.of_month(unit_id, month)
            if found is None:
                raise
            return found

    async def of_month(self, unit_id: int, month: str) -> Meeting | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(MeetingRow).where(MeetingRow.unit_id == unit_id, MeetingRow.month == month)
            )
            return _meeting(row) if row else None

    async def get(self, meeting_id: int) -> Meeting | None:
        async with self._sessions() as session:
            row = await session.get(MeetingRow, meeting_id)
            return _meeting(row) if row else None

    async def latest(self, unit_id: int, before: datetime | None = None) -> Meeting | None:
        """The commune's newest meeting (scheduled before ``before``, if given)."""
        async with self._sessions() as session:
            query = select(MeetingRow).where(MeetingRow.unit_id == unit_id)
            if before is not None:
                query = query.where(MeetingRow.scheduled_at < before)
            row = await session.scalar(query.order_by(MeetingRow.scheduled_at.desc()).limit(1))
            return _meeting(row) if row else None

    async def confirm(
        self, meeting_id: int, member_id: int, scheduled_at: datetime, now: datetime
    ) -> Meeting:
        async with self._sessions.begin() as session:
            row = await session.get(MeetingRow, meeting_id)
            if row is None:
                raise LookupError(f"no meeting {meeting_id}")
            row.scheduled_at = scheduled_at
            row.status = "confirmed"
            row.confirmed_by = member_id
            row.confirmed_at = now
            return _meeting(row)

    async def in_scope(self, scope_path: str, since: datetime, until: datetime) -> list[Meeting]:
        """Meetings of the communes under a scope scheduled in [since, until)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(MeetingRow)
                .join(UnitRow, UnitRow.id == MeetingRow.unit_id)
                .where(
                    UnitRow.path.startswith(scope_path),
                    MeetingRow.scheduled_at >= since,
                    MeetingRow.scheduled_at < until,
                )
                .order_by(MeetingRow.scheduled_at)
            )
            return [_meeting(r) for r in rows]

    # --- conclusions -------------------------------------------------------------------

    async def add_conclusion(
        self,
        meeting: Meeting,
        village_id: int | None,
        text: str,
        due_on: date | None,
        member_id: int,
        now: datetime,
    ) -> Conclusion:
        async with self._sessions.begin() as session:
            row = ConclusionRow(
                meeting_id=meeting.id,
                unit_id=meeting.unit_id,
                village_id=village_id,
                text=text,
                due_on=due_on,
                status="open",
                created_by=member_id,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            conclusion_id = row.id
        found = await self.conclusions(ids=[conclusion_id])
        return found[0]

    async def conclusions(
        self,
        *,
        unit_id: int | None = None,
        meeting_ids: Sequence[int] | None = None,
        ids: Sequence[int] | None = None,
        open_only: bool = False,
    ) -> list[Conclusion]:
        async with self._sessions() as session:
            query = select(ConclusionRow, UnitRow.name).outerjoin(
                UnitRow, UnitRow.id == ConclusionRow.village_id
            )
            if unit_id is not None:
                query = query.where(ConclusionRow.unit_id == unit_id)
            if meeting_ids is not None:
                query = query.where(ConclusionRow.meeting_id.in_(list(meeting_ids)))
            if ids is not None:
                query = query.where(ConclusionRow.id.in_(list(ids)))
            if open_only:
                query = query.where(ConclusionRow.status == "open")
            rows = await session.execute(query.order_by(ConclusionRow.id))
            return [
                Conclusion(
                    r.id,
                    r.meeting_id,
                    r.unit_id,
                    r.village_id,
                    name,
                    r.text,
                    r.due_on,
                    r.status,
                    r.created_at,
                )
                for r, name in rows.all()
            ]

    async def close_conclusion(self, conclusion_id: int, unit_id: int, now: datetime) -> bool:
        """Mark a commune's conclusion done; False if there is no such open one."""
        async with self._sessions.begin() as session:
            done = await session.execute(
                update(ConclusionRow)
                .where(
                    ConclusionRow.id == conclusion_id,
                    ConclusionRow.unit_id == unit_id,
                    ConclusionRow.status == "open",
                )
                .values(status="done", done_at=now)
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]
