"""Weekly reminders, their one-tap answer, the Monday digest, restarts and quiet hours."""

from __future__ import annotations

import asyncio
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import update

from bot.app import opened
from bot.config import Config
from bot.scheduler import JobRunner
from handlers.clock import FixedClock
from handlers.messages import Reply
from storage.models import MemberRow
from storage.records import ItemDraft, Role
from tests.harness import Harness
from tests.rhythm_helpers import keys, local, members, rows, text_to

HOTSPOT_JOBS = ("reage_hotspots", "escalate")  # daily and every 15 minutes

FRIDAY = local(2026, 11, 27, 8, 0)  # week 48
SATURDAY = local(2026, 11, 28, 8, 0)
MONDAY_DIGEST = local(2026, 11, 30, 7, 30)
MONDAY = local(2026, 11, 30, 8, 0)


async def test_reminders_go_only_to_silent_villages_and_once(harness: Harness) -> None:
    h = harness
    m = await members(h)
    assert "bình thường (#1)" in await h.say("an", "/baocao binh thuong")
    runner = JobRunner(h.app.services)
    h.clock.set(FRIDAY)
    await runner.run_due(h.clock.now())
    first = await keys(h, "remind:")
    assert sorted(first) == sorted(f"remind:{m[n].id}:2026-W48:1" for n in ("binh", "chi", "dung"))
    # the same job again, by the timer, by hand, and after a "restart": nothing new
    assert await runner.run_due(h.clock.now()) == []
    await runner.run("remind_first", FRIDAY, manual=True)
    h.advance(minutes=5)
    assert await JobRunner(h.app.services).run_due(h.clock.now()) == []
    assert await keys(h, "remind:") == first
    reminder = await text_to(h, "remind:", m["binh"])
    assert "Thôn Sà Phìn chưa có báo cáo tuần 48 (23/11–29/11)" in reminder
    # one tap on the reminder's button, and a typed answer without diacritics
    assert "bình thường (#2)" in await h.say("binh", button="/binhthuong 2026-W48")
    assert "bình thường (#3)" in await h.say("chi", "binh thuong")
    h.clock.set(SATURDAY)
    await runner.run_due(h.clock.now())
    assert await keys(h, "remind:") == [*first, f"remind:{m['dung'].id}:2026-W48:2"]
    assert "Nhắc lần 2" in await text_to(h, f"remind:{m['dung'].id}:2026-W48:2", m["dung"])


async def test_a_typed_number_after_a_reminder_answers_it(harness: Harness) -> None:
    h = harness
    await members(h)
    await JobRunner(h.app.services).run("remind_first", FRIDAY)
    h.clock.set(FRIDAY)
    text = await h.say("binh", "2")  # "Có việc cần báo": straight into the report
    assert "lĩnh vực" in text
    await h.join("em", Role.REPORTER, "721-01")  # joined after the reminder: only help
    assert "Gõ /baocao" in await h.say("em", "binh thuong")
    assert "bình thường" in await h.say("chi", "1")


async def test_left_and_unreachable_members_are_skipped_and_counted(harness: Harness) -> None:
    h = harness
    m = await members(h)
    await h.store.members.mark_unreachable(h.channel, "chat-chi", h.clock.now())
    async with h.store.engine.begin() as conn:  # dung has left
        await conn.execute(
            update(MemberRow).where(MemberRow.id == m["dung"].id).values(active=False)
        )
    result = await JobRunner(h.app.services).run("remind_first", FRIDAY)
    assert result is not None and "2 sent" in result.summary and "2 skipped" in result.summary
    assert f"remind:{m['chi'].id}:2026-W48:1" not in await keys(h, "remind:")


async def test_digest_numbers_match_the_stored_reports(harness: Harness) -> None:
    h = harness
    m = await members(h)
    store = h.store
    before = local(2026, 11, 18, 9)  # week 47: one land issue
    await store.reports.submit_weekly(
        unit_id=m["an"].unit.id,
        reporter_id=m["an"].id,
        week="2026-W47",
        source="t:47",
        sent_at=before,
        now=before,
        items=[ItemDraft("dat_dai", "Tranh chap dat", "attention", 10)],
    )
    # week 48: an reports on Wednesday (on time), binh on Saturday (late), chi never
    for who, when, topic, severity in (
        ("an", local(2026, 11, 25, 9), "dat_dai", "attention"),
        ("binh", local(2026, 11, 28, 9), "an_ninh", "normal"),
    ):
        await store.reports.submit_weekly(
            unit_id=m[who].unit.id,
            reporter_id=m[who].id,
            week="2026-W48",
            source=f"t:{who}",
            sent_at=when,
            now=when,
            items=[
                ItemDraft(topic, f"Viec {who} khoang 30 nguoi", severity, 30),
                *([ItemDraft("ton_giao", "Tu tap", "attention", 5)] if who == "an" else []),
            ],
        )
    urgent = await store.reports.submit_urgent(
        unit_id=m["chi"].unit.id,
        reporter_id=m["chi"].id,
        week="2026-W48",
        source="t:urgent",
        sent_at=local(2026, 11, 26, 14),
        now=local(2026, 11, 26, 14),
        item=ItemDraft("dat_dai", "50 nguoi keo len UBND xa", "urgent", 50),
        place=None,
        denunciation=False,
    )
    runner = JobRunner(h.app.services)
    h.clock.set(MONDAY_DIGEST)
    results = await runner.run_due(h.clock.now())
    assert [r.job for r in results if r.job not in HOTSPOT_JOBS] == ["digest"]
    text = await text_to(h, "digest:", m["lan"])
    assert "📊 Tổng hợp tuần 48 (23/11–29/11) — Xã Đồng Văn" in text
    assert "Đã báo cáo: 2/3 thôn (1 đúng hạn). Chưa: Thôn Phố Cáo." in text
    assert "Đất đai 2 (↑1)" in text  # an's issue and the urgent report; week 47 had one
    assert "An ninh, trật tự 1 (↑1)" in text and "Tôn giáo 1 (↑1)" in text
    assert "Khẩn cấp 1 · Cần chú ý 2 · Bình thường 1" in text
    assert f"#{urgent.report_id} Thôn Phố Cáo · Đất đai" in text and "chưa tiếp nhận" in text
    assert '"Viec an khoang 30 nguoi"' in text
    officer = await text_to(h, "digest:", m["oanh"])
    assert "Đã báo cáo: 2/4 thôn (1 đúng hạn)." in officer
    assert "Theo đơn vị: Xã Đồng Văn 2/3 · Xã Lũng Cú 0/1" in officer
    row = next(r for r in await rows(h, "digest:") if r.member_id == m["lan"].id)
    files = Reply.from_payload(row.payload).files
    assert [f.kind for f in files] == ["document", "photo"]
    book = load_workbook(files[0].path)
    villages = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert [(v[1], v[4]) for v in villages] == [
        ("Thôn Lũng Cú", "Có"),
        ("Thôn Sà Phìn", None),
        ("Thôn Phố Cáo", None),
    ]
    topics = {r[0]: r[1:] for r in book.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert topics["Đất đai"] == (2, 1, 1)
    png = await asyncio.to_thread(Path(files[1].path).read_bytes)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


async def test_an_empty_commune_gets_no_digest_and_no_error(harness: Harness) -> None:
    h = harness
    await h.store.units.upsert_many([])
    from storage.repositories.units import NewUnit

    await h.store.units.upsert_many([NewUnit("799", "Xã Mới", "commune", "08", "xa moi")])
    leader = await h.join("moi", Role.LEADER, "799")
    result = await JobRunner(h.app.services).run("digest", MONDAY_DIGEST)
    assert result is not None and result.status == "done"
    assert "1 without villages" in result.summary
    assert not [r for r in await rows(h, "digest:") if r.member_id == leader.id]
    agenda = await JobRunner(h.app.services).run("briefing_agenda", local(2026, 11, 20))
    assert agenda is not None and agenda.status == "done"


async def test_a_restart_after_a_missed_0800_sends_that_days_reminders_once(
    config: Config, harness: Harness
) -> None:
    h = harness
    m = await members(h)
    h.clock.set(local(2026, 11, 27, 7, 0))  # Friday 07:00: the service runs, nothing due
    ran = await JobRunner(h.app.services).run_due(h.clock.now())
    assert [r.job for r in ran if r.job not in HOTSPOT_JOBS] == []
    # the service is down at 08:00 and starts again at 09:30: a new app on the same database
    for minute in (0, 30):
        clock = FixedClock(local(2026, 11, 27, 9, 30 + minute // 2))
        async with opened(config, clock) as app:
            results = [
                r
                for r in await JobRunner(app.services).run_due(clock.now())
                if r.job not in HOTSPOT_JOBS
            ]
            if minute == 0:
                assert ("remind_first", True) in [(r.job, r.late) for r in results]
                assert all(r.late for r in results)  # the daily jobs were due at 08:00 too
            else:
                assert results == []
    reminded = await keys(h, "remind:")
    assert len(reminded) == 4 and f"remind:{m['an'].id}:2026-W48:1" in reminded
    runs = await h.store.jobs.runs("remind_first")
    assert [(r.status, r.late) for r in runs] == [("done", True)]


async def test_quiet_hours_hold_reminders_but_not_urgent_alerts(harness: Harness) -> None:
    h = harness
    m = await members(h)
    h.clock.set(local(2026, 11, 27, 22, 0))
    await JobRunner(h.app.services).run("remind_first", h.clock.now(), manual=True)
    held = await rows(h, "remind:")
    assert held and all(r.next_attempt_at == local(2026, 11, 28, 6, 30) for r in held)
    assert await h.store.messages.due(h.channel, h.clock.now()) == []
    await h.say("an", "/khancap")
    await h.say("an", "Khoang 50 nguoi keo len UBND xa")
    await h.say("an", "dat dai")
    alerts = await rows(h, "alert:")
    assert alerts and all(r.next_attempt_at is None for r in alerts)
    assert {r.member_id for r in alerts} == {m["lan"].id, m["oanh"].id}
