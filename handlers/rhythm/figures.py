"""Figures the digest, the agenda and the periodic drafts share: completeness and counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from handlers.matching import fold
from handlers.rhythm.calendar import due_moment
from handlers.services import Services
from handlers.weeks import Week
from storage.records import Report, ReportKind, Unit
from storage.repositories.rhythm import WeeklySent


@dataclass(frozen=True)
class Completeness:
    """Which villages of a scope reported one week, and how many before it was due."""

    villages: list[Unit]
    sent: dict[int, WeeklySent]
    due: datetime

    @property
    def done(self) -> int:
        return sum(1 for v in self.villages if v.id in self.sent)

    @property
    def on_time(self) -> int:
        return sum(1 for v in self.villages if v.id in self.sent and self.is_on_time(v.id))

    def is_on_time(self, unit_id: int) -> bool:
        found = self.sent.get(unit_id)
        return found is not None and found.sent_at < self.due

    @property
    def missing(self) -> list[Unit]:
        return [v for v in self.villages if v.id not in self.sent]


async def completeness(services: Services, scope: Unit, week: Week) -> Completeness:
    villages = await services.store.units.subtree(scope, services.settings.levels.reporter)
    sent = await services.store.rhythm.weekly_sent(scope.path, week.key)
    return Completeness(villages, sent, due_moment(services.settings, week))


async def counts(
    services: Services, scope: Unit, since: datetime, until: datetime
) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Reports by topic, by severity, and people involved by topic, sent in [since, until)."""
    by_topic: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    people: Counter[str] = Counter()
    for row in await services.store.reports.topic_counts(scope.path, since, until):
        by_topic[row.topic] += row.reports
        by_severity[row.severity] += row.reports
        people[row.topic] += row.people
    return by_topic, by_severity, people


def change(now: int, before: int) -> str:
    """ "(↑3)", "(↓1)" or nothing."""
    if now > before:
        return f" (↑{now - before})"
    if now < before:
        return f" (↓{before - now})"
    return ""


def topic_name(services: Services, code: str) -> str:
    try:
        return services.settings.topic(code).short
    except KeyError:
        return code  # a topic since removed from the config


def severity_name(services: Services, code: str) -> str:
    try:
        return services.settings.severity(code).name
    except KeyError:
        return code


def status_name(services: Services, status: str) -> str:
    key = f"rhythm.status.{status}"
    return services.texts(key) if key in services.texts.keys() else status


def report_topic(services: Services, report: Report) -> str:
    """The short name of a report's first topic ("" for a quiet week)."""
    return topic_name(services, report.topics[0]) if report.topics else ""


def first_text(report: Report) -> str:
    item = next((i for i in report.items if i.kind == "issue" and i.text), None)
    return item.text if item else ""


def notable(services: Services, reports: list[Report], limit: int = 5) -> list[Report]:
    """Urgent reports first, then the most severe; quiet weeks are never notable."""
    settings = services.settings
    ranked = [
        r
        for r in reports
        if not r.is_normal and r.severity in [s.code for s in settings.severities[1:]]
    ]
    ranked.sort(
        key=lambda r: (
            r.kind != ReportKind.URGENT,
            -settings.severity_rank(r.severity),
            -r.id,
        )
    )
    return ranked[:limit]


def slug(text: str) -> str:
    return "-".join(fold(text).split()) or "don-vi"
