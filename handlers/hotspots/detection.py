"""Counting a stored report in its hotspot: grouping, scoring, reopening, the first alert.

Called once a report is stored (weekly or urgent). Each issue of the report joins the hotspot
of its commune and topic whose texts it shares enough words with, or starts a new one. The
work per report does not depend on the size of the database: a few candidate hotspots of one
commune and topic are read, and one is updated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from handlers.hotspots.hours import deadline
from handlers.hotspots.render import alert_text
from handlers.hotspots.scoring import Aggregate, Event, keywords, merge_keywords, overlap
from handlers.hotspots.settings import LEVELS
from handlers.matching import fold
from handlers.messages import Button, Outgoing, Reply
from handlers.services import Services
from storage.records import Report, ReportItem, Role, Unit
from storage.repositories.hotspots import OPEN, REPORT, GroupChange, Hotspot

log = logging.getLogger(__name__)

ALERT_PRIORITY = 5
TITLE_CHARS = 60
COMMUNE_CACHE = 20_000
_COMMUNES: dict[tuple[int, str], Unit | None] = {}


async def report_stored(services: Services, report: Report) -> list[Outgoing]:
    """Count a newly stored report in its hotspots; the alerts this causes, if any."""
    settings = services.settings
    now = services.clock.now()
    urgent_code = settings.urgent_severity.code
    if report.status in OPEN and any(i.severity == urgent_code for i in report.items):
        due = deadline(report.stored_at, True, settings.hotspots, settings.timezone)
        await services.store.hotspots.open_case(REPORT, report.id, due, now)
    items = [i for i in report.items if i.kind == "issue" and i.topic]
    if not items:
        return []
    commune = await commune_of(services, report.unit)
    if commune is None:
        log.warning(
            "report %d: no %s above unit %s", report.id, settings.levels.leader, report.unit.code
        )
        return []
    out: list[Outgoing] = []
    for item in items:  # an item counted before (a replayed message) is skipped by group()
        out.extend(await _count(services, report, item, commune, now))
    return out


async def commune_of(services: Services, unit: Unit) -> Unit | None:
    """The leader-level unit at or above ``unit`` (remembered by the unit's id and path: a
    unit that moves has a new path)."""
    leader = services.settings.levels.leader
    if unit.level == leader:
        return unit
    key = (unit.id, unit.path)
    if key in _COMMUNES:
        return _COMMUNES[key]
    above = await services.store.units.ancestors(unit)
    found = next((u for u in reversed(above) if u.level == leader), None)
    if len(_COMMUNES) >= COMMUNE_CACHE:
        _COMMUNES.clear()
    _COMMUNES[key] = found
    return found


def event_of(services: Services, report: Report, item: ReportItem) -> Event:
    settings = services.settings
    hs = settings.hotspots
    severity = item.severity or report.severity
    try:
        rank = settings.severity_rank(severity)
    except ValueError:
        rank = 0
    topic = item.topic or ""
    return Event(
        report_id=report.id,
        item_id=item.id,
        village_id=report.unit.id,
        reporter_id=item.reporter_id,
        severity_rank=rank,
        urgent=severity == settings.urgent_severity.code,
        people=item.people,
        complaint=report.is_denunciation or topic in hs.complaint_topics,
        sent_at=item.sent_at,
        week=report.week,
    )


def topic_words(services: Services, topic: str) -> set[str]:
    """Words of the topic's own name: every report on the topic says them."""
    try:
        found = services.settings.topic(topic)
    except KeyError:
        return set()
    return set(fold(f"{found.name} {found.short}").split())


def title_of(text: str) -> str:
    words = " ".join(text.split())
    if len(words) <= TITLE_CHARS:
        return words
    return words[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


async def _count(
    services: Services, report: Report, item: ReportItem, commune: Unit, now: datetime
) -> list[Outgoing]:
    hs = services.settings.hotspots
    tz = services.settings.timezone
    topic = item.topic or ""
    event = event_of(services, report, item)
    words = keywords(item.text, topic_words(services, topic))
    reopened: list[Hotspot] = []

    def decide(candidates: list[Hotspot]) -> GroupChange:
        best = _closest(candidates, words, hs.similarity)
        aggregate = Aggregate.from_json(best.state) if best else Aggregate()
        aggregate.add(event, hs)
        signals = aggregate.signals(now, topic, hs)
        level = hs.level(signals.score)
        values: dict[str, Any] = {
            "state": aggregate.to_json(),
            "signals": {"points": signals.points, "facts": signals.facts},
            "score": signals.score,
            "level": level,
            "peak_level": _higher(best.peak_level if best else None, level),
            "reports": aggregate.reports,
            "urgent": (best.urgent if best else False) or event.urgent,
            "first_at": aggregate.first_at,
            "last_at": aggregate.last_at,
            "scored_at": now,
            "keywords": merge_keywords(best.keywords if best else {}, words),
        }
        history: list[tuple[str, str]] = []
        status = best.status if best else "new"
        alerted = best.alerted_at if best else None
        if best is not None and best.status == "resolved":
            reopened.append(best)
            status = "reopened"
            alerted = None
            values.update(
                status=status,
                cycle=best.cycle + 1,
                acknowledged_at=None,
                due_at=None,
                escalation=0,
                alerted_at=None,
                peak_level=level,
            )
            history.append(("reopen", status))
        if level == LEVELS[-1] and alerted is None:
            # reaching "điểm nóng" alerts the commune at once; escalation runs until acknowledged
            values["alerted_at"] = now
            if status in OPEN:
                values["due_at"] = deadline(now, bool(values["urgent"]), hs, tz)
                values["escalation"] = 0
            history.append(("alert", status))
        if best is None:
            values.update(
                unit_id=commune.id, unit_path=commune.path, topic=topic, title=title_of(item.text)
            )
        return GroupChange(best.id if best else None, values, event.to_json(), history)

    result = await services.store.hotspots.group(
        unit_id=commune.id,
        topic=topic,
        since=event.sent_at - timedelta(days=hs.window_days),
        reopen_since=now - timedelta(days=hs.reopen_days),
        item_id=item.id,
        report_id=report.id,
        sent_at=event.sent_at,
        now=now,
        decide=decide,
    )
    if result is None:
        return []
    after, before = result
    log.info(
        "report %d item %d counted in hotspot %d (%s, score %.1f, %s)",
        report.id,
        item.id,
        after.id,
        after.topic,
        after.score,
        after.level,
    )
    if reopened:
        events = await services.store.hotspots.events(after.id)
        again = await services.store.hotspots.reopen_reports(
            sorted({r for r, _ in events}), now - timedelta(days=hs.reopen_days), now
        )
        log.info("hotspot %d reopened (urgent reports reopened: %s)", after.id, again)
    if after.alerted_at == now and (before is None or before.alerted_at != now):
        return await hotspot_alerts(services, after, commune)
    return []


def _closest(candidates: list[Hotspot], words: set[str], threshold: float) -> Hotspot | None:
    if not candidates:
        return None
    if not words:
        # a text that names nothing in particular joins the biggest group of its topic
        return max(candidates, key=lambda h: (h.reports, h.last_at))
    scored = [(overlap(words, h.keywords), h.reports, h.id, h) for h in candidates]
    similarity, _, _, best = max(scored, key=lambda s: (s[0], s[1], s[2]))
    return best if similarity >= threshold else None


def _higher(a: str | None, b: str | None) -> str | None:
    ranks = {name: n for n, name in enumerate(LEVELS)}
    if a is None:
        return b
    if b is None:
        return a
    return a if ranks[a] >= ranks[b] else b


async def hotspot_alerts(services: Services, hotspot: Hotspot, commune: Unit) -> list[Outgoing]:
    """The "điểm nóng" alert to each leader of the commune, with the buttons to act on it."""
    texts = services.texts
    leaders = await services.store.members.covering(commune.path, {Role.LEADER})
    text = await alert_text(services, hotspot, commune)
    buttons = (
        (
            Button(texts("hotspots.buttons.ack"), f"hs:ack:h{hotspot.id}"),
            Button(texts("hotspots.buttons.open"), f"hs:open:h{hotspot.id}"),
        ),
    )
    return [
        Outgoing(
            idem_key=f"hs-alert:{hotspot.id}:{hotspot.cycle}:{leader.id}",
            member_id=leader.id,
            reply=Reply(text, buttons),
            priority=ALERT_PRIORITY,
        )
        for leader in leaders
    ]
