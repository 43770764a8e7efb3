"""Conversation state and drafts, one row per (channel, chat)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ConversationRow
from storage.records import Conversation


class ConversationRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, channel: str, chat_id: str) -> Conversation | None:
        async with self._sessions() as session:
            row = await session.get(ConversationRow, (channel, chat_id))
            if row is None:
                return None
            return Conversation(row.state, dict(row.data), row.updated_at, row.reminded_at)

    async def stale(self, before: datetime) -> list[tuple[str, str, Conversation]]:
        """Conversations untouched since ``before`` whose owner has not been reminded."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ConversationRow).where(
                    ConversationRow.updated_at < before, ConversationRow.reminded_at.is_(None)
                )
            )
            return [
                (r.channel, r.chat_id, Conversation(r.state, dict(r.data), r.updated_at, None))
                for r in rows
            ]

    async def mark_reminded(
        self, channel: str, chat_id: str, state: str, data: dict[str, Any], now: datetime
    ) -> None:
        """Record the reminder and the state it leaves the chat in (the draft kept aside)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(ConversationRow)
                .where(ConversationRow.channel == channel, ConversationRow.chat_id == chat_id)
                .values(reminded_at=now, state=state, data=data)
            )
