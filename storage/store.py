"""The store: one engine, migrated at start-up, and the repositories built on it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine, migrate, session_factory
from storage.repositories.audit import AuditRepository
from storage.repositories.conversations import ConversationRepository
from storage.repositories.hotspots import HotspotRepository
from storage.repositories.jobs import JobRunRepository
from storage.repositories.meetings import MeetingRepository
from storage.repositories.members import MemberRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.reports import ReportRepository
from storage.repositories.rhythm import RhythmQueries
from storage.repositories.units import UnitRepository


class Store:
    def __init__(self, engine: AsyncEngine, severity_order: Sequence[str]) -> None:
        self.engine = engine
        sessions = session_factory(engine)
        self.units = UnitRepository(sessions)
        self.members = MemberRepository(sessions)
        self.reports = ReportRepository(sessions, severity_order)
        self.conversations = ConversationRepository(sessions)
        self.messages = MessageRepository(sessions)
        self.audit = AuditRepository(sessions)
        self.hotspots = HotspotRepository(sessions)
        self.jobs = JobRunRepository(sessions)
        self.meetings = MeetingRepository(sessions)
        self.rhythm = RhythmQueries(sessions)

    @classmethod
    async def open(cls, url: str, severity_order: Sequence[str]) -> Store:
        """Connect, apply pending migrations, and return the store."""
        engine = create_engine(url)
        try:
            await migrate(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, severity_order)

    async def close(self) -> None:
        await self.engine.dispose()
