"""The Monday digest: last week of a scope, for each leader (commune) and officer (their unit).

Text: completeness (on time / late by the time the reporter sent the report), counts by topic
and severity with the change from the week before, urgent reports and their status, a short
quote from each notable report. Files: an XLSX of the week and a PNG chart of 8 weeks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.drafting import quote
from handlers.hotspots.lifecycle import ACTIVE
from handlers.hotspots.ranking import top_details
from handlers.hotspots.render import Details, list_line
from handlers.messages import OutgoingFile, Reply
from handlers.rhythm import figures
from handlers.rhythm.charts import topic_chart
from handlers.rhythm.send import Batch, flush
from handlers.rhythm.workbook import Cell, write_workbook
from handlers.services import Services
from handlers.weeks import Week, local_time
from storage.records import Report, ReportKind, Role, Unit

QUOTE_CHARS = 100
HOTSPOT_DAYS = 30  # hotspots with a report in the last 30 days, like /diemnong
HOTSPOT_LINES = 3


@dataclass(frozen=True)
class Digest:
    scope: Unit
    week: Week
    completeness: figures.Completeness
    by_topic: Counter[str]
    before: Counter[str]
    by_severity: Counter[str]
    reports: list[Report]
    children: list[tuple[Unit, int, int]]  # unit below, villages reported, villages
    hotspots: list[Details]  # open ones at the week's end, best first


async def build(services: Services, scope: Unit, week: Week) -> Digest | None:
    """The figures of one scope's week; None when the scope has no villages yet."""
    tz = services.settings.timezone
    done = await figures.completeness(services, scope, week)
    if not done.villages:
        return None
    since, until = week.start(tz), week.end(tz)
    by_topic, by_severity, _ = await figures.counts(services, scope, since, until)
    before, _, _ = await figures.counts(services, scope, since - timedelta(days=7), since)
    reports = await services.store.reports.in_scope(scope.path, since=since, until=until)
    children: list[tuple[Unit, int, int]] = []
    levels = services.settings.levels
    below = levels.below(scope.level)
    if below is not None and below != levels.reporter:
        for child in await services.store.units.subtree(scope, below):
            villages = [v for v in done.villages if v.path.startswith(child.path)]
            reported = sum(1 for v in villages if v.id in done.sent)
            children.append((child, reported, len(villages)))
    spots = await top_details(
        services, scope, HOTSPOT_DAYS, None, week.end(tz), limit=HOTSPOT_LINES
    )
    open_spots = [d for d in spots if d.hotspot.status in ACTIVE]
    return Digest(scope, week, done, by_topic, before, by_severity, reports, children, open_spots)


def render(services: Services, digest: Digest) -> str:
    t = services.texts
    tz = services.settings.timezone
    done = digest.completeness
    lines = [t("digest.head", week=digest.week.label(), scope=digest.scope.name)]
    line = t("digest.completeness", done=done.done, total=len(done.villages), on_time=done.on_time)
    if digest.children:
        units = " · ".join(f"{u.name} {n}/{total}" for u, n, total in digest.children[:30])
        lines.append(line)
        lines.append(t("digest.by_unit", units=units))
    elif done.missing:
        names = ", ".join(v.name for v in done.missing[:30])
        lines.append(line + " " + t("digest.missing", names=names))
    else:
        lines.append(line)
    if not digest.by_topic:
        lines.append(t("queries.no_issues"))
    else:
        codes = set(digest.by_topic) | set(digest.before)
        topics = sorted(codes, key=lambda c: (-digest.by_topic[c], c))
        parts = [
            f"{figures.topic_name(services, c)} {digest.by_topic[c]}"
            f"{figures.change(digest.by_topic[c], digest.before[c])}"
            for c in topics
        ]
        lines.append(t("queries.by_topic", topics=" · ".join(parts)))
        severities = " · ".join(
            f"{s.name} {digest.by_severity[s.code]}"
            for s in reversed(services.settings.severities)
            if digest.by_severity[s.code]
        )
        lines.append(t("queries.by_severity", severities=severities))
    urgent = [r for r in digest.reports if r.kind == ReportKind.URGENT]
    if urgent:
        lines.append(t("digest.urgent_head", n=len(urgent)))
        for report in urgent[:5]:
            topic = figures.report_topic(services, report)
            lines.append(
                t(
                    "digest.urgent_line",
                    number=report.id,
                    unit=report.unit.name,
                    topic=topic,
                    time=local_time(report.sent_at, tz),
                    status=figures.status_name(services, report.status),
                )
            )
    if digest.hotspots:
        lines.append(t("digest.hotspots_head", n=len(digest.hotspots)))
        end = digest.week.end(tz)
        lines.extend(
            "  " + list_line(services, n, found, None, end)
            for n, found in enumerate(digest.hotspots, start=1)
        )
    notable = [r for r in figures.notable(services, digest.reports) if r not in urgent[:5]]
    if notable:
        lines.append(t("digest.notable_head"))
        for report in notable:
            topic = figures.report_topic(services, report)
            said = quote(figures.first_text(report), QUOTE_CHARS)
            lines.append(f"  #{report.id} {report.unit.name} · {topic}: {said}")
    lines.append(t("digest.files"))
    return "\n".join(lines)


async def files(services: Services, digest: Digest) -> tuple[OutgoingFile, ...]:
    """The week's XLSX and the 8-week chart, written once per scope and week."""
    t = services.texts
    folder = services.settings.rhythm.files_dir / "digest" / digest.week.key
    name = f"tong-hop-{digest.week.key}-{figures.slug(digest.scope.name)}"
    xlsx = await asyncio.to_thread(
        write_workbook, folder / f"{name}.xlsx", _sheets(services, digest)
    )
    weeks, series = await _history(services, digest)
    attached = [
        OutgoingFile(str(xlsx), "document", t("digest.xlsx_caption", week=digest.week.number))
    ]
    if series:  # no issue in all those weeks: nothing to draw
        png = await asyncio.to_thread(
            topic_chart,
            folder / f"{name}.png",
            t("digest.chart_title", scope=digest.scope.name, weeks=len(weeks)),
            weeks,
            series,
            t("digest.chart_other"),
        )
        attached.append(
            OutgoingFile(str(png), "photo", t("digest.chart_caption", weeks=len(weeks)))
        )
    return tuple(attached)


async def _history(services: Services, digest: Digest) -> tuple[list[str], dict[str, list[int]]]:
    """Reports by topic in each of the last weeks (a report counts once a topic a week)."""
    tz = services.settings.timezone
    count = services.settings.rhythm.digest_weeks
    weeks = [digest.week]
    while len(weeks) < count:
        weeks.insert(0, weeks[0].previous())
    index = {w.key: n for n, w in enumerate(weeks)}
    found = await services.store.rhythm.issue_times(
        digest.scope.path, weeks[0].start(tz), weeks[-1].end(tz)
    )
    seen: set[tuple[str, int, str]] = set()
    series: dict[str, list[int]] = {}
    for report_id, code, sent_at in found:
        week = Week.of(sent_at, tz).key
        if week not in index or (week, report_id, code) in seen:
            continue
        seen.add((week, report_id, code))
        name = figures.topic_name(services, code)
        series.setdefault(name, [0] * len(weeks))[index[week]] += 1
    labels = [services.texts("digest.week_short", n=w.number) for w in weeks]
    return labels, series


def _sheets(services: Services, digest: Digest) -> list[tuple[str, list[str], list[list[Cell]]]]:
    t = services.texts
    tz = services.settings.timezone
    done = digest.completeness
    yes = t("export.yes")
    village_rows: list[list[Cell]] = []
    for village in done.villages:
        sent = done.sent.get(village.id)
        village_rows.append(
            [
                village.code,
                village.name,
                sent.report_id if sent else None,
                f"{sent.sent_at.astimezone(tz):%Y-%m-%d %H:%M}" if sent else "",
                yes if sent and done.is_on_time(village.id) else "",
            ]
        )
    topic_rows: list[list[Cell]] = []
    for code in sorted(set(digest.by_topic) | set(digest.before)):
        now, before = digest.by_topic[code], digest.before[code]
        topic_rows.append([figures.topic_name(services, code), now, before, now - before])
    report_rows: list[list[Cell]] = []
    for report in sorted(digest.reports, key=lambda r: r.id):
        for item in report.items or ():
            report_rows.append(
                [
                    report.id,
                    t(f"export.kind_{report.kind.value}"),
                    report.unit.name,
                    f"{item.sent_at.astimezone(tz):%Y-%m-%d %H:%M}",
                    figures.topic_name(services, item.topic) if item.topic else "",
                    figures.severity_name(services, item.severity) if item.severity else "",
                    item.people,
                    item.text or (t("export.entry_normal") if item.kind == "normal" else ""),
                    figures.status_name(services, report.status),
                ]
            )
    return [
        (
            t("digest.sheet_villages"),
            [
                t("export.unit_code"),
                t("export.unit_name"),
                t("export.number"),
                t("export.sent_at"),
                t("digest.on_time"),
            ],
            village_rows,
        ),
        (
            t("digest.sheet_topics"),
            [t("export.topic"), t("digest.this_week"), t("digest.last_week"), t("digest.change")],
            topic_rows,
        ),
        (
            t("export.sheet_reports"),
            [
                t("export.number"),
                t("export.kind"),
                t("export.unit_name"),
                t("export.sent_at"),
                t("export.topic"),
                t("export.severity"),
                t("export.people"),
                t("export.text"),
                t("export.status"),
            ],
            report_rows,
        ),
    ]


async def send_digests(services: Services, at: datetime) -> str:
    """Monday: last week's digest to every leader and officer, for their own scope."""
    week = Week.of(at, services.settings.timezone).previous()
    recipients = await services.store.rhythm.recipients("/", [Role.LEADER, Role.OFFICER])
    built: dict[int, tuple[str, tuple[OutgoingFile, ...]] | None] = {}
    batch = Batch()
    empty = 0
    for recipient in recipients:
        scope = recipient.member.unit
        if not recipient.member.active or recipient.identity is None:
            batch.skip(recipient, f"digest {week.key}")
            continue
        if scope.id not in built:
            digest = await build(services, scope, week)
            if digest is None:
                built[scope.id] = None
            else:
                built[scope.id] = (render(services, digest), await files(services, digest))
        content = built[scope.id]
        if content is None:
            empty += 1  # no villages yet: no digest, no error
            continue
        text, attached = content
        batch.add(
            services,
            recipient,
            f"digest:{recipient.member.id}:{week.key}",
            Reply(text, files=attached),
        )
    added = await flush(services, batch)
    return (
        f"{week.key} digest: {added} sent for {sum(1 for v in built.values() if v)} scopes, "
        f"{empty} without villages, {batch.skipped} skipped (left or unreachable)"
    )
