"""Managing the unit tree from the command line: official provinces, CSV imports, the tree.

``sitrep units load|import|list`` call exactly these functions. Messages here are English:
they are for the administrator at the terminal, not for the people in the chats.
"""

from __future__ import annotations

import asyncio
import csv
import difflib
import io
from _csv import Reader
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vietnam_provinces import Province, Ward

from handlers.matching import fold
from handlers.settings import DomainSettings
from storage.records import Unit
from storage.repositories.units import NewUnit
from storage.store import Store

HEADER = ("code", "name", "parent_code")
MAX_CODE = 64
MAX_NAME = 200
SUGGESTIONS = 5
# What people put before a province's name: "Tỉnh Tuyên Quang", "TP Hà Nội", "Thành phố Huế".
_PREFIXES = ("tinh ", "thanh pho ", "tp ")
_PREFIX_BY_TYPE = {"tỉnh": "Tỉnh", "thành phố trung ương": "Thành phố"}
# Provinces merged into another on 1 July 2025 (Resolution 202/2025/QH15): folded name -> code.
_MERGED = {
    "ha giang": 8, "yen bai": 15, "bac kan": 19, "vinh phuc": 25, "hoa binh": 25,
    "bac giang": 24, "thai binh": 33, "hai duong": 31, "ha nam": 37, "nam dinh": 37,
    "quang binh": 44, "quang nam": 48, "kon tum": 51, "binh dinh": 52, "ninh thuan": 56,
    "phu yen": 66, "dak nong": 68, "binh thuan": 68, "binh phuoc": 75, "binh duong": 79,
    "ba ria vung tau": 79, "long an": 80, "tien giang": 82, "ben tre": 86, "tra vinh": 86,
    "kien giang": 91, "soc trang": 92, "hau giang": 92, "bac lieu": 96,
}  # fmt: skip


class UnitError(Exception):
    """A unit or province that cannot be found; the message is one line for the terminal."""


class ImportFailed(Exception):
    """A CSV file with mistakes; nothing of it was written. ``errors`` name the lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s): " + "; ".join(errors[:3]))
        self.errors = errors


@dataclass(frozen=True)
class LoadResult:
    """``added`` and ``updated`` count the province too; unchanged units are not rewritten."""

    province: Unit
    communes: int
    added: int
    updated: int


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int = 0


# --- official provinces and communes ------------------------------------------------------


def _bare(folded: str) -> str:
    for prefix in _PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix) :]
    return folded


def find_province(query: str) -> Province:
    """The province ``query`` names: an official code ("8", "08") or a name typed any way."""
    provinces = list(Province.iter_all())
    typed = query.strip()
    if typed.isdigit():
        for province in provinces:
            if int(province.code) == int(typed):
                return province
        raise UnitError(f"no province has the official code {typed!r}")
    wanted = _bare(fold(typed))
    by_name = {_bare(fold(p.name)): p for p in provinces}
    if wanted in by_name:
        return by_name[wanted]
    ranked = sorted(
        by_name, key=lambda n: difflib.SequenceMatcher(None, wanted, n).ratio(), reverse=True
    )
    merged = next((p for p in provinces if int(p.code) == _MERGED.get(wanted)), None)
    note = ""
    if merged is not None:
        note = f"; since 1 July 2025 it is part of {province_name(merged)} ({merged.code:02d})"
        ranked.remove(_bare(fold(merged.name)))
    suggestions = [*([merged] if merged else []), *(by_name[n] for n in ranked)]
    names = ", ".join(province_name(p) for p in suggestions[:SUGGESTIONS])
    raise UnitError(f"no province named {query.strip()!r}{note}; closest: {names}")


def province_name(province: Province) -> str:
    """ "Tỉnh Tuyên Quang"; city names already start with "Thành phố" in the official list."""
    prefix = _PREFIX_BY_TYPE.get(province.division_type.value, "")
    if not prefix or fold(province.name).startswith(fold(prefix)):
        return str(province.name)
    return f"{prefix} {province.name}"


async def load_province(store: Store, settings: DomainSettings, query: str) -> LoadResult:
    """Add or update one province (top level) and all its communes (the level below)."""
    province = find_province(query)
    top = settings.levels.keys[0]
    commune_level = settings.levels.below(top)
    if commune_level is None:
        raise UnitError("units.levels in the config has one level; communes need a second")
    code = f"{int(province.code):02d}"
    name = province_name(province)
    wanted = [NewUnit(code, name, top, None, fold(name))]
    for ward in sorted(Ward.iter_by_province(province.code), key=lambda w: int(w.code)):
        wanted.append(
            NewUnit(f"{int(ward.code):05d}", ward.name, commune_level, code, fold(ward.name))
        )
    existing = await store.units.codes([u.code for u in wanted])
    parent_id = existing[code].id if code in existing else None
    changed = [u for u in wanted if _differs(existing.get(u.code), u, parent_id)]
    added, updated = await store.units.upsert_many(changed) if changed else (0, 0)
    unit = await store.units.by_code(code)
    if unit is None:
        raise AssertionError(f"province {code} missing right after it was stored")
    return LoadResult(unit, len(wanted) - 1, added, updated)


def _differs(old: Unit | None, new: NewUnit, parent_id: int | None) -> bool:
    if old is None:
        return True
    if new.parent_code is None:
        parent_id = None
    return (old.name, old.level, old.parent_id) != (new.name, new.level, parent_id)


# --- CSV import ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    line: int
    code: str
    name: str
    parent_code: str


async def import_csv(store: Store, settings: DomainSettings, path: Path) -> ImportResult:
    """Add or update units (usually villages) from a CSV file ``code,name,parent_code``.

    UTF-8, with or without a BOM; cells are stripped; blank lines are skipped. A unit's level
    is the level below its parent's. The parent is an existing unit or another row of the file,
    in any order. An empty ``parent_code`` is an error: top-level units (provinces) come from
    the official list (:func:`load_province`), and a forgotten parent code must not quietly
    create a new top of the tree. An existing unit may move to another parent only if nothing
    is below it. All mistakes of the file are collected, by line (line 1 is the header), and
    if there is any, nothing is written and :class:`ImportFailed` lists them.
    """
    try:
        content = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    except OSError as exc:
        raise ImportFailed([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    errors: list[tuple[int, str]] = []
    rows = _parse(content, errors)
    wanted: list[tuple[NewUnit, bool]] = []
    if rows:
        lookups = {r.code for r in rows} | {r.parent_code for r in rows}
        lookups |= {c.zfill(n) for c in lookups if c.isdigit() for n in (2, 5)}
        existing = await store.units.codes(sorted(lookups))
        for row, level in _levels(settings, rows, existing, errors):
            wanted.append(await _unit(store, row, level, existing, errors))
    if errors:
        raise ImportFailed([f"line {n}: {what}" for n, what in sorted(errors)])
    changed = [new for new, changes in wanted if changes]
    added, updated = await store.units.upsert_many(changed) if changed else (0, 0)
    return ImportResult(added, updated, len(wanted) - len(changed))


def _parse(content: str, errors: list[tuple[int, str]]) -> list[_Row]:
    """The well-formed rows; everything else goes to ``errors`` as (line, message)."""
    reader = csv.reader(io.StringIO(content))
    try:
        return _read(reader, errors)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        errors.append((reader.line_num, f"not readable as CSV: {exc}"))
        return []


def _read(reader: Reader, errors: list[tuple[int, str]]) -> list[_Row]:
    header = next(reader, None)
    expected = ",".join(HEADER)
    if header is None or tuple(cell.strip() for cell in header) != HEADER:
        found = f"not {','.join(header)}" if header else "the file is empty"
        errors.append((1, f"the header must be {expected}; {found}"))
        return []
    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    line = reader.line_num + 1
    for record in reader:
        cells = [cell.strip() for cell in record]
        start, line = line, reader.line_num + 1
        if not any(cells):
            continue
        if len(cells) != len(HEADER):
            errors.append((start, f"expected 3 columns ({expected}), not {len(cells)}"))
            continue
        code, name, parent = cells
        problems = []
        if not code:
            problems.append("the code is empty")
        if not name:
            problems.append("the name is empty")
        if not parent:
            problems.append("parent_code is empty (top-level units come from `sitrep units load`)")
        if len(code) > MAX_CODE or len(name) > MAX_NAME:
            problems.append(f"the code or name is too long (at most {MAX_CODE}, {MAX_NAME})")
        if code in first_line:
            problems.append(f"code {code} appears again (first on line {first_line[code]})")
        elif code:
            first_line[code] = start
        errors.extend((start, problem) for problem in problems)
        if not problems:
            rows.append(_Row(start, code, name, parent))
    return rows


def _levels(
    settings: DomainSettings,
    rows: list[_Row],
    existing: dict[str, Unit],
    errors: list[tuple[int, str]],
) -> list[tuple[_Row, str]]:
    """Each row with its level (the one below its parent's), parents first; a row whose level
    cannot be known is left out, with an error unless an error about its parent explains it."""
    by_code = {row.code: row for row in rows}
    levels: dict[str, str | None] = {}
    order: list[tuple[_Row, str]] = []
    for row in rows:
        if row.code in levels:  # resolved as the parent of an earlier row
            continue
        chain: list[_Row] = []  # the row, its parent in the file, that one's parent...
        current = row.code
        while current in by_code and current not in levels:
            if by_code[current] in chain:
                cycle = chain[chain.index(by_code[current]) :]
                errors.extend((r.line, f"code {r.code} is below itself") for r in cycle)
                levels.update(dict.fromkeys((r.code for r in chain), None))
                break
            chain.append(by_code[current])
            current = by_code[current].parent_code
        else:  # the chain ends at a known level, an existing unit or an unknown code
            level = _parent_level(settings, chain[-1], current, levels, existing, errors)
            for child in reversed(chain):
                below = settings.levels.below(level) if level is not None else None
                if level is not None and below is None:
                    last = f"parent {child.parent_code} is at the last level ({level})"
                    errors.append((child.line, f"{last}; nothing can be below it"))
                if below is not None:
                    order.append((child, below))
                levels[child.code] = level = below
    return order


def _parent_level(
    settings: DomainSettings,
    row: _Row,
    parent: str,
    levels: dict[str, str | None],
    existing: dict[str, Unit],
    errors: list[tuple[int, str]],
) -> str | None:
    """The level of the parent a chain of rows hangs from; None after an error."""
    if parent in levels:
        return levels[parent]
    if parent in existing:
        level = existing[parent].level
        if level in settings.levels.keys:
            return level
        errors.append((row.line, f"parent {parent} has level {level!r}, not configured"))
        return None
    hint = next((p for p in (parent.zfill(5), parent.zfill(2)) if p in existing), None)
    note = f" (did you mean {hint}? spreadsheets drop leading zeros)" if hint else ""
    errors.append((row.line, f"unknown parent code {parent}{note}"))
    return None


async def _unit(
    store: Store, row: _Row, level: str, existing: dict[str, Unit], errors: list[tuple[int, str]]
) -> tuple[NewUnit, bool]:
    """The unit a row asks for, and whether that changes anything."""
    new = NewUnit(row.code, row.name, level, row.parent_code, fold(row.name))
    old = existing.get(row.code)
    if old is None:
        return new, True
    parent = existing.get(row.parent_code)
    parent_id = parent.id if parent is not None else None
    if old.parent_id != parent_id and len(await store.units.subtree(old)) > 1:
        moving = f"{row.code} exists elsewhere in the tree with units below it"
        errors.append((row.line, f"{moving}; moving it is not supported"))
    return new, _differs(old, new, parent_id)


# --- listing ------------------------------------------------------------------------------


async def tree_lines(store: Store, settings: DomainSettings, under: str | None) -> list[str]:
    """The tree as lines "code  name (level name)", two spaces deeper per level, by name."""
    if under is None:
        units = await store.units.all()
        tops = [u for u in units if u.parent_id is None]
    else:
        top = await store.units.by_code(under)
        if top is None:
            raise UnitError(f"unknown unit code {under!r}")
        units = await store.units.subtree(top)
        tops = [top]
    children: dict[int, list[Unit]] = defaultdict(list)
    for unit in units:
        if unit.parent_id is not None:
            children[unit.parent_id].append(unit)
    lines: list[str] = []
    keys = settings.levels.keys
    stack = [(u, 0) for u in sorted(tops, key=_by_name, reverse=True)]
    while stack:
        unit, depth = stack.pop()
        level = settings.levels.name(unit.level) if unit.level in keys else unit.level
        lines.append(f"{'  ' * depth}{unit.code}  {unit.name} ({level})")
        below = sorted(children.get(unit.id, []), key=_by_name, reverse=True)
        stack.extend((child, depth + 1) for child in below)
    return lines


def _by_name(unit: Unit) -> tuple[str, str, str]:
    return (fold(unit.name), unit.name, unit.code)
