"""The inbox of incoming messages and the outbox of outgoing ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ConversationRow, InboxRow, OutboxRow
from storage.records import OutboxMessage


@dataclass(frozen=True)
class OutboxEntry:
    idem_key: str
    channel: str
    chat_id: str
    member_id: int | None
    payload: dict[str, Any]
    priority: int = 10
    # held until then (quiet hours): the sender does not see the row before
    not_before: datetime | None = None


@dataclass(frozen=True)
class ConversationChange:
    """What a turn did to the chat's conversation: a new state and draft, or none left."""

    channel: str
    chat_id: str
    state: str | None  # None: the conversation is over, delete it
    data: dict[str, Any]


def _outbox_message(r: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        r.id,
        r.idem_key,
        r.channel,
        r.chat_id,
        r.member_id,
        dict(r.payload),
        r.attempts,
        r.ambiguous,
        r.parts_sent,
    )


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
                row = _inbox_row(channel, platform_id, chat_id, payload, now)
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:
            return None

    async def receive_many(
        self, channel: str, items: Sequence[tuple[str, str, dict[str, Any]]], now: datetime
    ) -> list[int | None]:
        """Store a batch of incoming messages (platform id, chat id, payload) in one
        transaction; None for each one stored before."""
        ids = [platform_id for platform_id, _, _ in items]
        try:
            async with self._sessions.begin() as session:
                seen = set(
                    await session.scalars(
                        select(InboxRow.platform_id).where(
                            InboxRow.channel == channel, InboxRow.platform_id.in_(ids)
                        )
                    )
                )
                rows: list[InboxRow | None] = []
                for platform_id, chat_id, payload in items:
                    if platform_id in seen:
                        rows.append(None)
                        continue
                    seen.add(platform_id)
                    row = _inbox_row(channel, platform_id, chat_id, payload, now)
                    session.add(row)
                    rows.append(row)
                await session.flush()
                return [row.id if row is not None else None for row in rows]
        except IntegrityError:
            # stored meanwhile by another receiver: one at a time, each deduplicated
            return [await self.receive(channel, p, c, d, now) for p, c, d in items]

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
        """Add messages to the outbox in one transaction; a key seen before is skipped."""
        try:
            async with self._sessions.begin() as session:
                return await _add_entries(session, entries, now)
        except IntegrityError:
            # another worker enqueued one of them meanwhile: the key is the guard, one by one
            added = 0
            for entry in entries:
                try:
                    async with self._sessions.begin() as session:
                        added += await _add_entries(session, [entry], now)
                except IntegrityError:
                    continue
            return added

    async def finish_turn(
        self,
        inbox_id: int,
        change: ConversationChange | None,
        entries: Sequence[OutboxEntry],
        now: datetime,
    ) -> None:
        """In one transaction: the conversation's new state, the messages out, the inbox mark.

        A crash before it leaves the message unhandled (it is replayed); after it, all is kept.
        """
        async with self._sessions.begin() as session:
            if change is not None:
                row = await session.get(ConversationRow, (change.channel, change.chat_id))
                if change.state is None:
                    if row is not None:
                        await session.delete(row)
                elif row is None:
                    session.add(
                        ConversationRow(
                            channel=change.channel,
                            chat_id=change.chat_id,
                            state=change.state,
                            data=change.data,
                            updated_at=now,
                            reminded_at=None,
                        )
                    )
                else:
                    row.state = change.state
                    row.data = change.data
                    row.updated_at = now
                    row.reminded_at = None
            await _add_entries(session, entries, now)
            await session.execute(
                update(InboxRow).where(InboxRow.id == inbox_id).values(processed_at=now)
            )

    async def pending(self, channel: str, limit: int = 100) -> list[OutboxMessage]:
        """Messages not yet sent, replies first, then oldest first."""
        return await self.due(channel, None, limit)

    async def due(
        self, channel: str, now: datetime | None, limit: int = 100
    ) -> list[OutboxMessage]:
        """Pending messages whose retry time (if any) has come, in sending order."""
        async with self._sessions() as session:
            query = select(OutboxRow).where(
                OutboxRow.status == "pending", OutboxRow.channel == channel
            )
            if now is not None:
                query = query.where(
                    or_(OutboxRow.next_attempt_at.is_(None), OutboxRow.next_attempt_at <= now)
                )
            rows = await session.scalars(
                query.order_by(OutboxRow.priority, OutboxRow.id).limit(limit)
            )
            return [_outbox_message(r) for r in rows]

    async def next_retry_at(self, channel: str) -> datetime | None:
        async with self._sessions() as session:
            found = await session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(
                    OutboxRow.status == "pending", OutboxRow.channel == channel
                )
            )
            return found if isinstance(found, datetime) else None

    async def mark(
        self, outbox_id: int, status: str, now: datetime, error: str | None = None
    ) -> None:
        """Record the end of a message: "sent" or "failed" (with the reason)."""
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

    async def progress(
        self,
        outbox_id: int,
        parts_sent: int,
        platform_message_id: str | None,
        done: bool,
        now: datetime,
    ) -> None:
        """Record delivered pieces of a message (all of them when ``done``)."""
        values: dict[str, Any] = {
            "parts_sent": parts_sent,
            "platform_message_id": platform_message_id,
        }
        if done:
            values.update(status="sent", sent_at=now, attempts=OutboxRow.attempts + 1)
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxRow).where(OutboxRow.id == outbox_id).values(**values)
            )

    async def retry_later(
        self,
        outbox_id: int,
        at: datetime,
        error: str,
        *,
        ambiguous: bool = False,
        count: bool = True,
    ) -> None:
        """Leave the message pending until ``at``; ``count`` False for a pause (429)."""
        values: dict[str, Any] = {"next_attempt_at": at, "last_error": error}
        if count:
            values["attempts"] = OutboxRow.attempts + 1
        if ambiguous:
            values["ambiguous"] = OutboxRow.ambiguous + 1
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxRow).where(OutboxRow.id == outbox_id).values(**values)
            )

    async def last_platform_message(self, channel: str, chat_id: str) -> str | None:
        """The platform id of the last message sent to a chat (to edit it in place)."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(OutboxRow.platform_message_id)
                .where(
                    OutboxRow.channel == channel,
                    OutboxRow.chat_id == chat_id,
                    OutboxRow.platform_message_id.is_not(None),
                )
                .order_by(OutboxRow.sent_at.desc(), OutboxRow.id.desc())
                .limit(1)
            )
            return str(found) if found is not None else None

    async def status_counts(self, channel: str) -> dict[str, int]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(OutboxRow.status, func.count(OutboxRow.id))
                .where(OutboxRow.channel == channel)
                .group_by(OutboxRow.status)
            )
            return {status: int(n) for status, n in rows.all()}

    async def ambiguous_count(self, channel: str) -> int:
        async with self._sessions() as session:
            found = await session.scalar(
                select(func.coalesce(func.sum(OutboxRow.ambiguous), 0)).where(
                    OutboxRow.channel == channel
                )
            )
            return int(found or 0)


async def _add_entries(session: AsyncSession, entries: Sequence[OutboxEntry], now: datetime) -> int:
    """Add the entries whose idempotency key is new; returns how many."""
    if not entries:
        return 0
    keys = [e.idem_key for e in entries]
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        known.update(
            await session.scalars(
                select(OutboxRow.idem_key).where(OutboxRow.idem_key.in_(keys[start : start + 500]))
            )
        )
    added = 0
    for entry in entries:
        if entry.idem_key not in known:
            known.add(entry.idem_key)
            session.add(_outbox_row(entry, now))
            added += 1
    await session.flush()
    return added


def _outbox_row(entry: OutboxEntry, now: datetime) -> OutboxRow:
    return OutboxRow(
        idem_key=entry.idem_key,
        channel=entry.channel,
        chat_id=entry.chat_id,
        member_id=entry.member_id,
        payload=entry.payload,
        priority=entry.priority,
        status="pending",
        attempts=0,
        ambiguous=0,
        parts_sent=0,
        created_at=now,
        next_attempt_at=entry.not_before,
    )


def _inbox_row(
    channel: str, platform_id: str, chat_id: str, payload: dict[str, Any], now: datetime
) -> InboxRow:
    return InboxRow(
        channel=channel,
        platform_id=platform_id,
        chat_id=chat_id,
        payload=payload,
        received_at=now,
    )
