"""The audit log: who read or changed what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AuditRow


class AuditRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def write(
        self, member_id: int | None, action: str, detail: dict[str, Any], now: datetime
    ) -> None:
        async with self._sessions.begin() as session:
            session.add(AuditRow(at=now, member_id=member_id, action=action, detail=detail))

    async def entries(
        self, action: str | None = None
    ) -> list[tuple[int | None, str, dict[str, Any]]]:
        async with self._sessions() as session:
            query = select(AuditRow).order_by(AuditRow.id)
            if action is not None:
                query = query.where(AuditRow.action == action)
            rows = await session.scalars(query)
            return [(r.member_id, r.action, dict(r.detail)) for r in rows]
