"""Hotspots and the report items counted in them; the handling of cases is in
``hotspot_cases`` (mixed in)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import CaseEventRow, HotspotReportRow, HotspotRow
from storage.repositories.hotspot_cases import (
    HOTSPOT,
    OPEN,
    REPORT,
    Case,
    CaseEvent,
    CaseQueries,
)


@dataclass(frozen=True)
class Hotspot:
    id: int
    unit_id: int
    unit_path: str
    topic: str
    title: str
    keywords: dict[str, int]
    state: dict[str, Any]
    signals: dict[str, Any]
    score: float
    level: str | None
    peak_level: str | None
    reports: int
    urgent: bool
    status: str
    cycle: int
    first_at: datetime
    last_at: datetime
    scored_at: datetime
    alerted_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    due_at: datetime | None
    escalation: int


@dataclass
class GroupChange:
    """What to do with a new report item: which hotspot (None: a new one) gets which values."""

    hotspot_id: int | None
    values: dict[str, Any]
    event: dict[str, Any]
    history: list[tuple[str, str]] = field(default_factory=list)  # (action, status) by the system


Decide = Callable[[list[Hotspot]], GroupChange]


def _hotspot(r: HotspotRow) -> Hotspot:
    return Hotspot(
        r.id,
        r.unit_id,
        r.unit_path,
        r.topic,
        r.title,
        dict(r.keywords),
        dict(r.state),
        dict(r.signals),
        r.score,
        r.level,
        r.peak_level,
        r.reports,
        r.urgent,
        r.status,
        r.cycle,
        r.first_at,
        r.last_at,
        r.scored_at,
        r.alerted_at,
        r.acknowledged_at,
        r.resolved_at,
        r.due_at,
        r.escalation,
    )


class HotspotRepository(CaseQueries):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # --- grouping -----------------------------------------------------------------------

    async def linked_items(self, report_id: int) -> set[int]:
        """The items of a report already counted in a hotspot."""
        async with self._sessions() as session:
            found = await session.scalars(
                select(HotspotReportRow.item_id).where(HotspotReportRow.report_id == report_id)
            )
            return set(found)

    async def group(
        self,
        *,
        unit_id: int,
        topic: str,
        since: datetime,
        reopen_since: datetime,
        item_id: int,
        report_id: int,
        sent_at: datetime,
        now: datetime,
        decide: Decide,
    ) -> tuple[Hotspot, Hotspot | None] | None:
        """Count one report item in a hotspot, in one transaction with the candidates locked.

        ``decide`` gets the candidate hotspots (same commune and topic, recent, not resolved
        long ago) and says which one takes the item. Returns (after, before) — ``before`` None
        for a new hotspot — or None if the item was counted before.
        """
        async with self._sessions.begin() as session:
            seen = await session.scalar(
                select(HotspotReportRow.id).where(HotspotReportRow.item_id == item_id)
            )
            if seen is not None:
                return None
            rows = list(
                await session.scalars(
                    select(HotspotRow)
                    .where(
                        HotspotRow.unit_id == unit_id,
                        HotspotRow.topic == topic,
                        HotspotRow.last_at >= since,
                        or_(
                            HotspotRow.status != "resolved", HotspotRow.resolved_at >= reopen_since
                        ),
                    )
                    .order_by(HotspotRow.id)
                    .with_for_update()
                )
            )
            change = decide([_hotspot(r) for r in rows])
            before: Hotspot | None = None
            if change.hotspot_id is None:
                row = HotspotRow(
                    created_at=now, status="new", cycle=0, escalation=0, **change.values
                )
                session.add(row)
            else:
                row = next(r for r in rows if r.id == change.hotspot_id)
                before = _hotspot(row)
                for key, value in change.values.items():
                    setattr(row, key, value)
            row.updated_at = now
            await session.flush()
            session.add(
                HotspotReportRow(
                    hotspot_id=row.id,
                    report_id=report_id,
                    item_id=item_id,
                    event=change.event,
                    sent_at=sent_at,
                )
            )
            for action, status in change.history:
                session.add(
                    CaseEventRow(hotspot_id=row.id, action=action, status=status, note="", at=now)
                )
            await session.flush()
            return _hotspot(row), before

    # --- reading ------------------------------------------------------------------------

    async def get(self, hotspot_id: int) -> Hotspot | None:
        async with self._sessions() as session:
            row = await session.get(HotspotRow, hotspot_id)
            return _hotspot(row) if row else None

    async def top(
        self,
        scope_path: str,
        *,
        since: datetime,
        min_score: float,
        topic: str | None = None,
        limit: int = 10,
    ) -> list[Hotspot]:
        """The highest-scored hotspots under a scope with a report since ``since``."""
        async with self._sessions() as session:
            query = select(HotspotRow).where(
                HotspotRow.last_at >= since, HotspotRow.score >= min_score
            )
            if scope_path != "/":
                query = query.where(HotspotRow.unit_path.startswith(scope_path))
            if topic is not None:
                query = query.where(HotspotRow.topic == topic)
            rows = await session.scalars(
                query.order_by(HotspotRow.score.desc(), HotspotRow.id).limit(limit)
            )
            return [_hotspot(r) for r in rows]

    async def events(self, hotspot_id: int) -> list[tuple[int, dict[str, Any]]]:
        """(report number, event) of every report item counted in the hotspot, oldest first."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(HotspotReportRow.report_id, HotspotReportRow.event)
                .where(HotspotReportRow.hotspot_id == hotspot_id)
                .order_by(HotspotReportRow.sent_at, HotspotReportRow.id)
            )
            return [(int(r), dict(e)) for r, e in rows.all()]

    async def events_many(
        self, hotspot_ids: Sequence[int], since: datetime
    ) -> dict[int, list[tuple[int, dict[str, Any]]]]:
        """For each hotspot, (report number, event) of its items sent since ``since``."""
        found: dict[int, list[tuple[int, dict[str, Any]]]] = {h: [] for h in hotspot_ids}
        if not hotspot_ids:
            return found
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    HotspotReportRow.hotspot_id, HotspotReportRow.report_id, HotspotReportRow.event
                )
                .where(
                    HotspotReportRow.hotspot_id.in_(list(hotspot_ids)),
                    HotspotReportRow.sent_at >= since,
                )
                .order_by(HotspotReportRow.sent_at, HotspotReportRow.id)
            )
            for hotspot_id, report_id, event in rows.all():
                found[int(hotspot_id)].append((int(report_id), dict(event)))
        return found

    async def of_report(self, report_id: int) -> list[int]:
        """The hotspots that count a report."""
        async with self._sessions() as session:
            found = await session.scalars(
                select(HotspotReportRow.hotspot_id)
                .where(HotspotReportRow.report_id == report_id)
                .distinct()
            )
            return sorted(found)

    async def active(self, since: datetime, after_id: int = 0, limit: int = 1000) -> list[Hotspot]:
        """Hotspots with a report since ``since`` or still at a level, by id (for re-ageing)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(HotspotRow)
                .where(
                    HotspotRow.id > after_id,
                    or_(HotspotRow.last_at >= since, HotspotRow.level.is_not(None)),
                )
                .order_by(HotspotRow.id)
                .limit(limit)
            )
            return [_hotspot(r) for r in rows]

    async def save_scores(
        self, scores: Sequence[tuple[int, float, str | None, dict[str, Any]]], now: datetime
    ) -> None:
        """Store re-aged scores: (id, score, level, signals)."""
        async with self._sessions.begin() as session:
            for hotspot_id, score, level, signals in scores:
                await session.execute(
                    update(HotspotRow)
                    .where(HotspotRow.id == hotspot_id)
                    .values(score=score, level=level, signals=signals, scored_at=now)
                )


__all__ = ["HOTSPOT", "OPEN", "REPORT", "Case", "CaseEvent", "GroupChange", "Hotspot"]
