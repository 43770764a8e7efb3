"""Managing the unit tree from the command line: official provinces, CSV imports, the tree.

``sitrep units load|import|list`` call exactly these functions. Messages here are English:
they are for the administrator at the terminal, not for the people in the chats.
"""

from __future__ import annotations

import asyncio
import csv
import difflib
import io
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
    for province in provinces:
        if province.codename.replace("_", " ") == wanted:
            return province
    ranked = sorted(
        by_name, key=lambda n: difflib.SequenceMatcher(None, wanted, n).ratio(), reverse=True
    )
    names = ", ".join(_province_name(by_name[n]) for n in ranked[:SUGGESTIONS])
    raise UnitError(f"no province named {query.strip()!r}; closest: {names}")


def _province_name(province: Province) -> str:
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
    name = _province_name(province)
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
    errors: list[str] = []
    rows = _parse(content, errors)
    wanted = await _resolve(store, settings, rows, errors) if rows else []
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: int(e.split(":")[0].removeprefix("line "))))
    changed = [new for new, changes in wanted if changes]
    added, updated = await store.units.upsert_many(changed) if changed else (0, 0)
    return ImportResult(added, updated, len(wanted) - len(changed))


def _parse(content: str, errors: list[str]) -> list[_Row]:
    """The well-formed rows; everything else goes to ``errors``."""
    reader = csv.reader(io.StringIO(content))
    header = next(reader, None)
    if header is None:
        errors.append(f"line 1: the file is empty; the first line must be {','.join(HEADER)}")
        return []
    if tuple(cell.strip() for cell in header) != HEADER:
        errors.append(f"line 1: the header must be {','.join(HEADER)}, not {','.join(header)}")
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
            errors.append(
                f"line {start}: expected 3 columns (code,name,parent_code), not {len(cells)}"
            )
            continue
        code, name, parent = cells
        problems = [
            what
            for what, bad in (
                ("the code is empty", not code),
                ("the name is empty", not name),
                (
                    "parent_code is empty (top-level units come from `sitrep units load`)",
                    not parent,
                ),
                (f"the code is longer than {MAX_CODE} characters", len(code) > MAX_CODE),
                (f"the name is longer than {MAX_NAME} characters", len(name) > MAX_NAME),
            )
            if bad
        ]
        if code in first_line:
            problems.append(f"code {code} appears again (first on line {first_line[code]})")
        elif code:
            first_line[code] = start
        if problems:
            errors.extend(f"line {start}: {p}" for p in problems)
            continue
        rows.append(_Row(start, code, name, parent))
    return rows


async def _resolve(
    store: Store, settings: DomainSettings, rows: list[_Row], errors: list[str]
) -> list[tuple[NewUnit, bool]]:
    """Each valid row as a unit with its level, parents first, and whether it changes anything."""
    by_code = {row.code: row for row in rows}
    lookups = {r.code for r in rows} | {r.parent_code for r in rows}
    lookups |= {c.zfill(n) for c in lookups if c.isdigit() for n in (2, 5)}
    existing = await store.units.codes(sorted(lookups))
    levels: dict[str, str | None] = {}
    order: list[_Row] = []
    for row in rows:
        chain: list[_Row] = []
        current: str | None = row.code
        while current in by_code and current not in levels:
            if by_code[current] in chain:
                cycle = chain[chain.index(by_code[current]) :]
                errors.extend(f"line {r.line}: code {r.code} is below itself" for r in cycle)
                levels.update(dict.fromkeys((r.code for r in chain), None))
                current = None
                break
            chain.append(by_code[current])
            current = by_code[current].parent_code
        if current is None or not chain:
            continue
        level = _base_level(settings, chain[-1], current, levels, existing, errors)
        for child in reversed(chain):
            if level is not None:
                below = settings.levels.below(level)
                if below is None:
                    errors.append(
                        f"line {child.line}: parent {child.parent_code} is at the last level "
                        f"({level}); nothing can be below it"
                    )
                else:
                    order.append(child)
                level = below
            levels[child.code] = level
    return [await _unit(store, row, levels, existing, errors) for row in order]


def _base_level(
    settings: DomainSettings,
    row: _Row,
    parent: str,
    levels: dict[str, str | None],
    existing: dict[str, Unit],
    errors: list[str],
) -> str | None:
    """The level of the parent the chain of rows hangs from; None after an error."""
    if parent in levels:
        return levels[parent]
    if parent in existing:
        level = existing[parent].level
        if level not in settings.levels.keys:
            errors.append(f"line {row.line}: parent {parent} has level {level!r}, not configured")
            return None
        return level
    hint = next(
        (p for p in (parent.zfill(5), parent.zfill(2)) if p != parent and p in existing), None
    )
    note = f" (did you mean {hint}? spreadsheets drop leading zeros)" if hint else ""
    errors.append(f"line {row.line}: unknown parent code {parent}{note}")
    return None


async def _unit(
    store: Store,
    row: _Row,
    levels: dict[str, str | None],
    existing: dict[str, Unit],
    errors: list[str],
) -> tuple[NewUnit, bool]:
    level = levels[row.code]
    assert level is not None
    new = NewUnit(row.code, row.name, level, row.parent_code, fold(row.name))
    old = existing.get(row.code)
    if old is None:
        return new, True
    parent = existing.get(row.parent_code)
    parent_id = parent.id if parent is not None else None
    if old.parent_id != parent_id and len(await store.units.subtree(old)) > 1:
        errors.append(
            f"line {row.line}: {row.code} exists elsewhere in the tree and has units below it; "
            "moving it is not supported"
        )
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
    stack = [(u, 0) for u in sorted(tops, key=_by_name, reverse=True)]
    while stack:
        unit, depth = stack.pop()
        lines.append(f"{'  ' * depth}{unit.code}  {unit.name} ({_level_name(settings, unit)})")
        below = sorted(children.get(unit.id, []), key=_by_name, reverse=True)
        stack.extend((child, depth + 1) for child in below)
    return lines


def _by_name(unit: Unit) -> tuple[str, str, str]:
    return (fold(unit.name), unit.name, unit.code)


def _level_name(settings: DomainSettings, unit: Unit) -> str:
    if unit.level in settings.levels.keys:
        return settings.levels.name(unit.level)
    return unit.level
