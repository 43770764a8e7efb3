"""Members, their messenger identities, invitations and wrong-code lockouts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from storage.models import FailedCodeRow, IdentityRow, InvitationRow, MemberRow, UnitRow
from storage.records import Identity, Invitation, Member, Role
from storage.repositories.units import to_unit

SEEN_GRANULARITY = timedelta(minutes=5)


def _member(row: MemberRow, unit: UnitRow) -> Member:
    return Member(row.id, row.display_name, Role(row.role), to_unit(unit), row.active)


class MemberRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def by_identity(self, channel: str, user_id: str) -> Member | None:
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(MemberRow, UnitRow)
                    .join(IdentityRow, IdentityRow.member_id == MemberRow.id)
                    .join(UnitRow, UnitRow.id == MemberRow.unit_id)
                    .where(IdentityRow.channel == channel, IdentityRow.user_id == user_id)
                )
            ).first()
            return _member(*found) if found else None

    async def by_id(self, member_id: int) -> Member | None:
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(MemberRow, UnitRow)
                    .join(UnitRow, UnitRow.id == MemberRow.unit_id)
                    .where(MemberRow.id == member_id)
                )
            ).first()
            return _member(*found) if found else None

    async def identify(
        self, channel: str, user_id: str, chat_id: str, now: datetime
    ) -> Member | None:
        """The member behind a messenger account, remembering when and where they wrote.

        The time is written only when it moved by more than ``SEEN_GRANULARITY`` (or the chat
        changed, or the account was unreachable): one read per message in the common case.
        """
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(IdentityRow, MemberRow, UnitRow)
                    .join(MemberRow, MemberRow.id == IdentityRow.member_id)
                    .join(UnitRow, UnitRow.id == MemberRow.unit_id)
                    .where(IdentityRow.channel == channel, IdentityRow.user_id == user_id)
                )
            ).first()
            if found is None:
                return None
            identity, member, unit = found
            if (
                identity.chat_id != chat_id
                or identity.unreachable_at is not None
                or identity.last_seen_at < now - SEEN_GRANULARITY
            ):
                identity.chat_id = chat_id
                identity.unreachable_at = None
                identity.last_seen_at = now
                await session.commit()
            return _member(member, unit)

    async def mark_unreachable(self, channel: str, chat_id: str, now: datetime) -> list[Member]:
        """The platform refuses to deliver to this chat: remember it; returns whose it was."""
        async with self._sessions.begin() as session:
            rows = await session.execute(
                select(IdentityRow, MemberRow, UnitRow)
                .join(MemberRow, MemberRow.id == IdentityRow.member_id)
                .join(UnitRow, UnitRow.id == MemberRow.unit_id)
                .where(IdentityRow.channel == channel, IdentityRow.chat_id == chat_id)
            )
            found = []
            for identity, member, unit in rows.all():
                if identity.unreachable_at is None:
                    identity.unreachable_at = now
                    found.append(_member(member, unit))
            return found

    async def covering(self, unit_path: str, roles: set[Role]) -> list[Member]:
        """Active members of ``roles`` whose unit is ``unit_path`` or one of its ancestors."""
        ids = [int(p) for p in unit_path.strip("/").split("/") if p]
        async with self._sessions() as session:
            rows = await session.execute(
                select(MemberRow, UnitRow)
                .join(UnitRow, UnitRow.id == MemberRow.unit_id)
                .where(
                    MemberRow.unit_id.in_(ids),
                    MemberRow.role.in_([r.value for r in roles]),
                    MemberRow.active.is_(True),
                )
                .order_by(MemberRow.id)
            )
            return [_member(m, u) for m, u in rows.all()]

    async def latest_identity(self, member_id: int) -> Identity | None:
        """The identity the member used last, preferring ones that can be reached."""
        return (await self.latest_identities([member_id])).get(member_id)

    async def latest_identities(
        self,
        member_ids: Sequence[int],
        channels: Collection[str] | None = None,
        prefer: str | None = None,
    ) -> dict[int, Identity]:
        """Each member's identity to write to, in one query.

        Reachable identities first; then, among them, one on ``prefer`` (a channel name) when
        given; then the one used last. With ``channels`` (the channels running now) an
        identity on one of them is taken before any other; a member with none there keeps
        their usual identity (the message waits until that channel runs again).
        """
        if not member_ids:
            return {}
        async with self._sessions() as session:
            rows = await session.scalars(
                select(IdentityRow)
                .where(IdentityRow.member_id.in_(set(member_ids)))
                .order_by(
                    IdentityRow.member_id,
                    IdentityRow.unreachable_at.is_not(None),
                    IdentityRow.last_seen_at.desc(),
                    IdentityRow.id.desc(),
                )
            )
            candidates: dict[int, list[IdentityRow]] = {}
            for row in rows:
                candidates.setdefault(row.member_id, []).append(row)
        found: dict[int, Identity] = {}
        for member_id, options in candidates.items():
            reachable = [r for r in options if r.unreachable_at is None] or options

            def rank(row: IdentityRow) -> tuple[bool, bool]:
                running = channels is None or row.channel in channels
                return (not running, prefer is not None and row.channel != prefer)

            best = min(reachable, key=rank)  # min() keeps the first (latest) among equals
            found[member_id] = Identity(best.member_id, best.channel, best.user_id, best.chat_id)
        return found

    async def identities(self, member_id: int) -> list[Identity]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(IdentityRow).where(IdentityRow.member_id == member_id)
            )
            return [Identity(r.member_id, r.channel, r.user_id, r.chat_id) for r in rows]

    async def all(self) -> list[Member]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(MemberRow, UnitRow)
                .join(UnitRow, UnitRow.id == MemberRow.unit_id)
                .options(selectinload(MemberRow.identities))
                .order_by(MemberRow.id)
            )
            return [_member(m, u) for m, u in rows.all()]

    # --- invitations -------------------------------------------------------------------

    async def create_invitation(
        self,
        code_hash: str,
        role: Role,
        unit_id: int,
        uses: int,
        expires_at: datetime,
        now: datetime,
        member_id: int | None = None,
    ) -> None:
        async with self._sessions.begin() as session:
            session.add(
                InvitationRow(
                    code_hash=code_hash,
                    role=role.value,
                    unit_id=unit_id,
                    member_id=member_id,
                    uses_left=uses,
                    expires_at=expires_at,
                    created_at=now,
                )
            )

    async def redeem(
        self,
        code_hash: str,
        channel: str,
        user_id: str,
        chat_id: str,
        display_name: str,
        now: datetime,
    ) -> Member | None:
        """Use one use of a valid code: link the identity to its member or to a new one.

        Returns None when the code is unknown, used up or expired.
        """
        async with self._sessions.begin() as session:
            invitation = await session.scalar(
                select(InvitationRow).where(InvitationRow.code_hash == code_hash)
            )
            if invitation is None or invitation.uses_left < 1 or invitation.expires_at <= now:
                return None
            # Decrement only if a use is still left: two chats racing for the last use.
            claimed = await session.execute(
                update(InvitationRow)
                .where(InvitationRow.id == invitation.id, InvitationRow.uses_left > 0)
                .values(uses_left=InvitationRow.uses_left - 1)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            member_id = invitation.member_id
            if member_id is None:
                member = MemberRow(
                    display_name=display_name,
                    role=invitation.role,
                    unit_id=invitation.unit_id,
                    active=True,
                    created_at=now,
                )
                session.add(member)
                await session.flush()
                member_id = member.id
            session.add(
                IdentityRow(
                    member_id=member_id,
                    channel=channel,
                    user_id=user_id,
                    chat_id=chat_id,
                    display_name=display_name,
                    created_at=now,
                    last_seen_at=now,
                )
            )
            found = (
                await session.execute(
                    select(MemberRow, UnitRow)
                    .join(UnitRow, UnitRow.id == MemberRow.unit_id)
                    .where(MemberRow.id == member_id)
                )
            ).one()
            return _member(*found)

    async def invitation(self, code_hash: str) -> Invitation | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(InvitationRow).where(InvitationRow.code_hash == code_hash)
            )
            if row is None:
                return None
            return Invitation(
                row.id, Role(row.role), row.unit_id, row.member_id, row.uses_left, row.expires_at
            )

    async def record_failed_code(self, channel: str, chat_id: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            session.add(FailedCodeRow(channel=channel, chat_id=chat_id, at=now))

    async def failed_codes_since(
        self, channel: str, chat_id: str, since: datetime
    ) -> list[datetime]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(FailedCodeRow.at)
                .where(
                    FailedCodeRow.channel == channel,
                    FailedCodeRow.chat_id == chat_id,
                    FailedCodeRow.at > since,
                )
                .order_by(FailedCodeRow.at)
            )
            return list(rows)

    async def clear_failed_codes(self, channel: str, chat_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(FailedCodeRow).where(
                    FailedCodeRow.channel == channel, FailedCodeRow.chat_id == chat_id
                )
            )

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count(MemberRow.id))) or 0)
