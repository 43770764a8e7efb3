"""Reports: weekly (one per village and ISO week, amended by later submissions) and urgent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from storage.models import AttachmentRow, MemberRow, ReportItemRow, ReportRow, UnitRow
from storage.records import (
    Attachment,
    ItemDraft,
    Report,
    ReportItem,
    ReportKind,
)
from storage.repositories.units import to_unit


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submission: the report's number and whether it amended a week."""

    report_id: int
    amended: bool
    replayed: bool = False


@dataclass(frozen=True)
class TopicCount:
    topic: str
    severity: str
    reports: int
    people: int


class ReportRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], severity_order: Sequence[str]):
        self._sessions = sessions
        self._severity_order = list(severity_order)

    def _max_severity(self, codes: Sequence[str | None]) -> str:
        ranked = [self._severity_order.index(c) for c in codes if c in self._severity_order]
        return self._severity_order[max(ranked, default=0)]

    async def submit_weekly(
        self,
        *,
        unit_id: int,
        reporter_id: int,
        week: str,
        source: str,
        sent_at: datetime,
        now: datetime,
        items: Sequence[ItemDraft],
        denunciation: bool = False,
    ) -> Submitted:
        """Store a weekly report, or add to the village's report of that week.

        ``items`` empty means "nothing new". ``source`` identifies the message that completed
        the report: submitting the same source twice stores it once.
        """
        for attempt in (1, 2):
            try:
                return await self._submit_weekly(
                    unit_id, reporter_id, week, source, sent_at, now, items, denunciation
                )
            except IntegrityError:
                # Another reporter of the village created the week's report at the same time:
                # the second try finds it and amends it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _submit_weekly(
        self,
        unit_id: int,
        reporter_id: int,
        week: str,
        source: str,
        sent_at: datetime,
        now: datetime,
        items: Sequence[ItemDraft],
        denunciation: bool,
    ) -> Submitted:
        async with self._sessions.begin() as session:
            replay = await self._replayed(session, source)
            if replay is not None:
                return Submitted(replay, amended=False, replayed=True)
            key = f"{unit_id}:{week}"
            report = await session.scalar(
                select(ReportRow).where(ReportRow.weekly_key == key).with_for_update()
            )
            amended = report is not None
            if report is None:
                report = ReportRow(
                    kind=ReportKind.WEEKLY.value,
                    unit_id=unit_id,
                    reporter_id=reporter_id,
                    week=week,
                    weekly_key=key,
                    source=source,
                    is_normal=not items,
                    severity=self._max_severity([i.severity for i in items]),
                    people=max((i.people for i in items if i.people is not None), default=None),
                    is_denunciation=denunciation,
                    status="new",
                    sent_at=sent_at,
                    stored_at=now,
                    updated_at=now,
                )
                session.add(report)
                await session.flush()
            else:
                if items:
                    report.is_normal = False
                    report.severity = self._max_severity(
                        [report.severity, *(i.severity for i in items)]
                    )
                    people = [i.people for i in items if i.people is not None]
                    if report.people is not None:
                        people.append(report.people)
                    report.people = max(people, default=None)
                report.is_denunciation = report.is_denunciation or denunciation
                report.updated_at = now
            if not items:
                session.add(
                    ReportItemRow(
                        report_id=report.id,
                        reporter_id=reporter_id,
                        kind="normal",
                        text="",
                        source=f"{source}:0",
                        sent_at=sent_at,
                        stored_at=now,
                    )
                )
            for n, item in enumerate(items):
                await self._add_item(
                    session, report.id, reporter_id, item, f"{source}:{n}", sent_at, now
                )
            return Submitted(report.id, amended=amended)

    async def _replayed(self, session: AsyncSession, source: str) -> int | None:
        found = await session.scalar(select(ReportRow.id).where(ReportRow.source == source))
        if found is not None:
            return int(found)
        item = await session.scalar(
            select(ReportItemRow.report_id).where(ReportItemRow.source == f"{source}:0")
        )
        return int(item) if item is not None else None

    async def _add_item(
        self,
        session: AsyncSession,
        report_id: int,
        reporter_id: int,
        item: ItemDraft,
        source: str,
        sent_at: datetime,
        now: datetime,
    ) -> None:
        row = ReportItemRow(
            report_id=report_id,
            reporter_id=reporter_id,
            kind="issue",
            topic=item.topic,
            severity=item.severity,
            people=item.people,
            text=item.text,
            source=source,
            sent_at=sent_at,
            stored_at=now,
        )
        session.add(row)
        await session.flush()
        for n, (kind, ref) in enumerate(item.attachments):
            session.add(
                AttachmentRow(
                    report_id=report_id,
                    item_id=row.id,
                    kind=kind,
                    ref=ref,
                    source=f"{source}:a{n}",
                    stored_at=now,
                )
            )

    async def submit_urgent(
        self,
        *,
        unit_id: int,
        reporter_id: int,
        week: str,
        source: str,
        sent_at: datetime,
        now: datetime,
        item: ItemDraft,
        place: str | None,
        denunciation: bool,
    ) -> Submitted:
        async with self._sessions.begin() as session:
            replay = await self._replayed(session, source)
            if replay is not None:
                return Submitted(replay, amended=False, replayed=True)
            report = ReportRow(
                kind=ReportKind.URGENT.value,
                unit_id=unit_id,
                reporter_id=reporter_id,
                week=week,
                weekly_key=None,
                source=source,
                is_normal=False,
                severity=item.severity,
                people=item.people,
                is_denunciation=denunciation,
                place=place,
                status="new",
                sent_at=sent_at,
                stored_at=now,
                updated_at=now,
            )
            session.add(report)
            await session.flush()
            await self._add_item(session, report.id, reporter_id, item, f"{source}:0", sent_at, now)
            return Submitted(report.id, amended=False)

    async def add_to(
        self,
        report_id: int,
        *,
        reporter_id: int,
        source: str,
        text: str,
        attachments: Sequence[tuple[str, str]],
        sent_at: datetime,
        now: datetime,
    ) -> bool:
        """Attach more text or files to a report; False if this message was stored already."""
        async with self._sessions.begin() as session:
            exists = await session.scalar(
                select(func.count(ReportItemRow.id)).where(ReportItemRow.source == source)
            )
            if exists:
                return False
            row = ReportItemRow(
                report_id=report_id,
                reporter_id=reporter_id,
                kind="addition",
                text=text,
                source=source,
                sent_at=sent_at,
                stored_at=now,
            )
            session.add(row)
            await session.flush()
            for n, (kind, ref) in enumerate(attachments):
                session.add(
                    AttachmentRow(
                        report_id=report_id,
                        item_id=row.id,
                        kind=kind,
                        ref=ref,
                        source=f"{source}:a{n}",
                        stored_at=now,
                    )
                )
            report = await session.get(ReportRow, report_id)
            if report is not None:
                report.updated_at = now
            return True

    # --- reading -------------------------------------------------------------------------

    def _query(self) -> Select[ReportRow, UnitRow, str]:
        return (
            select(ReportRow, UnitRow, MemberRow.display_name)
            .join(UnitRow, UnitRow.id == ReportRow.unit_id)
            .join(MemberRow, MemberRow.id == ReportRow.reporter_id)
            .options(
                selectinload(ReportRow.items).selectinload(ReportItemRow.reporter),
                selectinload(ReportRow.attachments),
            )
        )

    @staticmethod
    def _report(row: ReportRow, unit: UnitRow, reporter_name: str) -> Report:
        return Report(
            id=row.id,
            kind=ReportKind(row.kind),
            unit=to_unit(unit),
            reporter_id=row.reporter_id,
            reporter_name=reporter_name,
            week=row.week,
            is_normal=row.is_normal,
            severity=row.severity,
            people=row.people,
            is_denunciation=row.is_denunciation,
            place=row.place,
            status=row.status,
            sent_at=row.sent_at,
            stored_at=row.stored_at,
            items=tuple(
                ReportItem(
                    i.id,
                    i.kind,
                    i.topic,
                    i.severity,
                    i.people,
                    i.text,
                    i.reporter_id,
                    i.reporter.display_name,
                    i.sent_at,
                )
                for i in row.items
            ),
            attachments=tuple(Attachment(a.kind, a.ref, a.item_id) for a in row.attachments),
        )

    async def get(self, report_id: int) -> Report | None:
        async with self._sessions() as session:
            found = (await session.execute(self._query().where(ReportRow.id == report_id))).first()
            return self._report(found[0], found[1], found[2]) if found else None

    async def recent_by_reporter(self, reporter_id: int, limit: int) -> list[Report]:
        """The reports a member filed or added to, newest first."""
        async with self._sessions() as session:
            touched = select(ReportItemRow.report_id).where(
                ReportItemRow.reporter_id == reporter_id
            )
            rows = await session.execute(
                self._query()
                .where(ReportRow.id.in_(touched))
                .order_by(ReportRow.updated_at.desc(), ReportRow.id.desc())
                .limit(limit)
            )
            return [self._report(r[0], r[1], r[2]) for r in rows.all()]

    async def weekly_id(self, unit_id: int, week: str) -> int | None:
        """The number of the village's weekly report for ``week``, if there is one."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(ReportRow.id).where(ReportRow.weekly_key == f"{unit_id}:{week}")
            )
            return int(found) if found is not None else None

    async def reported_units(self, scope_path: str, weeks: Sequence[str]) -> dict[str, set[int]]:
        """For each week, the ids of units under ``scope_path`` with a weekly report."""
        result: dict[str, set[int]] = {w: set() for w in weeks}
        async with self._sessions() as session:
            rows = await session.execute(
                select(ReportRow.week, ReportRow.unit_id)
                .join(UnitRow, UnitRow.id == ReportRow.unit_id)
                .where(
                    ReportRow.kind == ReportKind.WEEKLY.value,
                    ReportRow.week.in_(list(weeks)),
                    UnitRow.path.startswith(scope_path),
                )
            )
            for week, unit_id in rows.all():
                result[week].add(unit_id)
        return result

    async def topic_counts(
        self, scope_path: str, since: datetime, until: datetime
    ) -> list[TopicCount]:
        """Issues by topic and severity for reports sent in [since, until) under the scope."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    ReportItemRow.topic,
                    ReportItemRow.severity,
                    func.count(func.distinct(ReportItemRow.report_id)),
                    func.coalesce(func.sum(ReportItemRow.people), 0),
                )
                .join(ReportRow, ReportRow.id == ReportItemRow.report_id)
                .join(UnitRow, UnitRow.id == ReportRow.unit_id)
                .where(
                    ReportItemRow.kind == "issue",
                    ReportItemRow.sent_at >= since,
                    ReportItemRow.sent_at < until,
                    UnitRow.path.startswith(scope_path),
                )
                .group_by(ReportItemRow.topic, ReportItemRow.severity)
            )
            return [
                TopicCount(t or "", s or "", int(n or 0), int(p or 0)) for t, s, n, p in rows.all()
            ]

    async def in_scope(
        self,
        scope_path: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: ReportKind | None = None,
        limit: int | None = None,
    ) -> list[Report]:
        """Reports under the scope, newest first."""
        async with self._sessions() as session:
            query = self._query().where(UnitRow.path.startswith(scope_path))
            if since is not None:
                query = query.where(ReportRow.sent_at >= since)
            if until is not None:
                query = query.where(ReportRow.sent_at < until)
            if kind is not None:
                query = query.where(ReportRow.kind == kind.value)
            query = query.order_by(ReportRow.sent_at.desc(), ReportRow.id.desc())
            if limit is not None:
                query = query.limit(limit)
            rows = await session.execute(query)
            return [self._report(r[0], r[1], r[2]) for r in rows.all()]
