"""Weekly reminders: Friday to villages without a report, Saturday firmer, Monday to leaders."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from handlers.messages import Button, Reply
from handlers.rhythm.send import Batch, flush
from handlers.services import Services
from handlers.weeks import Week
from storage.records import Role, Unit

ROOT = "/"


def reminder_buttons(services: Services, week: Week) -> tuple[tuple[Button, ...], ...]:
    """The one-tap quiet week, and the way into a full report; they work from any state."""
    t = services.texts
    return (
        (
            Button(t("buttons.normal"), f"/binhthuong {week.key}", ("binh thuong", "khong co gi")),
            Button(t("buttons.issue"), "/baocao co viec", ("co viec",)),
        ),
    )


async def remind_first(services: Services, at: datetime) -> str:
    """Friday: every reporter whose village has no report yet this week."""
    return await _remind(services, at, 1)


async def remind_second(services: Services, at: datetime) -> str:
    """Saturday: a second, firmer reminder to the villages still silent."""
    return await _remind(services, at, 2)


async def _remind(services: Services, at: datetime, n: int) -> str:
    week = Week.of(at, services.settings.timezone)
    store = services.store
    reporters = await store.rhythm.recipients(ROOT, [Role.REPORTER])
    reported = await store.rhythm.weekly_sent(ROOT, week.key)
    batch = Batch()
    villages: set[int] = set()
    key = "rhythm.remind_first" if n == 1 else "rhythm.remind_second"
    for recipient in reporters:
        unit = recipient.member.unit
        if unit.id in reported or unit.level != services.settings.levels.reporter:
            continue
        text = services.texts(key, unit=unit.name, week=week.label())
        reply = Reply(text, reminder_buttons(services, week))
        if batch.add(services, recipient, f"remind:{recipient.member.id}:{week.key}:{n}", reply):
            villages.add(unit.id)
    added = await flush(services, batch)
    return (
        f"{week.key} reminder {n}: {added} sent to {len(villages)} villages, "
        f"{batch.skipped} skipped (left or unreachable)"
    )


async def missing_to_leaders(services: Services, at: datetime) -> str:
    """Monday: each leader gets the villages of the commune that did not report last week."""
    settings = services.settings
    store = services.store
    week = Week.of(at - timedelta(days=7), settings.timezone)
    leaders = await store.rhythm.recipients(ROOT, [Role.LEADER])
    by_scope: dict[int, list[Unit]] = defaultdict(list)
    batch = Batch()
    told = 0
    for recipient in leaders:
        scope = recipient.member.unit
        if scope.id not in by_scope:
            villages = await store.units.subtree(scope, settings.levels.reporter)
            reported = await store.rhythm.weekly_sent(scope.path, week.key)
            by_scope[scope.id] = [v for v in villages if v.id not in reported]
            by_scope[-scope.id] = villages  # the whole list, for the count
        absent, villages = by_scope[scope.id], by_scope[-scope.id]
        if not absent:
            continue  # all reported, or no villages yet: nothing to say
        text = services.texts(
            "rhythm.missing_leader",
            week=week.label().capitalize(),
            scope=scope.name,
            done=len(villages) - len(absent),
            total=len(villages),
            names=", ".join(v.name for v in absent[:30])
            + (services.texts("queries.and_more", n=len(absent) - 30) if len(absent) > 30 else ""),
        )
        if batch.add(services, recipient, f"missing:{recipient.member.id}:{week.key}", Reply(text)):
            told += 1
    added = await flush(services, batch)
    return f"{week.key} missing villages: {added} leaders told, {batch.skipped} skipped"
