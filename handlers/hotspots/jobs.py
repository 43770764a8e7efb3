"""The hotspot jobs the scheduler runs: the daily re-ageing, and escalation of cases nobody
acknowledged in time. Both take the time to act at, and write messages only to the outbox,
each under an idempotency key: running a job twice sends once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from handlers.hotspots.detection import commune_of
from handlers.hotspots.hours import deadline
from handlers.hotspots.render import topic_label
from handlers.hotspots.scoring import Aggregate
from handlers.messages import Button, Outgoing, Reply
from handlers.services import Services
from handlers.texts import Texts
from storage.records import Member, Role, Unit
from storage.repositories.hotspots import REPORT, Case
from storage.repositories.messages import OutboxEntry

log = logging.getLogger(__name__)

ESCALATION_PRIORITY = 5  # an alert: never held for quiet hours
BATCH = 1000


async def reage_hotspots(services: Services, now: datetime) -> int:
    """Re-score every recent hotspot as of ``now`` (older reports fade); how many changed."""
    hs = services.settings.hotspots
    since = now - timedelta(days=hs.window_days)
    changed = 0
    after = 0
    while True:
        batch = await services.store.hotspots.active(since, after_id=after, limit=BATCH)
        if not batch:
            break
        updates = []
        for spot in batch:
            signals = Aggregate.from_json(spot.state).signals(now, spot.topic, hs)
            level = hs.level(signals.score)
            if abs(signals.score - spot.score) > 0.005 or level != spot.level:
                points = {"points": signals.points, "facts": signals.facts}
                updates.append((spot.id, signals.score, level, points))
        await services.store.hotspots.save_scores(updates, now)
        changed += len(updates)
        after = batch[-1].id
    log.info("re-aged hotspots: %d scores changed", changed)
    return changed


async def escalate_overdue(services: Services, now: datetime) -> int:
    """Send each case not acknowledged by its deadline to the officers one level further up;
    the next deadline starts then. Returns how many cases moved up."""
    moved = 0
    for case in await services.store.hotspots.due(now):
        try:
            moved += await _escalate(services, case, now)
        except Exception:
            log.exception("escalating %s %d failed; the next run tries again", case.kind, case.id)
    return moved


async def _escalate(services: Services, case: Case, now: datetime) -> int:
    store = services.store
    settings = services.settings
    unit = await store.units.by_id(case.unit_id)
    commune = await commune_of(services, unit) if unit else None
    if unit is None or commune is None:
        log.warning("%s %d has no commune; its escalation stops", case.kind, case.id)
        await store.hotspots.escalate(case, case.escalation, None, "", now)
        return 0
    chain = list(reversed(await store.units.ancestors(commune)))  # nearest first
    officers = await store.members.covering(commune.path, {Role.OFFICER})
    step, recipients = case.escalation, list[Member]()
    while step < len(chain) and not recipients:
        recipients = [m for m in officers if m.unit.id == chain[step].id and m.active]
        step += 1
    if not recipients:
        log.warning(
            "%s %d: no officer above %s left to escalate to", case.kind, case.id, commune.code
        )
        await store.hotspots.escalate(case, step, None, "", now)
        return 0
    above = chain[step - 1]
    waited, reply = await _message(services, case, unit, commune, now)
    outgoing = [
        Outgoing(
            idem_key=f"escalate:{case.kind[0]}{case.id}:{case.cycle}:{step}:{member.id}",
            member_id=member.id,
            reply=reply,
            priority=ESCALATION_PRIORITY,
        )
        for member in recipients
    ]
    # the messages first: a crash before the next line sends nothing twice when run again
    await enqueue(services, outgoing, now)
    more = step < len(chain)
    next_due = deadline(now, case.urgent, settings.hotspots, settings.timezone) if more else None
    if not await store.hotspots.escalate(case, step, next_due, above.name, now):
        return 0
    log.info("%s %d escalated to %s after %s", case.kind, case.id, above.code, waited)
    return 1


async def _message(
    services: Services, case: Case, unit: Unit, commune: Unit, now: datetime
) -> tuple[str, Reply]:
    texts = services.texts
    if case.kind == REPORT:
        report = await services.store.reports.get(case.id)
        start = report.stored_at if report else now
        waited = _hours(texts, now - start)
        topic = report.topics[0] if report and report.topics else ""
        text = texts(
            "hotspots.escalation.report",
            number=case.id,
            unit=unit.name,
            commune=commune.name,
            topic=topic_label(services, topic) if topic else "",
            waited=waited,
        )
        buttons = (
            Button(texts("hotspots.buttons.ack"), f"/xuly {case.id} tiepnhan"),
            Button(texts("buttons.details"), f"/xem {case.id}"),
        )
        return waited, Reply(text, (buttons,))
    spot = await services.store.hotspots.get(case.id)
    start = (spot.alerted_at or spot.last_at) if spot else now
    waited = _hours(texts, now - start)
    text = texts(
        "hotspots.escalation.hotspot",
        topic=topic_label(services, spot.topic) if spot else "",
        commune=commune.name,
        title=spot.title if spot else "",
        score=f"{spot.score:.1f}" if spot else "",
        waited=waited,
    )
    buttons = (
        Button(texts("hotspots.buttons.ack"), f"hs:ack:h{case.id}"),
        Button(texts("hotspots.buttons.open"), f"hs:open:h{case.id}"),
    )
    return waited, Reply(text, (buttons,))


def _hours(texts: Texts, span: timedelta) -> str:
    hours = max(1, round(span.total_seconds() / 3600))
    return texts("hotspots.escalation.hours", n=hours)


async def enqueue(services: Services, outgoing: Sequence[Outgoing], now: datetime) -> int:
    """Put messages for members in the outbox (a key seen before is not sent again)."""
    prefer = services.settings.alert_channel
    identities = await services.store.members.latest_identities(
        [o.member_id for o in outgoing], None, None if prefer == "last_used" else prefer
    )
    entries = []
    for out in outgoing:
        identity = identities.get(out.member_id)
        if identity is None:
            log.warning(
                "member %d has no chat to write to; %s not sent", out.member_id, out.idem_key
            )
            continue
        entries.append(
            OutboxEntry(
                out.idem_key,
                identity.channel,
                identity.chat_id,
                out.member_id,
                out.reply.to_payload(),
                out.priority,
            )
        )
    return await services.store.messages.enqueue(entries, now)
