"""The unit tree: provinces, communes, villages and any other level."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import UnitRow
from storage.records import Unit


@dataclass(frozen=True)
class NewUnit:
    code: str
    name: str
    level: str
    parent_code: str | None
    search_name: str


def to_unit(row: UnitRow) -> Unit:
    return Unit(row.id, row.code, row.name, row.level, row.parent_id, row.path)


class UnitRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count(UnitRow.id))) or 0)

    async def by_code(self, code: str) -> Unit | None:
        async with self._sessions() as session:
            row = await session.scalar(select(UnitRow).where(UnitRow.code == code))
            return to_unit(row) if row else None

    async def by_ids(self, unit_ids: Sequence[int]) -> dict[int, Unit]:
        async with self._sessions() as session:
            rows = await session.scalars(select(UnitRow).where(UnitRow.id.in_(set(unit_ids))))
            return {row.id: to_unit(row) for row in rows}

    async def by_id(self, unit_id: int) -> Unit | None:
        async with self._sessions() as session:
            row = await session.get(UnitRow, unit_id)
            return to_unit(row) if row else None

    async def codes(self, codes: Sequence[str]) -> dict[str, Unit]:
        """The units among ``codes`` that exist, by code."""
        found: dict[str, Unit] = {}
        async with self._sessions() as session:
            for start in range(0, len(codes), 500):
                chunk = list(codes[start : start + 500])
                rows = await session.scalars(select(UnitRow).where(UnitRow.code.in_(chunk)))
                found.update({row.code: to_unit(row) for row in rows})
        return found

    async def upsert_many(self, units: Sequence[NewUnit]) -> tuple[int, int]:
        """Add or update units in one transaction, parents before children.

        A parent must exist already or come earlier in ``units``. Returns (added, updated).
        """
        added = updated = 0
        async with self._sessions.begin() as session:
            for new in units:
                parent: UnitRow | None = None
                if new.parent_code is not None:
                    parent = await session.scalar(
                        select(UnitRow).where(UnitRow.code == new.parent_code)
                    )
                    if parent is None:
                        raise LookupError(f"unknown parent {new.parent_code}")
                row = await session.scalar(select(UnitRow).where(UnitRow.code == new.code))
                if row is None:
                    row = UnitRow(code=new.code, path="")
                    session.add(row)
                    added += 1
                else:
                    updated += 1
                row.name = new.name
                row.level = new.level
                row.search_name = new.search_name
                row.parent_id = parent.id if parent else None
                await session.flush()
                old_path = row.path
                row.path = f"{parent.path if parent else '/'}{row.id}/"
                if old_path and old_path != row.path:
                    # a unit moved: everything below it moves with it
                    await session.execute(
                        update(UnitRow)
                        .where(UnitRow.path.startswith(old_path), UnitRow.id != row.id)
                        .values(
                            path=literal(row.path) + func.substr(UnitRow.path, len(old_path) + 1)
                        )
                    )
        return added, updated

    async def subtree(self, unit: Unit, level: str | None = None) -> list[Unit]:
        """The unit and everything below it (only ``level`` if given), by path."""
        async with self._sessions() as session:
            query = select(UnitRow).where(UnitRow.path.startswith(unit.path))
            if level is not None:
                query = query.where(UnitRow.level == level)
            rows = await session.scalars(query.order_by(UnitRow.path))
            return [to_unit(r) for r in rows]

    async def roots(self) -> list[Unit]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(UnitRow).where(UnitRow.parent_id.is_(None)).order_by(UnitRow.code)
            )
            return [to_unit(r) for r in rows]

    async def all(self) -> list[Unit]:
        async with self._sessions() as session:
            rows = await session.scalars(select(UnitRow).order_by(UnitRow.path))
            return [to_unit(r) for r in rows]

    async def ancestors(self, unit: Unit) -> list[Unit]:
        """The units above ``unit``, top down."""
        ids = [int(part) for part in unit.path.strip("/").split("/")[:-1]]
        if not ids:
            return []
        async with self._sessions() as session:
            rows = {
                r.id: r for r in await session.scalars(select(UnitRow).where(UnitRow.id.in_(ids)))
            }
            return [to_unit(rows[i]) for i in ids if i in rows]
