"""Invitation codes: generated with an unambiguous alphabet, stored only as a hash."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.settings import DomainSettings
from storage.records import Role, Unit
from storage.store import Store

# No 0/O, 1/I/L: codes are read aloud and typed on small phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
_CODE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


class InvitationError(Exception):
    """The invitation cannot be made: wrong unit for the role, bad numbers."""


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(typed: str) -> str:
    """ "abcd-2345 " -> "ABCD2345" """
    return re.sub(r"[\s\-_.]", "", typed).upper()


def is_code(typed: str) -> bool:
    return bool(_CODE.match(normalize_code(typed)))


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def check_role_unit(role: Role, unit: Unit, settings: DomainSettings) -> None:
    """Reporters belong to villages, leaders to communes; officers above villages."""
    levels = settings.levels
    if role == Role.REPORTER and unit.level != levels.reporter:
        raise InvitationError(
            f"a reporter belongs to a unit of level {levels.reporter!r}; "
            f"{unit.code} is {unit.level!r}"
        )
    if role == Role.LEADER and unit.level != levels.leader:
        raise InvitationError(
            f"a leader belongs to a unit of level {levels.leader!r}; {unit.code} is {unit.level!r}"
        )
    if role == Role.OFFICER and unit.level == levels.reporter:
        raise InvitationError(f"an officer belongs to a unit above {levels.reporter!r} level")


@dataclass(frozen=True)
class IssuedInvitation:
    code: str
    role: Role
    unit: Unit
    uses: int
    expires_at: datetime


async def issue(
    store: Store,
    settings: DomainSettings,
    *,
    role: Role,
    unit: Unit,
    uses: int,
    valid_for: timedelta,
    now: datetime,
    member_id: int | None = None,
) -> IssuedInvitation:
    if uses < 1:
        raise InvitationError("--uses must be at least 1")
    if valid_for <= timedelta(0):
        raise InvitationError("--expires must be in the future")
    check_role_unit(role, unit, settings)
    code = new_code()
    await store.members.create_invitation(
        hash_code(code), role, unit.id, uses, now + valid_for, now, member_id=member_id
    )
    return IssuedInvitation(code, role, unit, uses, now + valid_for)


def parse_duration(text: str) -> timedelta:
    """ "7d", "12h", "30m" -> timedelta"""
    found = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text.lower())
    if not found:
        raise InvitationError(f"not a duration: {text!r} (use e.g. 7d, 12h, 30m)")
    amount, unit = int(found.group(1)), found.group(2)
    return {
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "m": timedelta(minutes=amount),
    }[unit]
