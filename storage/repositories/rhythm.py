"""Reads the scheduled jobs need: who is in a scope and can be reached, who reported when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import (
    IdentityRow,
    MemberRow,
    OutboxRow,
    ReportItemRow,
    ReportRow,
    UnitRow,
)
from storage.records import Identity, Member, ReportKind, Role
from storage.repositories.units import to_unit


@dataclass(frozen=True)
class Recipient:
    """A member and the chat to write to; ``identity`` None: nowhere reachable."""

    member: Member
    identity: Identity | None

    @property
    def reachable(self) -> bool:
        return self.member.active and self.identity is not None


@dataclass(frozen=True)
class WeeklySent:
    report_id: int
    sent_at: datetime


class RhythmQueries:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def recipients(
        self,
        scope_path: str,
        roles: Sequence[Role],
        *,
        unit_ids: Sequence[int] | None = None,
    ) -> list[Recipient]:
        """Members of ``roles`` in units under the scope (or in ``unit_ids``), with the chat
        each used last among those that still reach them; members who left are included
        (``member.active`` False) so that callers can count them."""
        async with self._sessions() as session:
            query = (
                select(MemberRow, UnitRow)
                .join(UnitRow, UnitRow.id == MemberRow.unit_id)
                .where(MemberRow.role.in_([r.value for r in roles]))
            )
            if unit_ids is not None:
                query = query.where(MemberRow.unit_id.in_(list(unit_ids)))
            else:
                query = query.where(UnitRow.path.startswith(scope_path))
            rows = (await session.execute(query.order_by(MemberRow.id))).all()
            ids = [m.id for m, _ in rows]
            identities: dict[int, Identity] = {}
            for start in range(0, len(ids), 500):
                found = await session.scalars(
                    select(IdentityRow)
                    .where(
                        IdentityRow.member_id.in_(ids[start : start + 500]),
                        IdentityRow.unreachable_at.is_(None),
                    )
                    .order_by(IdentityRow.member_id, IdentityRow.last_seen_at.desc())
                )
                for row in found:
                    identities.setdefault(
                        row.member_id,
                        Identity(row.member_id, row.channel, row.user_id, row.chat_id),
                    )
            return [
                Recipient(
                    Member(m.id, m.display_name, Role(m.role), to_unit(u), m.active),
                    identities.get(m.id),
                )
                for m, u in rows
            ]

    async def weekly_sent(self, scope_path: str, week: str) -> dict[int, WeeklySent]:
        """The weekly reports of ``week`` under the scope by unit: number and time sent."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(ReportRow.unit_id, ReportRow.id, ReportRow.sent_at)
                .join(UnitRow, UnitRow.id == ReportRow.unit_id)
                .where(
                    ReportRow.kind == ReportKind.WEEKLY.value,
                    ReportRow.week == week,
                    UnitRow.path.startswith(scope_path),
                )
            )
            return {unit: WeeklySent(rid, sent) for unit, rid, sent in rows.all()}

    async def issue_times(
        self, scope_path: str, since: datetime, until: datetime
    ) -> list[tuple[int, str, datetime]]:
        """(report, topic, time sent) of every issue under the scope sent in [since, until)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(ReportItemRow.report_id, ReportItemRow.topic, ReportItemRow.sent_at)
                .join(ReportRow, ReportRow.id == ReportItemRow.report_id)
                .join(UnitRow, UnitRow.id == ReportRow.unit_id)
                .where(
                    ReportItemRow.kind == "issue",
                    ReportItemRow.sent_at >= since,
                    ReportItemRow.sent_at < until,
                    UnitRow.path.startswith(scope_path),
                )
            )
            return [(rid, topic or "", sent) for rid, topic, sent in rows.all()]

    async def last_reminded_week(self, member_id: int) -> str | None:
        """The ISO week of the newest weekly reminder put in the outbox for a member."""
        async with self._sessions() as session:
            key = await session.scalar(
                select(OutboxRow.idem_key)
                .where(OutboxRow.idem_key.startswith(f"remind:{member_id}:"))
                .order_by(OutboxRow.id.desc())
                .limit(1)
            )
            return str(key).split(":")[2] if key else None
