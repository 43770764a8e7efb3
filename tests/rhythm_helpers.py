"""Helpers for the rhythm tests: members of the sample communes, local times, outbox reads."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.models import OutboxRow
from storage.records import Member, Role
from tests.harness import Harness

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year: int, month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


async def members(h: Harness) -> dict[str, Member]:
    """Reporters of each sample village, a leader of each commune, a province officer."""
    return {
        "an": await h.join("an", Role.REPORTER, "721-01"),
        "binh": await h.join("binh", Role.REPORTER, "721-02"),
        "chi": await h.join("chi", Role.REPORTER, "721-03"),
        "dung": await h.join("dung", Role.REPORTER, "715-01"),
        "lan": await h.join("lan", Role.LEADER, "721"),
        "minh": await h.join("minh", Role.LEADER, "715"),
        "oanh": await h.join("oanh", Role.OFFICER, "08"),
    }


async def rows(h: Harness, prefix: str = "") -> list[OutboxRow]:
    """Every outbox row (sent or not) whose key starts with ``prefix``."""
    async with h.store.engine.connect() as conn:
        result = await conn.execute(
            select(OutboxRow).where(OutboxRow.idem_key.startswith(prefix)).order_by(OutboxRow.id)
        )
        return list(result.all())  # type: ignore[arg-type]


async def keys(h: Harness, prefix: str = "") -> list[str]:
    return [r.idem_key for r in await rows(h, prefix)]


async def text_to(h: Harness, prefix: str, member: Member) -> str:
    found = [r for r in await rows(h, prefix) if r.member_id == member.id]
    assert len(found) == 1, (prefix, member.display_name, found)
    return str(found[0].payload["text"])
