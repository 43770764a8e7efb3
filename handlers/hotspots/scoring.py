"""A hotspot's score: pure functions over a small running aggregate of its reports.

The aggregate is what the database keeps for each hotspot (``state``): decayed sums and a few
small maps (villages, reporters, weeks, days) pruned to the window. Adding a report costs the
same however many reports the database holds; the same :meth:`Aggregate.add` folded over a
hotspot's reports recomputes it from scratch (for its history, its chart and the tests).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from handlers.hotspots.settings import HotspotSettings
from handlers.matching import fold

DAY = 86_400.0
GROWTH_RECENT_DAYS = 14
GROWTH_PRIOR_DAYS = 28
MAX_KEYWORDS = 60

# Words that say nothing about which matter a text is about (accent-folded).
STOP_WORDS = frozenset(
    """
    va la o tai cua co khong cho voi cac nhung mot hai ba bon nam nguoi dan ho khoang
    thon ban xa phuong to pho tinh huyen da dang se con van rat nhieu it ve den tu tren
    duoi trong ngoai nay do kia nen thi ma vi neu khi lai len ra vao hon qua bao
    tuan thang ngay nam gio hien viec tinh hinh bao cao cung duoc bi can chu y
    """.split()
)


@dataclass(frozen=True)
class Event:
    """One report item as a hotspot counts it."""

    report_id: int
    item_id: int
    village_id: int
    reporter_id: int
    severity_rank: int  # 0 = the mildest severity
    urgent: bool
    people: int | None
    complaint: bool
    sent_at: datetime
    week: str

    def to_json(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "item_id": self.item_id,
            "village_id": self.village_id,
            "reporter_id": self.reporter_id,
            "severity_rank": self.severity_rank,
            "urgent": self.urgent,
            "people": self.people,
            "complaint": self.complaint,
            "sent_at": self.sent_at.isoformat(),
            "week": self.week,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            report_id=int(data["report_id"]),
            item_id=int(data["item_id"]),
            village_id=int(data["village_id"]),
            reporter_id=int(data["reporter_id"]),
            severity_rank=int(data["severity_rank"]),
            urgent=bool(data["urgent"]),
            people=data["people"],
            complaint=bool(data["complaint"]),
            sent_at=datetime.fromisoformat(data["sent_at"]),
            week=str(data["week"]),
        )


@dataclass(frozen=True)
class Signals:
    """The points of each signal, and the facts they come from (for the explanation)."""

    points: dict[str, float]
    facts: dict[str, int]

    @property
    def score(self) -> float:
        return round(sum(self.points.values()), 2)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass
class Aggregate:
    """The running state of one hotspot; JSON in the database."""

    ref_at: datetime | None = None  # the time the decayed sums refer to
    mass: float = 0.0  # sum of decay, one per report
    severity: float = 0.0  # sum of decay x severity points
    people: int = 0
    people_at: datetime | None = None
    villages: dict[str, str] = field(default_factory=dict)  # id -> last report time
    reporters: dict[str, str] = field(default_factory=dict)
    weeks: dict[str, list[Any]] = field(default_factory=dict)  # week -> [count, last time]
    days: dict[str, int] = field(default_factory=dict)  # UTC date -> count
    reports: int = 0
    urgent: int = 0
    complaint: bool = False
    first_at: datetime | None = None
    last_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref_at": self.ref_at.isoformat() if self.ref_at else None,
            "mass": self.mass,
            "severity": self.severity,
            "people": self.people,
            "people_at": self.people_at.isoformat() if self.people_at else None,
            "villages": self.villages,
            "reporters": self.reporters,
            "weeks": self.weeks,
            "days": self.days,
            "reports": self.reports,
            "urgent": self.urgent,
            "complaint": self.complaint,
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "last_at": self.last_at.isoformat() if self.last_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Aggregate:
        def when(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if value else None

        return cls(
            ref_at=when("ref_at"),
            mass=float(data.get("mass", 0.0)),
            severity=float(data.get("severity", 0.0)),
            people=int(data.get("people", 0)),
            people_at=when("people_at"),
            villages=dict(data.get("villages", {})),
            reporters=dict(data.get("reporters", {})),
            weeks={k: list(v) for k, v in data.get("weeks", {}).items()},
            days=dict(data.get("days", {})),
            reports=int(data.get("reports", 0)),
            urgent=int(data.get("urgent", 0)),
            complaint=bool(data.get("complaint", False)),
            first_at=when("first_at"),
            last_at=when("last_at"),
        )

    @classmethod
    def of(cls, events: Iterable[Event], settings: HotspotSettings) -> Aggregate:
        """The aggregate of ``events`` from scratch (in time order)."""
        aggregate = cls()
        for event in sorted(events, key=lambda e: (e.sent_at, e.item_id)):
            aggregate.add(event, settings)
        return aggregate

    def add(self, event: Event, settings: HotspotSettings) -> None:
        """Count one more report; constant work, whatever the size of the database."""
        hl = settings.half_life_days
        w = settings.weights
        at = event.sent_at
        points = event.severity_rank * w.severity + (w.urgent if event.urgent else 0.0)
        if self.ref_at is None or at >= self.ref_at:
            fade = decay((at - self.ref_at).total_seconds() / DAY, hl) if self.ref_at else 1.0
            self.mass = self.mass * fade + 1.0
            self.severity = self.severity * fade + points
            self.ref_at = at
        else:  # a report that arrives late (its draft was started earlier)
            fade = decay((self.ref_at - at).total_seconds() / DAY, hl)
            self.mass += fade
            self.severity += points * fade
        ref = self.ref_at or at
        if event.people and _people_value(event.people, at, ref, hl) >= _people_value(
            self.people, self.people_at, ref, hl
        ):
            self.people, self.people_at = event.people, at
        _touch(self.villages, str(event.village_id), at)
        _touch(self.reporters, str(event.reporter_id), at)
        count, last = self.weeks.get(event.week, [0, _iso(at)])
        self.weeks[event.week] = [count + 1, max(last, _iso(at))]
        day = at.date().isoformat()
        self.days[day] = self.days.get(day, 0) + 1
        self.reports += 1
        self.urgent += int(event.urgent)
        self.complaint = self.complaint or event.complaint
        self.first_at = min(self.first_at, at) if self.first_at else at
        self.last_at = max(self.last_at, at) if self.last_at else at
        self._prune(settings)

    def _prune(self, settings: HotspotSettings) -> None:
        """Forget what is older than the window: it no longer counts (and keeps this small)."""
        if self.last_at is None:
            return
        edge = _iso(self.last_at - timedelta(days=settings.window_days))
        for stamps in (self.villages, self.reporters):
            for key in [k for k, v in stamps.items() if v < edge]:
                del stamps[key]
        for key in [k for k, (_, last) in self.weeks.items() if last < edge]:
            del self.weeks[key]
        day_edge = (self.last_at - timedelta(days=GROWTH_RECENT_DAYS + GROWTH_PRIOR_DAYS)).date()
        for key in [k for k in self.days if k < day_edge.isoformat()]:
            del self.days[key]

    def signals(self, at: datetime, topic: str, settings: HotspotSettings) -> Signals:
        """Each signal's points at time ``at``."""
        hl = settings.half_life_days
        w = settings.weights
        fade = self._fade(at, hl)
        mass = self.mass * fade

        def spread(stamps: Iterable[str]) -> float:
            total = sum(_faded(datetime.fromisoformat(s), at, hl) for s in stamps)
            return max(0.0, total - 1.0)

        recent, prior = self._growth_counts(at)
        extra = recent - max(1.0, prior * GROWTH_RECENT_DAYS / GROWTH_PRIOR_DAYS)
        presence = min(1.0, mass)
        points = {
            "reports": w.report * mass,
            "severity": self.severity * fade,
            "people": w.people
            * math.log2(1 + self.people / 10)
            * (_faded(self.people_at, at, hl) if self.people_at else 0.0),
            "villages": w.villages * spread(self.villages.values()),
            "reporters": w.reporters * spread(self.reporters.values()),
            "persistence": w.persistence * spread(last for _, last in self.weeks.values()),
            "growth": w.growth * math.log2(1 + max(0.0, extra)),
            "complaint": w.complaint * presence if self.complaint else 0.0,
            "sensitive": w.sensitive * presence if topic in settings.sensitive_topics else 0.0,
        }
        facts = {
            "reports": self.reports,
            "villages": len(self.villages),
            "reporters": len(self.reporters),
            "weeks": len(self.weeks),
            "people": self.people,
            "urgent": self.urgent,
            "recent": int(recent),
        }
        return Signals({k: round(v, 2) for k, v in points.items() if v > 0.005}, facts)

    def _fade(self, at: datetime, hl: float) -> float:
        if self.ref_at is None:
            return 0.0
        return _faded(self.ref_at, at, hl)

    def _growth_counts(self, at: datetime) -> tuple[float, float]:
        recent_edge = (at - timedelta(days=GROWTH_RECENT_DAYS)).date().isoformat()
        prior_edge = (
            (at - timedelta(days=GROWTH_RECENT_DAYS + GROWTH_PRIOR_DAYS)).date().isoformat()
        )
        today = at.date().isoformat()
        recent = sum(n for d, n in self.days.items() if recent_edge < d <= today)
        prior = sum(n for d, n in self.days.items() if prior_edge < d <= recent_edge)
        return float(recent), float(prior)


def decay(age_days: float, half_life_days: float) -> float:
    return float(0.5 ** (max(0.0, age_days) / half_life_days))


def _faded(when: datetime, at: datetime, hl: float) -> float:
    return decay((at - when).total_seconds() / DAY, hl)


def _people_value(people: int, when: datetime | None, ref: datetime, hl: float) -> float:
    if when is None or people <= 0:
        return 0.0
    return math.log2(1 + people / 10) * _faded(when, ref, hl)


def _touch(stamps: dict[str, str], key: str, at: datetime) -> None:
    stamps[key] = max(stamps.get(key, ""), _iso(at))


# --- what a text is about -------------------------------------------------------------------


def keywords(text: str, ignore: Iterable[str] = ()) -> set[str]:
    """The words and word pairs of a text that can tell one matter from another."""
    skip = STOP_WORDS | set(ignore)
    words = [w for w in fold(text).split() if len(w) > 1 and not w.isdigit() and w not in skip]
    pairs = {f"{a} {b}" for a, b in itertools.pairwise(words)}
    return set(words) | pairs


def overlap(a: Iterable[str], b: Iterable[str]) -> float:
    """How much of the smaller set the other one shares (0..1)."""
    first, second = set(a), set(b)
    if not first or not second:
        return 0.0
    return len(first & second) / min(len(first), len(second))


def merge_keywords(bag: dict[str, int], words: Iterable[str]) -> dict[str, int]:
    """The group's words with ``words`` counted in, the most frequent kept."""
    merged = dict(bag)
    for word in words:
        merged[word] = merged.get(word, 0) + 1
    if len(merged) > MAX_KEYWORDS:
        merged = dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_KEYWORDS])
    return merged
