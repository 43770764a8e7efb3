"""Handling cases: the alert's buttons, what reporters are told, notes, escalation, scopes."""

import asyncio
from datetime import UTC, datetime, timedelta

from handlers.hotspots.hours import add_working_hours
from handlers.hotspots.jobs import escalate_overdue
from handlers.messages import Attachment, Content
from tests.harness import START, Harness
from tests.hotspot_history import LAND, people, weekly, weeks_ago

WHAT = "Khoảng 50 người kéo lên trụ sở UBND xã phản đối thu hồi đất làm đường"


async def _urgent_by_chat(h: Harness) -> None:
    await h.say("an", f"/khancap {WHAT}")
    assert "Đã gửi báo cáo khẩn #" in await h.say("an", "dat dai")


def _to(outbox: list[tuple[str, str, str]], user: str) -> list[str]:
    return [text for _, chat, text in outbox if chat == f"chat-{user}"]


async def test_leader_acknowledges_from_the_alert_and_the_reporter_is_told(
    harness: Harness,
) -> None:
    await people(harness)
    await _urgent_by_chat(harness)
    alert = next(
        r for r in await harness.store.messages.pending("test", 100) if r.chat_id == "chat-lan"
    )
    labels = [b[0] for row in alert.payload["buttons"] for b in row]
    assert labels == ["Tiếp nhận", "Xem chi tiết"]
    ack = alert.payload["buttons"][0][0][1]
    text = await harness.say("lan", button=ack)
    assert text == "Đã tiếp nhận báo cáo #1. Người báo đã được thông báo."
    assert (
        _to(await harness.outbox(), "an")[-1]
        == "Lãnh đạo Xã Đồng Văn đã tiếp nhận báo cáo khẩn #1."
    )
    # handled, then resolved: each needs a note, and each is told
    card = await harness.say("lan", "/xuly 1")
    assert "Trạng thái: đã tiếp nhận" in card and "Lan: tiếp nhận" in card
    assert "xin ghi ngắn ai xử lý" in await harness.say("lan", "1")  # Đang xử lý
    await harness.say("lan", "Công an xã và cán bộ địa chính đang đối thoại với bà con")
    told = _to(await harness.outbox(), "an")[-1]
    assert told.startswith("Báo cáo #1 đang được xử lý (Lãnh đạo Xã Đồng Văn): Công an xã")
    await harness.send("lan", "/xuly 1")
    await harness.press("lan", "Đã giải quyết")
    photo = (Attachment("photo", "media/x.jpg"),)
    note = await harness.say("lan", content=Content.PHOTO, attachments=photo)
    assert "Cần ghi nội dung" in note
    report = await harness.store.reports.get(1)
    assert report is not None and report.status == "handling"
    await harness.say("lan", "Đã đối thoại, bà con đồng ý phương án bồi thường")
    assert _to(await harness.outbox(), "an")[-1].startswith("✅ Báo cáo #1 đã được giải quyết")
    report = await harness.store.reports.get(1)
    assert report is not None and report.status == "resolved"
    history = await harness.store.hotspots.history("report", 1)
    assert [(e.member_name, e.action) for e in history] == [
        ("Lan", "ack"),
        ("Lan", "handle"),
        ("Lan", "resolve"),
    ]


async def test_two_leaders_acknowledging_at_once_are_both_recorded(harness: Harness) -> None:
    await people(harness)
    await _urgent_by_chat(harness)
    answers = await asyncio.gather(
        harness.say("lan", button="hs:ack:r1"), harness.say("minh", button="hs:ack:r1")
    )
    # one was first; the other is told so, and both are in the history
    assert sorted(answers) == [
        "Đã có người tiếp nhận báo cáo #1 trước (đã tiếp nhận); đã ghi thêm lượt tiếp nhận này.",
        "Đã tiếp nhận báo cáo #1. Người báo đã được thông báo.",
    ]
    history = await harness.store.hotspots.history("report", 1)
    assert sorted(e.member_name for e in history if e.action == "ack") == ["Lan", "Minh"]
    told = _to(await harness.outbox(), "an")
    assert told.count("Lãnh đạo Xã Đồng Văn đã tiếp nhận báo cáo khẩn #1.") == 1


async def test_urgent_report_escalates_after_four_hours_until_acknowledged(
    harness: Harness,
) -> None:
    await people(harness)
    await _urgent_by_chat(harness)
    services = harness.app.services
    before = len(await harness.outbox())
    assert await escalate_overdue(services, START + timedelta(hours=3, minutes=59)) == 0
    assert await escalate_overdue(services, START + timedelta(hours=4)) == 1
    assert await escalate_overdue(services, START + timedelta(hours=4)) == 0  # run twice
    outbox = await harness.outbox()
    assert len(outbox) == before + 1
    assert _to(outbox, "officer")[-1].startswith(
        "⏰ Báo cáo khẩn #1 (Thôn Lũng Cú, Xã Đồng Văn) chưa được tiếp nhận sau 4 giờ."
    )
    # nobody above the province: the escalation stops there
    assert await escalate_overdue(services, START + timedelta(hours=9)) == 0
    assert len(await harness.outbox()) == before + 1


async def test_acknowledged_in_time_nothing_escalates(harness: Harness) -> None:
    await people(harness)
    await _urgent_by_chat(harness)
    harness.advance(hours=1)
    await harness.say("lan", button="hs:ack:r1")
    before = len(await harness.outbox())
    assert await escalate_overdue(harness.app.services, START + timedelta(hours=5)) == 0
    assert len(await harness.outbox()) == before


async def test_a_hotspot_alerts_the_commune_and_escalates_after_eight_working_hours(
    harness: Harness,
) -> None:
    p = await people(harness)
    # Friday 13/11 16:00 local: the third village's report makes it a "điểm nóng"
    friday = datetime(2026, 11, 13, 9, 0, tzinfo=UTC)
    plan = [(3, "an", 20), (2, "binh", 30), (1, "an", 40), (0, "chi", 60)]
    for ago, name, crowd in plan:
        await weekly(
            harness,
            p[name],
            "dat_dai",
            LAND.format(n=crowd),
            at=friday - timedelta(weeks=ago),
            count=crowd,
        )
    outbox = await harness.outbox()
    alerts = [t for t in _to(outbox, "lan") if t.startswith("🔥 ĐIỂM NÓNG — Đất đai, Xã Đồng Văn")]
    assert len(alerts) == 1 and "Báo cáo: #1, #2, #3, #4" in alerts[0]
    assert _to(outbox, "tuan") == [] and not any("ĐIỂM NÓNG" in t for t in _to(outbox, "officer"))
    spot = await harness.store.hotspots.get(1)
    assert spot is not None and spot.due_at is not None
    # 1 h on Friday, 4 h on Monday morning, 3 h after lunch: Monday 16:30 local
    assert spot.due_at == datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
    services = harness.app.services
    assert await escalate_overdue(services, datetime(2026, 11, 16, 9, 29, tzinfo=UTC)) == 0
    assert await escalate_overdue(services, datetime(2026, 11, 16, 9, 30, tzinfo=UTC)) == 1
    assert _to(await harness.outbox(), "officer")[-1].startswith(
        "⏰ Điểm nóng Đất đai ở Xã Đồng Văn chưa được tiếp nhận sau"
    )


def test_working_hours_skip_nights_lunch_and_weekends() -> None:
    from zoneinfo import ZoneInfo

    from handlers.hotspots.settings import HotspotSettings

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    settings = HotspotSettings()
    saturday = datetime(2026, 11, 14, 3, 0, tzinfo=UTC)
    # Monday 7:30-11:30 and 13:30-17:00 make 7.5 h: the 8th hour ends Tuesday 8:00 local
    assert add_working_hours(saturday, 8, settings, tz) == datetime(2026, 11, 17, 1, 0, tzinfo=UTC)
    morning = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)  # Monday 10:00 local
    assert add_working_hours(morning, 2, settings, tz) == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)


async def test_scopes_hold_and_resolving_needs_a_note(harness: Harness) -> None:
    p = await people(harness)
    for ago, name in ((3, "an"), (2, "binh"), (1, "chi"), (0.5, "an")):
        await weekly(harness, p[name], "dat_dai", LAND.format(n=40), at=weeks_ago(ago), count=40)
    harness.clock.set(START)
    # a leader of another commune sees nothing of it and cannot act on it
    assert "Không tìm thấy điểm nóng số 1" in await harness.say("tuan", button="hs:resolve:h1")
    assert "Không tìm thấy" in await harness.say("tuan", "/diemnong dong van")
    assert "Không tìm thấy báo cáo #1" in await harness.say("tuan", "/xuly 1")
    # reporters have no such command
    assert "dành cho lãnh đạo xã" in await harness.say("an", "/diemnong")
    assert "dành cho lãnh đạo xã" in await harness.say("an", button="hs:ack:h1")
    # the leader of the commune: no resolution without a note
    assert "xin ghi ngắn kết quả" in await harness.say("lan", button="hs:resolve:h1")
    assert "Đã huỷ" in await harness.say("lan", "/huy")
    spot = await harness.store.hotspots.get(1)
    assert spot is not None and spot.status == "new"
    await harness.say("lan", button="hs:resolve:h1")
    done = await harness.say("lan", "Đã tổ chức đối thoại, hai bên thống nhất ranh giới")
    assert done.startswith("Đã ghi: điểm nóng số 1 (Đất đai) đã được giải quyết.")
    told = _to(await harness.outbox(), "binh")[-1]
    assert told.startswith("✅ Việc đã báo về Đất đai ở Xã Đồng Văn (#2) đã được giải quyết")
    # a new report within the window reopens it
    await weekly(
        harness, p["chi"], "dat_dai", LAND.format(n=70), at=START + timedelta(days=3), count=70
    )
    spot = await harness.store.hotspots.get(1)
    assert spot is not None and spot.status == "reopened" and spot.cycle == 1
    history = await harness.store.hotspots.history("hotspot", 1)
    assert [e.action for e in history][-2:] == ["reopen", "alert"]
