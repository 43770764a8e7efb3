"""Plain domain objects the repositories return; no session or lazy loading behind them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    REPORTER = "reporter"
    LEADER = "leader"
    OFFICER = "officer"
    ADMIN = "admin"


class ReportKind(StrEnum):
    WEEKLY = "weekly"
    URGENT = "urgent"


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    path: str

    def contains(self, other: Unit) -> bool:
        """True if ``other`` is this unit or lies below it."""
        return other.path.startswith(self.path)


@dataclass(frozen=True)
class Member:
    id: int
    display_name: str
    role: Role
    unit: Unit
    active: bool


@dataclass(frozen=True)
class Identity:
    member_id: int
    channel: str
    user_id: str
    chat_id: str


@dataclass(frozen=True)
class Invitation:
    id: int
    role: Role
    unit_id: int
    member_id: int | None
    uses_left: int
    expires_at: datetime


@dataclass(frozen=True)
class ItemDraft:
    """One topic of a report as the conversation collected it."""

    topic: str
    text: str
    severity: str
    people: int | None
    attachments: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ReportItem:
    id: int
    kind: str
    topic: str | None
    severity: str | None
    people: int | None
    text: str
    reporter_id: int
    reporter_name: str
    sent_at: datetime


@dataclass(frozen=True)
class Attachment:
    kind: str
    ref: str
    item_id: int | None


@dataclass(frozen=True)
class Report:
    id: int
    kind: ReportKind
    unit: Unit
    reporter_id: int
    reporter_name: str
    week: str
    is_normal: bool
    severity: str
    people: int | None
    is_denunciation: bool
    place: str | None
    status: str
    sent_at: datetime
    stored_at: datetime
    items: tuple[ReportItem, ...]
    attachments: tuple[Attachment, ...]

    @property
    def topics(self) -> list[str]:
        seen: list[str] = []
        for item in self.items:
            if item.topic and item.topic not in seen:
                seen.append(item.topic)
        return seen


@dataclass(frozen=True)
class Conversation:
    state: str
    data: dict[str, Any]
    updated_at: datetime
    reminded_at: datetime | None


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    idem_key: str
    channel: str
    chat_id: str
    member_id: int | None
    payload: dict[str, Any]
    attempts: int
    ambiguous: int
    parts_sent: int
