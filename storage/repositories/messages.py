"""The inbox of incoming messages and the outbox of outgoing ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import InboxRow, OutboxRow
from storage.records import OutboxMessage


@dataclass(frozen=True)
class OutboxEntry:
    idem_key: str
    channel: str
    chat_id: str
    member_id: int | None
    payload: dict[str, Any]
    priority: int = 10


class MessageRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def receive(
        self,
        channel: str,
        platform_id: str,
        chat_id: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> int | None:
        """Store an incoming message; None if this platform id was stored before."""
        try:
            async with self._sessions.begin() as session:
                row = InboxRow(
                    channel=channel,
                    platform_id=platform_id,
                    chat_id=chat_id,
                    payload=payload,
                    received_at=now,
                )
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:
            return None

    async def done(self, inbox_id: int, now: datetime, error: str | None = None) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboxRow)
                .where(InboxRow.id == inbox_id)
                .values(processed_at=now, error=error)
            )

    async def unprocessed(self, channel: str | None = None) -> list[tuple[int, dict[str, Any]]]:
        """Messages stored but not handled (a crash mid-way), oldest first."""
        async with self._sessions() as session:
            query = select(InboxRow).where(InboxRow.processed_at.is_(None))
            if channel is not None:
                query = query.where(InboxRow.channel == channel)
            rows = await session.scalars(query.order_by(InboxRow.id))
            return [(r.id, dict(r.payload)) for r in rows]

    async def enqueue(self, entries: Sequence[OutboxEntry], now: datetime) -> int:
        """Add messages to the outbox; an idempotency key seen before is skipped."""
        added = 0
        for entry in entries:
            try:
                async with self._sessions.begin() as session:
                    exists = await session.scalar(
                        select(OutboxRow.id).where(OutboxRow.idem_key == entry.idem_key)
                    )
                    if exists is not None:
                        continue
                    session.add(
                        OutboxRow(
                            idem_key=entry.idem_key,
                            channel=entry.channel,
                            chat_id=entry.chat_id,
                            member_id=entry.member_id,
                            payload=entry.payload,
                            priority=entry.priority,
                            status="pending",
                            attempts=0,
                            created_at=now,
                        )
                    )
                added += 1
            except IntegrityError:
                continue  # enqueued concurrently by another worker: the key is the guard
        return added

    async def pending(self, channel: str, limit: int = 100) -> list[OutboxMessage]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.status == "pending", OutboxRow.channel == channel)
                .order_by(OutboxRow.priority, OutboxRow.id)
                .limit(limit)
            )
            return [
                OutboxMessage(
                    r.id, r.idem_key, r.channel, r.chat_id, r.member_id, dict(r.payload), r.attempts
                )
                for r in rows
            ]

    async def mark(
        self, outbox_id: int, status: str, now: datetime, error: str | None = None
    ) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == outbox_id)
                .values(
                    status=status,
                    sent_at=now if status == "sent" else None,
                    last_error=error,
                    attempts=OutboxRow.attempts + 1,
                )
            )
