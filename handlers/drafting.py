"""Pieces the report flows share: where a report is for, attachments, alerts, formatting."""

from __future__ import annotations

from typing import Any

from handlers.matching import fold
from handlers.messages import Button, Outgoing, Reply
from handlers.services import Services
from handlers.turn import Turn
from handlers.weeks import Week, local_time
from storage.records import Member, Report, ReportItem, Role, Unit

ALERT_PRIORITY = 5


def start_draft(turn: Turn, flow: str) -> dict[str, Any]:
    """The fields every report draft starts with: the village and the week, in local time."""
    week = Week.of(turn.msg.sent_at, turn.services.settings.timezone)
    return {
        "flow": flow,
        "member_id": turn.me.id,
        "unit_id": turn.me.unit.id,
        "unit_name": turn.me.unit.name,
        "week": week.key,
        "week_label": week.label(),
        "sent_at": turn.msg.sent_at.isoformat(),
    }


def attachments_of(turn: Turn) -> list[tuple[str, str]]:
    return [(a.kind, a.ref) for a in turn.msg.attachments]


def attachment_note(turn: Turn) -> str:
    """ "ảnh", "ghi âm", "vị trí" for the acknowledgement of a file sent alone."""
    kinds = {a.kind for a in turn.msg.attachments}
    return ", ".join(turn.t(f"attachment.{k}") for k in sorted(kinds))


def is_denunciation_text(text: str) -> bool:
    return "to cao" in fold(text)


def people_label(turn: Turn | Services, people: int | None) -> str:
    texts = turn.services.texts if isinstance(turn, Turn) else turn.texts
    if people is None:
        return texts("report.people_unknown")
    return texts("report.people", n=f"{people:,}".replace(",", "."))


def reporter_label(
    services: Services, viewer: Member | None, report: Report, item: ReportItem | None = None
) -> str:
    """Who sent the report (or one entry of it), or "giữ bí mật" on a denunciation for anyone
    below admin but the reporter; ``viewer`` None (an export) never sees it."""
    reporter_id, name = (
        (item.reporter_id, item.reporter_name)
        if item
        else (report.reporter_id, report.reporter_name)
    )
    if report.is_denunciation and (
        viewer is None or (viewer.role != Role.ADMIN and viewer.id != reporter_id)
    ):
        return services.texts("report.confidential")
    return name


def quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return f'"{text[:limit]}{"…" if len(text) > limit else ""}"'


async def urgent_alerts(services: Services, report: Report, commune: str) -> list[Outgoing]:
    """One alert per leader of the commune and officer above, never to the reporter."""
    recipients = await services.store.members.covering(
        report.unit.path, {Role.LEADER, Role.OFFICER}
    )
    item = next((i for i in report.items if i.topic), None)
    topic = services.settings.topic(item.topic).short if item and item.topic else ""
    photos = sum(1 for a in report.attachments if a.kind == "photo")
    details = [topic, people_label(services, report.people)]
    if photos:
        details.append(services.texts("report.photos", n=photos))
    out = []
    for member in recipients:
        if member.id == report.reporter_id:
            continue
        text = services.texts(
            "alert.urgent",
            unit=report.unit.name,
            commune=commune,
            time=local_time(report.sent_at, services.settings.timezone),
            details=" · ".join(d for d in details if d),
            quote=quote(item.text if item else ""),
            reporter=reporter_label(services, member, report),
            number=report.id,
        )
        buttons = (
            (
                # a command, so that it can be typed where there are no buttons (Zalo):
                # "/xuly 12 tiepnhan" acknowledges, like the hotspot buttons do
                Button(services.texts("hotspots.buttons.ack"), f"/xuly {report.id} tiepnhan"),
                Button(services.texts("buttons.details"), f"/xem {report.id}"),
            ),
        )
        out.append(
            Outgoing(
                idem_key=f"alert:{report.id}:{member.id}",
                member_id=member.id,
                reply=Reply(text, buttons),
                priority=ALERT_PRIORITY,
            )
        )
    return out


async def commune_name(services: Services, unit: Unit) -> str:
    """The name of the leader-level unit above (or at) a unit, for "lãnh đạo xã Đồng Văn"."""
    leader = services.settings.levels.leader
    if unit.level == leader:
        return unit.name
    above = await services.store.units.ancestors(unit)
    return next((u.name for u in reversed(above) if u.level == leader), "")
