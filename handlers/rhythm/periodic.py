"""Periodic reports (quarter, half-year, year): a DOCX draft in the plan's structure with the
figures filled in and room for the officer's text, an XLSX of the figures, and the reminders
seven and two days before each deadline."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from handlers.hotspots.ranking import top_details
from handlers.hotspots.render import Details, list_line
from handlers.messages import OutgoingFile, Reply
from handlers.rhythm import figures
from handlers.rhythm.calendar import Period, periods_due
from handlers.rhythm.send import Batch, flush
from handlers.rhythm.workbook import Cell, write_workbook
from handlers.services import Services
from handlers.weeks import local_time, weeks_between
from storage.records import Report, ReportKind, Role, Unit
from storage.repositories.meetings import Meeting

HOTSPOT_LINES = 10  # the hotspots of a period in the draft


@dataclass(frozen=True)
class UnitRow:
    unit: Unit
    villages: int
    reported: int  # village-weeks with a weekly report
    expected: int
    urgent: int


@dataclass(frozen=True)
class Figures:
    scope: Unit
    period: Period
    since: datetime
    until: datetime
    weeks: int
    villages: int
    reported: int
    expected: int
    by_topic: Counter[str]
    by_severity: Counter[str]
    people: Counter[str]
    urgent: list[Report]
    rows: list[UnitRow]
    meetings: list[tuple[Meeting, int, int]]  # meeting, conclusions, still open
    hotspots: list[Details]  # with a report in the period, best first, as of its end


def label(services: Services, period: Period) -> str:
    key = f"periodic.label_{period.kind}" + ("" if period.kind != "half" else f"{period.index}")
    return services.texts(key, **period.label_values())


async def collect(services: Services, scope: Unit, period: Period, now: datetime) -> Figures:
    """The figures of a scope over a period (up to ``now`` if the period is not over)."""
    settings = services.settings
    tz = settings.timezone
    store = services.store
    since, end = period.bounds(settings)
    until = min(end, now)
    weeks = [w for w in weeks_between(since, until, tz) if w.end(tz) <= until]
    villages = await store.units.subtree(scope, settings.levels.reporter)
    reported = await store.reports.reported_units(scope.path, [w.key for w in weeks])
    by_topic, by_severity, people = await figures.counts(services, scope, since, until)
    urgent = await store.reports.in_scope(
        scope.path, since=since, until=until, kind=ReportKind.URGENT
    )
    below = settings.levels.below(scope.level)
    children = await store.units.subtree(scope, below) if below else []
    rows = []
    for child in children:
        mine = [v for v in villages if v.path.startswith(child.path)]
        done = sum(1 for w in weeks for v in mine if v.id in reported[w.key])
        urgent_here = sum(1 for r in urgent if r.unit.path.startswith(child.path))
        rows.append(UnitRow(child, len(mine), done, len(mine) * len(weeks), urgent_here))
    held = await store.meetings.in_scope(scope.path, since, until)
    decided = await store.meetings.conclusions(meeting_ids=[m.id for m in held]) if held else []
    meetings = []
    for meeting in held:
        found = [c for c in decided if c.meeting_id == meeting.id]
        meetings.append((meeting, len(found), sum(1 for c in found if c.status == "open")))
    days = max(1, (until - since).days)
    hotspots = await top_details(services, scope, days, None, until, limit=HOTSPOT_LINES)
    return Figures(
        scope,
        period,
        since,
        until,
        len(weeks),
        len(villages),
        sum(len(units & {v.id for v in villages}) for units in reported.values()),
        len(villages) * len(weeks),
        by_topic,
        by_severity,
        people,
        urgent,
        rows,
        meetings,
        hotspots,
    )


def _percent(done: int, expected: int) -> str:
    return f"{100 * done / expected:.0f}%" if expected else "—"


def write_docx(services: Services, data: Figures, path: Path, made: datetime) -> Path:
    """The draft, in the plan's structure. Blocking: call it through ``asyncio.to_thread``."""
    from docx import Document  # imported here: only the periodic drafts need it

    t = services.texts
    tz = services.settings.timezone
    last_day = data.until.astimezone(tz)
    doc = Document()
    doc.add_heading(t("periodic.title", period=label(services, data.period)), level=0)
    doc.add_paragraph(
        t(
            "periodic.subtitle",
            scope=data.scope.name,
            since=f"{data.since.astimezone(tz):%d/%m/%Y}",
            until=f"{last_day:%d/%m/%Y}",
            made=f"{made.astimezone(tz):%d/%m/%Y}",
        )
    )
    doc.add_heading(t("periodic.h_general"), level=1)
    doc.add_paragraph(t("periodic.fill_general"))
    doc.add_heading(t("periodic.h_reports"), level=1)
    doc.add_paragraph(
        t(
            "periodic.reports_line",
            done=data.reported,
            expected=data.expected,
            percent=_percent(data.reported, data.expected),
            weeks=data.weeks,
            villages=data.villages,
            urgent=len(data.urgent),
        )
    )
    if data.rows:
        table = doc.add_table(rows=1, cols=4)
        table.style = "Table Grid"
        for cell, text in zip(
            table.rows[0].cells,
            [
                t("periodic.col_unit"),
                t("periodic.col_weekly"),
                t("periodic.col_share"),
                t("periodic.col_urgent"),
            ],
            strict=True,
        ):
            cell.text = text
        for row in data.rows:
            cells = table.add_row().cells
            cells[0].text = row.unit.name
            cells[1].text = f"{row.reported}/{row.expected}"
            cells[2].text = _percent(row.reported, row.expected)
            cells[3].text = str(row.urgent)
    doc.add_heading(t("periodic.h_topics"), level=1)
    if data.by_topic:
        table = doc.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, text in zip(
            table.rows[0].cells,
            [t("export.topic"), t("periodic.col_reports"), t("periodic.col_people")],
            strict=True,
        ):
            cell.text = text
        for code, n in data.by_topic.most_common():
            cells = table.add_row().cells
            cells[0].text = figures.topic_name(services, code)
            cells[1].text = str(n)
            cells[2].text = str(data.people[code])
        severities = ", ".join(
            f"{s.name.lower()} {data.by_severity[s.code]}"
            for s in reversed(services.settings.severities)
            if data.by_severity[s.code]
        )
        doc.add_paragraph(t("periodic.severities", severities=severities))
    else:
        doc.add_paragraph(t("queries.no_issues"))
    doc.add_paragraph(t("periodic.fill_topics"))
    doc.add_heading(t("periodic.h_hotspots"), level=1)
    if not data.hotspots:
        doc.add_paragraph(t("periodic.no_hotspots"))
    for n, found in enumerate(data.hotspots, start=1):
        doc.add_paragraph(list_line(services, n, found, None, data.until), style="List Bullet")
    if data.urgent:
        doc.add_paragraph(t("periodic.urgent_head"))
    for report in data.urgent[:20]:
        doc.add_paragraph(
            t(
                "periodic.urgent_line",
                number=report.id,
                unit=report.unit.name,
                time=local_time(report.sent_at, tz),
                topic=figures.report_topic(services, report),
                status=figures.status_name(services, report.status),
            ),
            style="List Bullet",
        )
    doc.add_paragraph(t("periodic.fill_hotspots"))
    doc.add_heading(t("periodic.h_briefings"), level=1)
    if not data.meetings:
        doc.add_paragraph(t("periodic.no_briefings"))
    for meeting, total, still_open in data.meetings:
        doc.add_paragraph(
            t(
                "periodic.briefing_line",
                when=local_time(meeting.scheduled_at, tz),
                month=meeting.month,
                status=t(f"periodic.meeting_{meeting.status}"),
                n=total,
                open=still_open,
            ),
            style="List Bullet",
        )
    doc.add_heading(t("periodic.h_proposals"), level=1)
    doc.add_paragraph(t("periodic.fill_proposals"))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def _sheets(services: Services, data: Figures) -> list[tuple[str, list[str], list[list[Cell]]]]:
    t = services.texts
    tz = services.settings.timezone
    units: list[list[Cell]] = [
        [r.unit.code, r.unit.name, r.villages, r.reported, r.expected, r.urgent] for r in data.rows
    ]
    topics: list[list[Cell]] = [
        [figures.topic_name(services, c), n, data.people[c]] for c, n in data.by_topic.most_common()
    ]
    urgent: list[list[Cell]] = [
        [
            r.id,
            r.unit.name,
            f"{r.sent_at.astimezone(tz):%Y-%m-%d %H:%M}",
            figures.report_topic(services, r),
            figures.status_name(services, r.status),
        ]
        for r in data.urgent
    ]
    return [
        (
            t("periodic.sheet_units"),
            [
                t("export.unit_code"),
                t("export.unit_name"),
                t("periodic.col_villages"),
                t("periodic.col_weekly"),
                t("periodic.col_expected"),
                t("periodic.col_urgent"),
            ],
            units,
        ),
        (
            t("periodic.sheet_topics"),
            [t("export.topic"), t("periodic.col_reports"), t("periodic.col_people")],
            topics,
        ),
        (
            t("periodic.sheet_urgent"),
            [
                t("export.number"),
                t("export.unit_name"),
                t("export.sent_at"),
                t("export.topic"),
                t("export.status"),
            ],
            urgent,
        ),
    ]


async def draft(
    services: Services, scope: Unit, period: Period, docx_path: Path, now: datetime
) -> tuple[Path, Path, Figures]:
    """Write the DOCX draft and, beside it, the XLSX of its figures."""
    data = await collect(services, scope, period, now)
    docx_file = await asyncio.to_thread(write_docx, services, data, docx_path, now)
    xlsx_file = await asyncio.to_thread(
        write_workbook, docx_path.with_suffix(".xlsx"), _sheets(services, data)
    )
    return docx_file, xlsx_file, data


async def send_reminders(services: Services, at: datetime) -> str:
    """Daily: 7 and 2 days (configurable) before a deadline, leaders and officers get a
    reminder with the draft of their scope."""
    settings = services.settings
    today = at.astimezone(settings.timezone).date()
    due = periods_due(settings.rhythm, today)
    if not due:
        return "no periodic report deadline near"
    recipients = await services.store.rhythm.recipients("/", [Role.LEADER, Role.OFFICER])
    batch = Batch()
    done: list[str] = []
    for period, days in due:
        deadline = period.deadline(settings.rhythm)
        assert deadline is not None
        files: dict[int, tuple[OutgoingFile, ...] | None] = {}
        for recipient in recipients:
            if not recipient.member.active or recipient.identity is None:
                batch.skip(recipient, f"periodic {period.key}")
                continue
            scope = recipient.member.unit
            if scope.id not in files:
                villages = await services.store.units.subtree(scope, settings.levels.reporter)
                if not villages:
                    files[scope.id] = None
                else:
                    name = f"bao-cao-{period.key}-{figures.slug(scope.name)}"
                    folder = settings.rhythm.files_dir / "periodic" / period.key
                    docx_file, xlsx_file, _ = await draft(
                        services, scope, period, folder / f"{name}.docx", at
                    )
                    files[scope.id] = (
                        OutgoingFile(str(docx_file), "document", services.texts("periodic.docx")),
                        OutgoingFile(str(xlsx_file), "document", services.texts("periodic.xlsx")),
                    )
            attached = files[scope.id]
            if attached is None:
                continue
            text = services.texts(
                "periodic.reminder",
                days=days,
                period=label(services, period),
                deadline=f"{deadline:%d/%m/%Y}",
                scope=scope.name,
            )
            key = f"periodic:{recipient.member.id}:{period.key}:{days}"
            batch.add(services, recipient, key, Reply(text, files=attached))
        done.append(f"{period.key} (-{days} d)")
    added = await flush(services, batch)
    return f"periodic {', '.join(done)}: {added} sent, {batch.skipped} skipped"
