"""``sitrep reports export``: reports as CSV, JSON or an Excel workbook, for the offices.

Column names and sheet names come from the ``[export]`` texts; a denunciation's reporter is
never named (the same rule as in the chats, for a viewer without rights). Every export is
written to the audit log.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from openpyxl import Workbook
from openpyxl.styles import Font

from handlers.drafting import reporter_label
from handlers.services import Services
from handlers.weeks import local_midnight
from storage.records import Report, ReportItem, Unit

FORMATS = ("csv", "xlsx", "json")
COLUMNS = (
    "number",
    "kind",
    "week",
    "sent_at",
    "stored_at",
    "commune",
    "unit_code",
    "unit_name",
    "reporter",
    "entry",
    "topic",
    "severity",
    "people",
    "text",
    "denunciation",
    "attachments",
    "status",
)
ENTRIES = ("issue", "normal", "addition")
MIN_WIDTH, MAX_WIDTH = 6, 60

Cell = str | int


class ExportError(Exception):
    """A request that cannot be exported; the message is one line for the terminal."""


async def export_reports(
    services: Services,
    fmt: str,
    *,
    under: str | None,
    since: date | None,
    out: Path | None,
    stdout: TextIO,
) -> int:
    """Write the reports under ``under`` (all when None) first sent since local midnight of
    ``since``, oldest first; to ``out``, or for csv and json to ``stdout`` when ``out`` is None.

    CSV and the workbook have one row per entry of a report (an issue, a quiet week, an
    addition); JSON has one object per report with its entries. Returns the number of reports.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and out is None:
        raise ExportError("xlsx is a binary format: give an output file with --out")
    store = services.store
    if under is None:
        scopes = await store.units.roots()
    else:
        unit = await store.units.by_code(under)
        if unit is None:
            raise ExportError(f"unknown unit code {under!r} (see `sitrep units list`)")
        scopes = [unit]
    start = local_midnight(since, services.settings.timezone) if since else None
    reports: list[Report] = []
    for scope in scopes:
        reports.extend(await store.reports.in_scope(scope.path, since=start))
    reports.sort(key=lambda r: (r.sent_at, r.id))
    exporter = _Exporter(services, await _communes(services, scopes))
    if fmt == "json":
        content: str | bytes = exporter.json(reports)
    elif fmt == "csv":
        content = exporter.csv(reports)
    else:
        content = exporter.xlsx(reports)
    detail = {
        "format": fmt,
        "under": under,
        "since": since.isoformat() if since else None,
        "count": len(reports),
    }
    # Logged once the data is read, before it leaves: a failed write still read it.
    await store.audit.write(None, "reports.export", detail, services.clock.now())
    if out is None:
        assert isinstance(content, str)
        stdout.write(content)
    else:
        try:
            await asyncio.to_thread(_write, out, content)
        except OSError as exc:
            raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return len(reports)


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")


async def _communes(services: Services, scopes: list[Unit]) -> dict[int, Unit]:
    """The leader-level units (communes) in or above the scopes, by id: two queries a scope."""
    leader = services.settings.levels.leader
    found: dict[int, Unit] = {}
    for scope in scopes:
        around = [*await services.store.units.ancestors(scope), scope]
        below = await services.store.units.subtree(scope, leader)
        found.update({u.id: u for u in [*around, *below] if u.level == leader})
    return found


class _Exporter:
    def __init__(self, services: Services, communes: dict[int, Unit]) -> None:
        self._services = services
        self._settings = services.settings
        self._t = services.texts
        self._communes = communes
        self._topics = {t.code: t.name for t in services.settings.topics}
        self._severities = {s.code: s.name for s in services.settings.severities}

    def header(self) -> list[str]:
        return [self._t(f"export.{column}") for column in COLUMNS]

    def rows(self, reports: list[Report]) -> list[list[Cell]]:
        return [row for report in reports for row in self._report_rows(report)]

    def csv(self, reports: list[Report]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.header())
        writer.writerows(self.rows(reports))
        return buffer.getvalue()

    def json(self, reports: list[Report]) -> str:
        objects = [self._report_object(r) for r in reports]
        return json.dumps(objects, ensure_ascii=False, indent=2) + "\n"

    def xlsx(self, reports: list[Report]) -> bytes:
        book = Workbook()
        sheet = book.active
        sheet.title = self._t("export.sheet_reports")
        _fill(sheet, self.header(), self.rows(reports))
        _fill(book.create_sheet(self._t("export.sheet_counts")), *self._counts(reports))
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    # --- one report ----------------------------------------------------------------------

    def _commune(self, unit: Unit) -> str:
        for part in reversed(unit.path.strip("/").split("/")):
            commune = self._communes.get(int(part)) if part else None
            if commune is not None:
                return commune.name
        return ""

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._settings.timezone)

    def _report_rows(self, report: Report) -> list[list[Cell]]:
        """One row per entry; "sent at" is when that entry was sent (an addition comes later)."""
        files = _files(report)
        rows: list[list[Cell]] = []
        for item in report.items:
            entry = self._t(f"export.entry_{item.kind}") if item.kind in ENTRIES else item.kind
            people: Cell = item.people if item.people is not None else ""
            described = [self._topic_name(item.topic), self._severity_name(item.severity)]
            row = self._row(report, item, item.sent_at, [entry, *described, people, item.text])
            rows.append([*row, files[item.id], report.status])
        if not rows:  # a report without entries still shows up
            row = self._row(report, None, report.sent_at, [""] * 5)
            rows.append([*row, files[None], report.status])
        return rows

    def _row(
        self, report: Report, item: ReportItem | None, sent_at: datetime, entry: list[Cell]
    ) -> list[Cell]:
        return [
            report.id,
            self._t(f"export.kind_{report.kind.value}"),
            report.week,
            f"{self._local(sent_at):%Y-%m-%d %H:%M}",
            f"{self._local(report.stored_at):%Y-%m-%d %H:%M}",
            self._commune(report.unit),
            report.unit.code,
            report.unit.name,
            reporter_label(self._services, None, report, item),
            *entry,
            self._t("export.yes") if report.is_denunciation else "",
        ]

    def _report_object(self, report: Report) -> dict[str, Any]:
        files = _files(report)
        return {
            "number": report.id,
            "kind": report.kind.value,
            "week": report.week,
            "sent_at": self._local(report.sent_at).isoformat(),
            "stored_at": self._local(report.stored_at).isoformat(),
            "unit_code": report.unit.code,
            "unit_name": report.unit.name,
            "commune": self._commune(report.unit),
            "reporter": reporter_label(self._services, None, report),
            "is_denunciation": report.is_denunciation,
            "status": report.status,
            "items": [self._item_object(item, files[item.id]) for item in report.items],
        }

    def _item_object(self, item: ReportItem, attachments: int) -> dict[str, Any]:
        return {
            "entry": item.kind,
            "sent_at": self._local(item.sent_at).isoformat(),
            "topic": item.topic,
            "topic_name": self._topic_name(item.topic) or None,
            "severity": item.severity,
            "people": item.people,
            "text": item.text,
            "attachments": attachments,
        }

    def _topic_name(self, code: str | None) -> str:
        # a topic or severity since removed from the config shows its code
        return self._topics.get(code, code) if code else ""

    def _severity_name(self, code: str | None) -> str:
        return self._severities.get(code, code) if code else ""

    # --- the counts sheet ----------------------------------------------------------------

    def _counts(self, reports: list[Report]) -> tuple[list[str], list[list[Cell]]]:
        """Issues by unit (rows, every unit with a report) and topic (columns), with totals."""
        topics = self._settings.topics
        header = [self._t("export.unit_code"), self._t("export.unit_name")]
        header += [t.short for t in topics] + [self._t("export.total")]
        units: dict[str, Unit] = {}
        counts: Counter[tuple[str, str | None]] = Counter()
        for report in reports:
            units.setdefault(report.unit.code, report.unit)
            for item in report.items:
                if item.kind == "issue":
                    counts[report.unit.code, item.topic] += 1
        rows: list[list[Cell]] = []
        for code in sorted(units):
            by_topic = [counts[code, t.code] for t in topics]
            total = sum(n for (unit, _), n in counts.items() if unit == code)
            rows.append([code, units[code].name, *by_topic, total])
        return header, rows


def _files(report: Report) -> Counter[int | None]:
    """Attachments by entry; any not tied to an entry count on the report's first entry."""
    files: Counter[int | None] = Counter(a.item_id for a in report.attachments)
    if report.items and None in files:
        files[report.items[0].id] += files.pop(None)
    return files


def _fill(sheet: Any, header: list[str], rows: list[list[Cell]]) -> None:
    """Header in bold and frozen, then the rows; columns as wide as their content, in reason."""
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, title in enumerate(header):
        longest = max([len(title), *(len(str(row[index])) for row in rows)])
        letter = sheet.cell(row=1, column=index + 1).column_letter
        sheet.column_dimensions[letter].width = min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)
