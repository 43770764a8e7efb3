"""Small XLSX workbooks of figures (the digest's week, a periodic report's figures)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

Cell = str | int | float | None
Sheet = tuple[str, Sequence[str], Sequence[Sequence[Cell]]]

MAX_WIDTH = 60


def write_workbook(path: Path, sheets: Sequence[Sheet]) -> Path:
    """One sheet per (title, header, rows): header bold and frozen, columns fitted.

    Blocking: call it through ``asyncio.to_thread``.
    """
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for index, name in enumerate(header):
            longest = max([len(str(name)), *(len(str(r[index] or "")) for r in rows)])
            letter = sheet.cell(row=1, column=index + 1).column_letter
            sheet.column_dimensions[letter].width = min(max(longest + 2, 6), MAX_WIDTH)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
