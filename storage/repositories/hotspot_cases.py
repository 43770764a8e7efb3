"""The handling of cases (urgent reports and hotspots): status, escalation deadline, and the
history of who did what. Mixed into ``HotspotRepository``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import CaseEventRow, HotspotRow, MemberRow, ReportRow

REPORT, HOTSPOT = "report", "hotspot"
OPEN = ("new", "reopened")  # not acknowledged yet


@dataclass(frozen=True)
class Case:
    """A report or a hotspot as its handling sees it."""

    kind: str  # REPORT | HOTSPOT
    id: int
    status: str
    unit_id: int
    due_at: datetime | None
    escalation: int
    urgent: bool
    cycle: int = 0


@dataclass(frozen=True)
class CaseEvent:
    id: int
    member_id: int | None
    member_name: str
    action: str
    status: str
    note: str
    at: datetime


def _model(kind: str) -> type[ReportRow] | type[HotspotRow]:
    return ReportRow if kind == REPORT else HotspotRow


class CaseQueries:
    _sessions: async_sessionmaker[AsyncSession]

    # --- cases --------------------------------------------------------------------------

    async def case(self, kind: str, case_id: int) -> Case | None:
        async with self._sessions() as session:
            if kind == REPORT:
                report = await session.get(ReportRow, case_id)
                if report is None:
                    return None
                urgent = report.kind == "urgent" or report.due_at is not None
                return Case(
                    REPORT,
                    report.id,
                    report.status,
                    report.unit_id,
                    report.due_at,
                    report.escalation,
                    urgent,
                )
            row = await session.get(HotspotRow, case_id)
            if row is None:
                return None
            return Case(
                HOTSPOT,
                row.id,
                row.status,
                row.unit_id,
                row.due_at,
                row.escalation,
                row.urgent,
                row.cycle,
            )

    async def open_case(self, kind: str, case_id: int, due_at: datetime, now: datetime) -> bool:
        """Start the escalation clock of a case nobody has acknowledged; False if running."""
        model = _model(kind)
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(model)
                .where(model.id == case_id, model.status.in_(OPEN), model.due_at.is_(None))
                .values(due_at=due_at, escalation=0)
            )
            changed = bool(getattr(result, "rowcount", 0))
            if changed and kind == HOTSPOT:
                await session.execute(
                    update(HotspotRow).where(HotspotRow.id == case_id).values(alerted_at=now)
                )
            return changed

    async def change_status(
        self,
        kind: str,
        case_id: int,
        *,
        member_id: int | None,
        action: str,
        to: str,
        allowed_from: Sequence[str],
        note: str,
        now: datetime,
    ) -> bool:
        """Record ``action`` by a member, and move the case to ``to`` if it is in one of
        ``allowed_from``. The event is recorded either way (two leaders acknowledging at once
        are both in the history); True if the status changed."""
        model = _model(kind)
        values: dict[str, Any] = {"status": to}
        if to in ("acknowledged", "handling", "resolved"):
            values["due_at"] = None
        if to == "resolved":
            values["resolved_at"] = now
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(model)
                .where(model.id == case_id, model.status.in_(list(allowed_from)))
                .values(**values)
            )
            changed = bool(getattr(result, "rowcount", 0))
            if changed and to in ("acknowledged", "handling"):
                await session.execute(
                    update(model)
                    .where(model.id == case_id, model.acknowledged_at.is_(None))
                    .values(acknowledged_at=now)
                )
            status = (
                to
                if changed
                else await session.scalar(select(model.status).where(model.id == case_id))
            )
            session.add(
                CaseEventRow(
                    report_id=case_id if kind == REPORT else None,
                    hotspot_id=case_id if kind == HOTSPOT else None,
                    member_id=member_id,
                    action=action,
                    status=str(status),
                    note=note,
                    at=now,
                )
            )
            return changed

    async def reopen_reports(
        self, report_ids: Sequence[int], since: datetime, now: datetime
    ) -> list[int]:
        """Reopen the urgent reports among ``report_ids`` resolved since ``since``."""
        if not report_ids:
            return []
        async with self._sessions.begin() as session:
            found = list(
                await session.scalars(
                    select(ReportRow.id).where(
                        ReportRow.id.in_(list(report_ids)),
                        ReportRow.status == "resolved",
                        ReportRow.resolved_at >= since,
                    )
                )
            )
            if found:
                await session.execute(
                    update(ReportRow)
                    .where(ReportRow.id.in_(found))
                    .values(status="reopened", acknowledged_at=None, due_at=None, escalation=0)
                )
                for report_id in found:
                    session.add(
                        CaseEventRow(
                            report_id=report_id, action="reopen", status="reopened", note="", at=now
                        )
                    )
            return found

    async def history(self, kind: str, case_id: int) -> list[CaseEvent]:
        column = CaseEventRow.report_id if kind == REPORT else CaseEventRow.hotspot_id
        async with self._sessions() as session:
            rows = await session.execute(
                select(CaseEventRow, MemberRow.display_name)
                .outerjoin(MemberRow, MemberRow.id == CaseEventRow.member_id)
                .where(column == case_id)
                .order_by(CaseEventRow.at, CaseEventRow.id)
            )
            return [
                CaseEvent(e.id, e.member_id, name or "", e.action, e.status, e.note, e.at)
                for e, name in rows.all()
            ]

    async def due(self, now: datetime, limit: int = 500) -> list[Case]:
        """Cases whose escalation deadline has passed, earliest first."""
        cases: list[Case] = []
        async with self._sessions() as session:
            reports = await session.scalars(
                select(ReportRow)
                .where(ReportRow.due_at.is_not(None), ReportRow.due_at <= now)
                .order_by(ReportRow.due_at)
                .limit(limit)
            )
            cases.extend(
                Case(REPORT, r.id, r.status, r.unit_id, r.due_at, r.escalation, True)
                for r in reports
            )
            spots = await session.scalars(
                select(HotspotRow)
                .where(HotspotRow.due_at.is_not(None), HotspotRow.due_at <= now)
                .order_by(HotspotRow.due_at)
                .limit(limit)
            )
            cases.extend(
                Case(HOTSPOT, h.id, h.status, h.unit_id, h.due_at, h.escalation, h.urgent, h.cycle)
                for h in spots
            )
        return sorted(cases, key=lambda c: (c.due_at or now, c.kind, c.id))

    async def escalate(
        self, case: Case, step: int, next_due: datetime | None, note: str, now: datetime
    ) -> bool:
        """Move a case one step up, unless another run did it first (its deadline moved)."""
        model = _model(case.kind)
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(model)
                .where(model.id == case.id, model.due_at == case.due_at, model.status.in_(OPEN))
                .values(escalation=step, due_at=next_due)
            )
            if not getattr(result, "rowcount", 0):
                return False
            session.add(
                CaseEventRow(
                    report_id=case.id if case.kind == REPORT else None,
                    hotspot_id=case.id if case.kind == HOTSPOT else None,
                    action="escalate",
                    status=case.status,
                    note=note,
                    at=now,
                )
            )
            return True
