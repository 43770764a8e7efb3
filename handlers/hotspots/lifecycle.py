"""Handling a case (an urgent report or a hotspot): acknowledge, handle, resolve.

new → acknowledged → handling (who, what) → resolved (a note is required); reopened by new
reports (see detection). Every action is in the case's history with who and when; the
reporters are told in plain Vietnamese.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.errors import UserError
from handlers.hotspots.render import case_name, status_label
from handlers.messages import Outgoing, Reply
from handlers.queries import can_see
from handlers.services import Services
from storage.records import Member, Report, Role, Unit
from storage.repositories.hotspots import HOTSPOT, OPEN, REPORT, Hotspot

ACK, HANDLE, RESOLVE = "ack", "handle", "resolve"
ACTIVE = (*OPEN, "acknowledged", "handling")
# action -> (the status it leads to, the statuses it may start from)
MOVES = {
    ACK: ("acknowledged", OPEN),
    HANDLE: ("handling", ACTIVE),
    RESOLVE: ("resolved", ACTIVE),
}
NEEDS_NOTE = frozenset({HANDLE, RESOLVE})
TOLD_PRIORITY = 6
HANDLERS = frozenset({Role.LEADER, Role.OFFICER, Role.ADMIN})


@dataclass(frozen=True)
class Target:
    """A case as one member may act on it."""

    kind: str
    id: int
    unit: Unit  # the report's village, or the hotspot's commune
    report: Report | None = None
    hotspot: Hotspot | None = None

    @property
    def key(self) -> str:
        return f"{self.kind[0]}{self.id}"

    @property
    def topic(self) -> str:
        if self.hotspot is not None:
            return self.hotspot.topic
        return self.report.topics[0] if self.report and self.report.topics else ""

    @property
    def status(self) -> str:
        if self.hotspot is not None:
            return self.hotspot.status
        return self.report.status if self.report else ""


@dataclass(frozen=True)
class Outcome:
    changed: bool
    text: str
    outgoing: list[Outgoing]


def parse_key(key: str) -> tuple[str, int] | None:
    """ "r12" -> (report, 12); "h5" -> (hotspot, 5)."""
    kinds = {"r": REPORT, "h": HOTSPOT}
    if len(key) < 2 or key[0] not in kinds or not key[1:].isdigit():
        return None
    return kinds[key[0]], int(key[1:])


async def target(services: Services, member: Member, kind: str, case_id: int) -> Target:
    """The case, if the member may see and handle it; otherwise a plain "not found"."""
    store = services.store
    if member.role not in HANDLERS:
        raise UserError("errors.leaders_only")
    if kind == REPORT:
        report = await store.reports.get(case_id)
        if report is None or not can_see(member, report):
            raise UserError("hotspots.report_not_found", number=case_id)
        return Target(REPORT, case_id, report.unit, report=report)
    hotspot = await store.hotspots.get(case_id)
    commune = await store.units.by_id(hotspot.unit_id) if hotspot else None
    if hotspot is None or commune is None or not _covers(member, commune):
        raise UserError("hotspots.hotspot_not_found", number=case_id)
    return Target(HOTSPOT, case_id, commune, hotspot=hotspot)


def _covers(member: Member, unit: Unit) -> bool:
    return member.role == Role.ADMIN or member.unit.contains(unit)


async def act(
    services: Services, member: Member, case: Target, action: str, note: str, now: datetime
) -> Outcome:
    """Apply an action; a repeated acknowledgement is recorded and changes nothing."""
    note = " ".join(note.split())
    if action in NEEDS_NOTE and not note:
        raise UserError("hotspots.note_required")
    to, allowed = MOVES[action]
    texts = services.texts
    name = case_name(services, case.kind, case.id, case.topic)
    if action != ACK and case.status not in allowed:
        return Outcome(
            False,
            texts("hotspots.done.unchanged", case=name, status=status_label(texts, case.status)),
            [],
        )
    changed = await services.store.hotspots.change_status(
        case.kind,
        case.id,
        member_id=member.id,
        action=action,
        to=to,
        allowed_from=allowed,
        note=note,
        now=now,
    )
    if not changed:
        current = await services.store.hotspots.case(case.kind, case.id)
        status = current.status if current else case.status
        key = "hotspots.done.ack_again" if action == ACK else "hotspots.done.unchanged"
        return Outcome(False, texts(key, case=name, status=status_label(texts, status)), [])
    outgoing = await _tell(services, member, case, action, note, now)
    key = f"hotspots.done.{action}"
    text = texts(key, case=name)
    if outgoing:
        text += " " + texts("hotspots.done.told")
    return Outcome(True, text, outgoing)


def actor(services: Services, member: Member) -> str:
    return services.texts(f"hotspots.actor.{member.role.value}", unit=member.unit.name)


async def _tell(
    services: Services, member: Member, case: Target, action: str, note: str, now: datetime
) -> list[Outgoing]:
    """Tell the reporters: of each change of their urgent report; of a hotspot's resolution."""
    texts = services.texts
    who = actor(services, member)
    stamp = int(now.timestamp())
    if case.report is not None:
        report = case.report
        if report.reporter_id == member.id:
            return []
        text = texts(f"hotspots.told.{action}", actor=who, number=report.id, note=note)
        return [
            Outgoing(
                idem_key=f"case:r{report.id}:{action}:{stamp}",
                member_id=report.reporter_id,
                reply=Reply(text),
                priority=TOLD_PRIORITY,
            )
        ]
    if action != RESOLVE or case.hotspot is None:
        return []
    by_reporter: dict[int, set[int]] = {}
    for report_id, event in await services.store.hotspots.events(case.id):
        by_reporter.setdefault(int(event["reporter_id"]), set()).add(report_id)
    topic = services.settings.topic(case.topic).short if case.topic else ""
    out = []
    for reporter_id, numbers in sorted(by_reporter.items()):
        if reporter_id == member.id:
            continue
        text = texts(
            "hotspots.told.hotspot_resolved",
            topic=topic,
            commune=case.unit.name,
            numbers=", ".join(f"#{n}" for n in sorted(numbers)),
            note=note,
        )
        out.append(
            Outgoing(
                idem_key=f"case:h{case.id}:{case.hotspot.cycle}:resolve:{reporter_id}",
                member_id=reporter_id,
                reply=Reply(text),
                priority=TOLD_PRIORITY,
            )
        )
    return out
