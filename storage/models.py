"""SQLAlchemy 2 models: the tables of the service.

Times are stored as timezone-aware UTC datetimes. Every table is created by an Alembic
revision in ``storage/migrations``; change a model only together with a new revision.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


class UnitRow(Base):
    """A node of the administrative tree: province, commune, village, or any other level."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Materialised path of ids ("/1/5/17/"): a subtree is one LIKE prefix query.
    path: Mapped[str] = mapped_column(String(512), index=True)
    search_name: Mapped[str] = mapped_column(String(200), index=True)


class MemberRow(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    identities: Mapped[list[IdentityRow]] = relationship(back_populates="member")


class IdentityRow(Base):
    """One messenger account (channel + user id) of a member, and the chat to write to."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # set when the platform refuses to deliver (the person blocked the bot); cleared on contact
    unreachable_at: Mapped[datetime | None]

    member: Mapped[MemberRow] = relationship(back_populates="identities")


class InvitationRow(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # Set when the code links another channel to an existing member.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    uses_left: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]


class FailedCodeRow(Base):
    """A wrong invitation code typed in a chat; five in an hour lock the chat out."""

    __tablename__ = "failed_codes"
    __table_args__ = (Index("ix_failed_codes_chat", "channel", "chat_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class ReportRow(Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_unit_week", "unit_id", "week"),
        Index("ix_reports_week", "week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # weekly | urgent
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    week: Mapped[str] = mapped_column(String(8))  # ISO week in local time, "2026-W48"
    # "<unit id>:<week>" for weekly reports, NULL for urgent ones: one weekly report a village.
    weekly_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # The message that completed the report: a replayed message finds it instead of a copy.
    source: Mapped[str] = mapped_column(String(120), unique=True)
    is_normal: Mapped[bool] = mapped_column(Boolean, default=False)
    severity: Mapped[str] = mapped_column(String(16))
    people: Mapped[int | None] = mapped_column(Integer)
    is_denunciation: Mapped[bool] = mapped_column(Boolean, default=False)
    place: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="new")
    sent_at: Mapped[datetime]
    stored_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    # Case handling of urgent reports (revision 0002): escalation is due at ``due_at`` unless
    # someone acknowledges it first; ``escalation`` counts the levels already alerted.
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    escalation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    items: Mapped[list[ReportItemRow]] = relationship(
        back_populates="report", order_by="ReportItemRow.id"
    )
    attachments: Mapped[list[AttachmentRow]] = relationship(order_by="AttachmentRow.id")


class ReportItemRow(Base):
    """One topic of a report, or an addition/correction sent later to the same report."""

    __tablename__ = "report_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))  # issue | normal | addition
    topic: Mapped[str | None] = mapped_column(String(32), index=True)
    severity: Mapped[str | None] = mapped_column(String(16))
    people: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(120), unique=True)
    sent_at: Mapped[datetime]
    stored_at: Mapped[datetime]

    report: Mapped[ReportRow] = relationship(back_populates="items")
    reporter: Mapped[MemberRow] = relationship()


class AttachmentRow(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("report_items.id"))
    kind: Mapped[str] = mapped_column(String(16))  # photo | voice | location | document
    source: Mapped[str] = mapped_column(String(120), unique=True)
    ref: Mapped[str] = mapped_column(String(500))  # file path, platform file id or "lat,lon"
    stored_at: Mapped[datetime]


class ConversationRow(Base):
    """The state and draft of one chat, so that a restart resumes a half-filled report."""

    __tablename__ = "conversations"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None]


class InboxRow(Base):
    """Every incoming message, stored before it is handled."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "platform_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(Text)


class OutboxRow(Base):
    """Every outgoing message, stored before it is sent; the idempotency key makes it once.

    ``status``: pending -> sent | failed. ``parts_sent`` counts the pieces of a long text
    already delivered; ``platform_message_id`` is the platform's id of the last piece.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "channel", "status", "priority", "id"),
        Index("ix_outbox_chat", "channel", "chat_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idem_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=10)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # a send that timed out may have gone through: retried once at most, and counted
    ambiguous: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- hotspots (revision 0002) ---------------------------------------------------------------


class HotspotRow(Base):
    """An issue in one place: reports on one topic in one commune, about the same matter.

    ``state`` is the running aggregate the score is computed from (handlers/hotspots/scoring);
    ``score`` and ``level`` are as of ``scored_at`` (a new report, or the daily re-ageing).
    """

    __tablename__ = "hotspots"
    __table_args__ = (
        Index("ix_hotspots_group", "unit_id", "topic", "last_at"),
        Index("ix_hotspots_rank", "last_at", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # the commune
    unit_path: Mapped[str] = mapped_column(String(512), index=True)
    topic: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    signals: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(16))
    peak_level: Mapped[str | None] = mapped_column(String(16))
    reports: Mapped[int] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="new")
    # Raised by each reopening: alerts of a new round are new messages.
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    scored_at: Mapped[datetime]
    alerted_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    escalation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HotspotReportRow(Base):
    """A report item counted in a hotspot, with what the score needs of it (``event``)."""

    __tablename__ = "hotspot_reports"
    __table_args__ = (Index("ix_hotspot_reports_hotspot", "hotspot_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hotspot_id: Mapped[int] = mapped_column(ForeignKey("hotspots.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    # one hotspot per report item: storing it again (a replayed message) counts it once
    item_id: Mapped[int] = mapped_column(ForeignKey("report_items.id"), unique=True)
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    sent_at: Mapped[datetime]


class CaseEventRow(Base):
    """One change in the handling of an urgent report or a hotspot: who, what, when."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    hotspot_id: Mapped[int | None] = mapped_column(ForeignKey("hotspots.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # the status after it
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


# --- the rhythm of the work (issue 5): job runs, giao ban meetings, their conclusions -----


class JobRunRow(Base):
    """One run of a scheduled job for one fire time: a restart knows what ran already."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "fire_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    fire_time: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")


class MeetingRow(Base):
    """A monthly giao ban of a commune's leaders with its village heads."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("unit_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    month: Mapped[str] = mapped_column(String(7))  # "2026-12", local time
    scheduled_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # proposed | confirmed
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ConclusionRow(Base):
    """A conclusion or assignment of a giao ban: which village, what, by when."""

    __tablename__ = "conclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the commune
    village_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # None: all
    text: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
