"""The repositories' contract, on SQLite and PostgreSQL alike."""

import asyncio
from datetime import UTC, timedelta

import pytest
from sqlalchemy import text

from bot.config import Config
from storage.database import DatabaseError, migrate, normalize_url
from storage.records import ItemDraft, Role
from storage.repositories.messages import OutboxEntry
from storage.repositories.units import NewUnit
from storage.store import Store
from tests.harness import START, Harness


async def _reporters(harness: Harness) -> tuple[int, int, int]:
    a = await harness.join("an", Role.REPORTER, "721-01")
    b = await harness.join("binh", Role.REPORTER, "721-01")
    return a.id, b.id, a.unit.id


async def test_two_reporters_at_once_make_one_weekly_report(harness: Harness) -> None:
    a, b, unit = await _reporters(harness)
    item = ItemDraft("dat_dai", "Tranh chap", "attention", 3)
    results = await asyncio.gather(
        *(
            harness.store.reports.submit_weekly(
                unit_id=unit,
                reporter_id=who,
                week="2026-W48",
                source=f"s{who}",
                sent_at=START,
                now=START,
                items=[item],
            )
            for who in (a, b)
        )
    )
    assert results[0].report_id == results[1].report_id
    assert sorted(r.amended for r in results) == [False, True]
    report = await harness.store.reports.get(results[0].report_id)
    assert report is not None and len(report.items) == 2


async def test_the_same_source_is_stored_once(harness: Harness) -> None:
    a, _, unit = await _reporters(harness)
    kwargs = dict(
        unit_id=unit,
        reporter_id=a,
        week="2026-W48",
        source="test:42",
        sent_at=START,
        now=START,
        item=ItemDraft("an_ninh", "x", "urgent", None),
        place=None,
        denunciation=False,
    )
    first = await harness.store.reports.submit_urgent(**kwargs)  # type: ignore[arg-type]
    again = await harness.store.reports.submit_urgent(**kwargs)  # type: ignore[arg-type]
    assert again.report_id == first.report_id and again.replayed


async def test_times_come_back_aware_and_equal(harness: Harness) -> None:
    a, _, unit = await _reporters(harness)
    local_sent = START.astimezone(harness.app.services.settings.timezone)
    done = await harness.store.reports.submit_weekly(
        unit_id=unit,
        reporter_id=a,
        week="2026-W48",
        source="t",
        sent_at=local_sent,
        now=START,
        items=[],
    )
    report = await harness.store.reports.get(done.report_id)
    assert report is not None
    assert report.sent_at == START and report.sent_at.tzinfo is not None
    assert report.sent_at.utcoffset() == timedelta(0) and report.sent_at.tzinfo == UTC


async def test_inbox_and_outbox_deduplicate(harness: Harness) -> None:
    messages = harness.store.messages
    assert await messages.receive("test", "1", "c", {}, START) is not None
    assert await messages.receive("test", "1", "c", {}, START) is None
    entry = OutboxEntry("alert:1:2", "test", "c", None, {"text": "x", "buttons": []})
    assert await messages.enqueue([entry, entry], START) == 1
    assert await messages.enqueue([entry], START) == 0
    assert len(await messages.pending("test")) == 1


async def test_a_database_newer_than_the_code_is_refused(config: Config) -> None:
    store = await Store.open(config.database_url, ["normal", "urgent"])
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(DatabaseError, match="newer than this code"):
        await migrate(store.engine)
    await store.close()


def test_plain_urls_become_async_ones() -> None:
    assert normalize_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_url("postgres://u:p@h:5/db") == "postgresql+asyncpg://u:p@h:5/db"
    assert normalize_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    with pytest.raises(DatabaseError):
        normalize_url("mysql://h/db")
    with pytest.raises(DatabaseError):
        normalize_url("not a url")


async def test_moving_a_unit_moves_what_is_below_it(harness: Harness) -> None:
    units = harness.store.units
    await units.upsert_many([NewUnit("09", "Tỉnh Khác", "province", None, "tinh khac")])
    await units.upsert_many([NewUnit("721", "Xã Đồng Văn", "commune", "09", "xa dong van")])
    other = await units.by_code("09")
    village = await units.by_code("721-01")
    assert other is not None and village is not None
    assert other.contains(village)
    assert [u.code for u in await units.subtree(other, "village")] == ["721-01", "721-02", "721-03"]


async def test_which_messenger_an_alert_goes_to(harness: Harness) -> None:
    member = await harness.join("an", Role.REPORTER, "721-01")
    text = await harness.say("an", "/lienket")
    code = text.split(": ")[1].split()[0]
    harness.advance(minutes=10)
    other = Harness(harness.app, harness.clock, channel="zalo")
    assert "Đã đăng ký" in await other.say("an", f"/start {code}")
    members = harness.store.members
    # the one used last; or the preferred one; or one whose channel is running
    assert (await members.latest_identities([member.id]))[member.id].channel == "zalo"
    preferred = await members.latest_identities([member.id], prefer="test")
    assert preferred[member.id].channel == "test"
    running = await members.latest_identities([member.id], channels={"test"}, prefer="zalo")
    assert running[member.id].channel == "test"
    # a blocked account is the last resort
    await members.mark_unreachable("zalo", other.chat_of("an"), harness.clock.now())
    assert (await members.latest_identities([member.id]))[member.id].channel == "test"
