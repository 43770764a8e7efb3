"""A whole quarter with the injected clock: every job at its time (twice, to be sure), one
"restart" after a missed Friday 08:00; each message goes once, to the right people."""

from __future__ import annotations

from datetime import date, timedelta

from docx import Document
from openpyxl import load_workbook

from bot.scheduler import JobRunner
from handlers.messages import Reply
from handlers.weeks import Week
from storage.records import ItemDraft
from tests.harness import Harness
from tests.rhythm_helpers import TZ, keys, local, members, rows

DOWN_AT_EIGHT = date(2026, 11, 6)  # a Friday: the service is down at 08:00, back at 10:00
URGENT_DAY = date(2026, 11, 18)


async def test_a_quarter_of_reminders_digests_agendas_and_drafts(harness: Harness) -> None:
    h = harness
    m = await members(h)
    runner = JobRunner(h.app.services)
    day, end = date(2026, 9, 28), date(2027, 1, 1)
    while day < end:
        for hour, minute in ((7, 30), (8, 0), (10, 0)):
            if day == DOWN_AT_EIGHT and (hour, minute) == (8, 0):
                continue
            h.clock.set(local(day.year, day.month, day.day, hour, minute))
            if day == DOWN_AT_EIGHT and hour == 10:
                runner = JobRunner(h.app.services)  # the service started again
            await runner.run_due(h.clock.now())
            await runner.run_due(h.clock.now())  # a second timer firing changes nothing
            if hour == 10:
                await _people_act(h, m, day)
        day += timedelta(days=1)

    weeks = [Week.of_date(date(2026, 9, 28) + timedelta(weeks=n)) for n in range(14)]
    weeks = [w for w in weeks if w.monday + timedelta(days=4) < end]
    expected = set()
    for week in weeks:
        for who in ("binh", "chi", "dung"):
            expected.add(f"remind:{m[who].id}:{week.key}:1")
        for who in ("chi", "dung"):
            expected.add(f"remind:{m[who].id}:{week.key}:2")
    assert sorted(await keys(h, "remind:")) == sorted(expected)
    runs = await h.store.jobs.runs("remind_first")
    assert len(runs) == len(weeks) == 13
    assert [r.late for r in runs].count(True) == 1
    assert {(r.job, r.fire_time) for r in await h.store.jobs.runs()}.__len__() == len(
        await h.store.jobs.runs()
    )

    digests = await keys(h, f"digest:{m['lan'].id}:")
    assert len(digests) == 14  # Mondays 28/9 … 28/12: weeks 39 … 52
    missing = await rows(h, "missing:")
    # Lũng Cú reports every week of the walk; week 39 was before it began
    assert [r.idem_key for r in missing if r.member_id == m["minh"].id] == [
        f"missing:{m['minh'].id}:2026-W39"
    ]
    assert len([r for r in missing if r.member_id == m["lan"].id]) == 14
    assert all("Thôn Phố Cáo" in r.payload["text"] for r in missing if r.member_id == m["lan"].id)
    w47 = await rows(h, f"digest:{m['lan'].id}:2026-W47")
    assert "Khẩn: 1" in w47[0].payload["text"]

    agendas = sorted(await keys(h, "agenda:"))
    assert agendas == sorted(
        f"agenda:{m[who].id}:2026-{month}" for who in ("lan", "minh") for month in (10, 11, 12)
    )
    november = (await rows(h, f"agenda:{m['lan'].id}:2026-11"))[0].payload["text"]
    assert "thứ Tư 25/11, 08:00" in november
    assert "Báo cáo khẩn trong tháng (1)" in november and "Thôn Phố Cáo (0/3 tuần)" in november
    agenda_days = {
        r.fire_time.astimezone(TZ).date()
        for r in await h.store.jobs.runs("briefing_agenda")
        if "sent" in r.summary
    }
    assert agenda_days == {date(2026, 10, 20), date(2026, 11, 20), date(2026, 12, 22)}

    periodic = sorted(await keys(h, f"periodic:{m['lan'].id}:"))
    assert periodic == [
        f"periodic:{m['lan'].id}:2026-Q4:2",
        f"periodic:{m['lan'].id}:2026-Q4:7",
        f"periodic:{m['lan'].id}:2026:2",
        f"periodic:{m['lan'].id}:2026:7",
    ]
    row = (await rows(h, f"periodic:{m['lan'].id}:2026-Q4:2"))[0]
    docx_file, xlsx_file = Reply.from_payload(row.payload).files
    text = "\n".join(p.text for p in Document(docx_file.path).paragraphs)
    assert "BÁO CÁO TÌNH HÌNH NHÂN DÂN quý IV năm 2026" in text
    assert "Báo cáo tuần: 18/27 lượt thôn-tuần (67%), 3 thôn trong 9 tuần" in text
    assert "Báo cáo khẩn: 1." in text and "VI. Đề xuất, kiến nghị" in text
    book = load_workbook(xlsx_file.path)
    topics = {r[0]: r[1] for r in book.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert topics == {"Đất đai": 1}
    province = (await rows(h, f"periodic:{m['oanh'].id}:2026-Q4:2"))[0]
    doc = Document(Reply.from_payload(province.payload).files[0].path)
    assert any("27/36" in p.text for p in doc.paragraphs)
    table = doc.tables[0]
    assert [c.text for c in table.rows[1].cells] == ["Xã Đồng Văn", "18/27", "67%", "1"]
    assert [c.text for c in table.rows[2].cells] == ["Xã Lũng Cú", "9/9", "100%", "0"]


async def _people_act(h: Harness, m: dict, day: date) -> None:  # type: ignore[type-arg]
    """an files on Wednesdays, binh answers Friday's reminder, dung reports on Saturdays
    (after both reminders), chi never does; chi sends one urgent report."""
    if day.weekday() == 2:
        assert "bình thường" in await h.say("an", "/baocao binh thuong")
    if day.weekday() == 4:
        week = Week.of_date(day)
        assert "bình thường" in await h.say("binh", button=f"/binhthuong {week.key}")
    if day.weekday() == 5:
        assert "bình thường" in await h.say("dung", "1")  # the typed answer to the reminder
    if day == URGENT_DAY:
        now = h.clock.now()
        await h.store.reports.submit_urgent(
            unit_id=m["chi"].unit.id,
            reporter_id=m["chi"].id,
            week=Week.of(now, TZ).key,
            source="walk:urgent",
            sent_at=now,
            now=now,
            item=ItemDraft("dat_dai", "50 nguoi keo len UBND xa", "urgent", 50),
            place=None,
            denunciation=False,
        )
