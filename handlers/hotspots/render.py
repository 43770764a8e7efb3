"""How hotspots and cases read in the chat: list lines, cards, alerts, explanations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handlers.hotspots.scoring import Aggregate, Event, Signals
from handlers.services import Services
from handlers.texts import Texts
from handlers.weeks import local_time
from storage.records import Unit
from storage.repositories.hotspots import HOTSPOT, REPORT, CaseEvent, Hotspot

TREND_DAYS = 7
MAX_NUMBERS = 6


@dataclass(frozen=True)
class Details:
    """A hotspot as of now: its signals, its score a week ago, its report numbers."""

    hotspot: Hotspot
    signals: Signals
    week_ago: float
    report_ids: list[int]
    events: list[Event]

    @property
    def score(self) -> float:
        return self.signals.score


async def details(services: Services, hotspot: Hotspot, now: datetime) -> Details:
    """A hotspot with all its reports (a card, an explanation)."""
    return _details(services, hotspot, await services.store.hotspots.events(hotspot.id), now)


async def details_many(services: Services, hotspots: list[Hotspot], now: datetime) -> list[Details]:
    """Hotspots with the reports of their window only (older ones no longer count): a list."""
    hs = services.settings.hotspots
    since = now - timedelta(days=hs.window_days + TREND_DAYS)
    found = await services.store.hotspots.events_many([h.id for h in hotspots], since)
    return [_details(services, h, found[h.id], now) for h in hotspots]


def _details(
    services: Services, hotspot: Hotspot, rows: list[tuple[int, dict[str, Any]]], now: datetime
) -> Details:
    hs = services.settings.hotspots
    events = [Event.from_json(e) for _, e in rows]
    signals = Aggregate.from_json(hotspot.state).signals(now, hotspot.topic, hs)
    before = now - timedelta(days=TREND_DAYS)
    earlier = Aggregate.of([e for e in events if e.sent_at <= before], hs)
    week_ago = earlier.signals(before, hotspot.topic, hs).score if earlier.reports else 0.0
    numbers = sorted({r for r, _ in rows})
    return Details(hotspot, signals, week_ago, numbers, events)


def score_at(events: list[Event], at: datetime, topic: str, services: Services) -> float:
    hs = services.settings.hotspots
    aggregate = Aggregate.of([e for e in events if e.sent_at <= at], hs)
    return aggregate.signals(at, topic, hs).score if aggregate.reports else 0.0


def level_label(texts: Texts, level: str | None) -> str:
    return texts(f"hotspots.levels.{level or 'none'}")


def status_label(texts: Texts, status: str) -> str:
    return texts(f"hotspots.status.{status}")


def topic_label(services: Services, topic: str) -> str:
    try:
        return services.settings.topic(topic).short
    except KeyError:
        return topic


def numbers_text(report_ids: list[int]) -> str:
    shown = [f"#{n}" for n in report_ids[-MAX_NUMBERS:]]
    return ", ".join((["…"] if len(report_ids) > MAX_NUMBERS else []) + shown)


def facts_text(texts: Texts, facts: dict[str, int]) -> str:
    parts = []
    if facts.get("villages", 0) > 1:
        parts.append(texts("hotspots.facts.villages", n=facts["villages"]))
    reports, weeks = facts.get("reports", 0), facts.get("weeks", 0)
    if weeks > 1:
        parts.append(texts("hotspots.facts.reports_weeks", n=reports, weeks=weeks))
    else:
        parts.append(texts("hotspots.facts.reports", n=reports))
    if facts.get("urgent"):
        parts.append(texts("hotspots.facts.urgent", n=facts["urgent"]))
    if facts.get("people"):
        parts.append(texts("hotspots.facts.people", n=f"{facts['people']:,}".replace(",", ".")))
    return ", ".join(parts)


def signals_text(texts: Texts, points: dict[str, float]) -> str:
    ranked = sorted(points.items(), key=lambda kv: -kv[1])
    return " · ".join(f"{texts(f'hotspots.signals.{k}')} {v:.1f}" for k, v in ranked)


def trend_mark(texts: Texts, now: float, before: float) -> str:
    if now > before + 0.5:
        return texts("hotspots.trend.up")
    if now < before - 0.5:
        return texts("hotspots.trend.down")
    return texts("hotspots.trend.flat")


def age_text(texts: Texts, since: datetime, now: datetime) -> str:
    days = (now - since).days
    return texts("hotspots.age.today") if days < 1 else texts("hotspots.age.days", n=days)


def list_line(
    services: Services, n: int, found: Details, commune: Unit | None, now: datetime
) -> str:
    """ "1. ⚠️ Cảnh báo · Đất đai — thu hồi đất làm đường: 3 thôn, 4 báo cáo …" """
    texts = services.texts
    spot = found.hotspot
    return texts(
        "hotspots.item",
        n=n,
        level=level_label(texts, services.settings.hotspots.level(found.score)),
        topic=topic_label(services, spot.topic),
        title=spot.title,
        place=f" ({commune.name})" if commune is not None else "",
        facts=facts_text(texts, found.signals.facts),
        status=status_label(texts, spot.status),
        age=age_text(texts, spot.first_at, now),
        score=f"{found.score:.1f}",
        trend=trend_mark(texts, found.score, found.week_ago),
        numbers=numbers_text(found.report_ids),
    )


def case_name(services: Services, kind: str, case_id: int, topic: str = "") -> str:
    texts = services.texts
    if kind == REPORT:
        return texts("hotspots.case.report", number=case_id)
    return texts("hotspots.case.hotspot", number=case_id, topic=topic_label(services, topic))


def history_lines(services: Services, events: list[CaseEvent]) -> list[str]:
    texts = services.texts
    tz = services.settings.timezone
    lines = []
    for event in events:
        who = event.member_name or texts("hotspots.history.system")
        note = f': "{event.note}"' if event.note else ""
        lines.append(
            texts(
                "hotspots.history.line",
                time=local_time(event.at, tz),
                who=who,
                action=texts(f"hotspots.history.{event.action}"),
                note=note,
            )
        )
    return lines


async def card_text(services: Services, found: Details, commune: Unit) -> str:
    """One hotspot in full: what, where, why this score, which reports, who did what."""
    texts = services.texts
    spot = found.hotspot
    villages = await services.store.units.by_ids([e.village_id for e in found.events])
    names = sorted({u.name for u in villages.values()})
    lines = [
        texts(
            "hotspots.card.head",
            level=level_label(texts, services.settings.hotspots.level(found.score)),
            topic=topic_label(services, spot.topic),
            commune=commune.name,
            number=spot.id,
        ),
        f'"{spot.title}"',
        facts_text(texts, found.signals.facts),
        texts(
            "hotspots.card.score",
            score=f"{found.score:.1f}",
            trend=trend_mark(texts, found.score, found.week_ago),
            signals=signals_text(texts, found.signals.points),
        ),
        texts("hotspots.card.reports", numbers=numbers_text(found.report_ids)),
    ]
    if names:
        lines.append(texts("hotspots.card.villages", names=", ".join(names)))
    lines.append(texts("hotspots.card.status", status=status_label(texts, spot.status)))
    history = await services.store.hotspots.history(HOTSPOT, spot.id)
    lines.extend(history_lines(services, history[-8:]))
    return "\n".join(lines)


async def alert_text(services: Services, hotspot: Hotspot, commune: Unit) -> str:
    texts = services.texts
    points = dict(hotspot.signals.get("points", {}))
    facts = dict(hotspot.signals.get("facts", {}))
    rows = await services.store.hotspots.events(hotspot.id)
    return texts(
        "hotspots.alert",
        topic=topic_label(services, hotspot.topic),
        commune=commune.name,
        title=hotspot.title,
        facts=facts_text(texts, facts),
        score=f"{hotspot.score:.1f}",
        signals=signals_text(texts, points),
        numbers=numbers_text(sorted({r for r, _ in rows})),
    )
