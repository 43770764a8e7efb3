"""The urgent report (/khancap): stored on the first complete answer, sent to leaders at once."""

from handlers.messages import Attachment, Content
from storage.records import Role
from tests.harness import Harness

WHAT = "Khoảng 50 người kéo lên trụ sở UBND xã phản đối thu hồi đất làm đường"


async def _people(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    await harness.join("lan", Role.LEADER, "721")
    await harness.join("tuan", Role.LEADER, "715")  # another commune
    await harness.join("officer", Role.OFFICER, "08")


async def test_urgent_report_reaches_leaders_and_officers_in_scope(harness: Harness) -> None:
    await _people(harness)
    assert "Việc gì đang xảy ra" in await harness.say("an", "/khancap")
    photo = (Attachment("photo", "media/a.jpg"),)
    await harness.say("an", WHAT)
    assert "Đã nhận ảnh" in await harness.say("an", content=Content.PHOTO, attachments=photo)
    text = await harness.say("an", "dat dai")
    assert "Đã gửi báo cáo khẩn #1 tới lãnh đạo Xã Đồng Văn" in text
    outbox = await harness.outbox()
    assert sorted(chat for _, chat, _ in outbox) == ["chat-lan", "chat-officer"]
    alert = outbox[0][2]
    assert "🚨 KHẨN — Thôn Lũng Cú, Xã Đồng Văn, 09:00 25/11" in alert
    assert "Đất đai · khoảng 50 người · 1 ảnh" in alert
    assert "Người báo: An" in alert
    report = await harness.store.reports.get(1)
    assert report is not None and report.kind == "urgent" and report.severity == "urgent"
    assert report.people == 50 and [a.kind for a in report.attachments] == ["photo"]


async def test_text_with_the_command_and_followups(harness: Harness) -> None:
    await _people(harness)
    await harness.say("an", f"/khancap {WHAT}")
    await harness.say("an", "10")  # Đất đai, by its number
    text = await harness.say("an", "Da co cong an xa den")
    assert "Đã bổ sung vào báo cáo khẩn #1" in text
    outbox = [t for _, chat, t in await harness.outbox() if chat == "chat-lan"]
    assert outbox[-1] == 'Bổ sung cho báo cáo khẩn #1 (Thôn Lũng Cú): "Da co cong an xa den"'
    # two hours later the follow-up window has closed: text is not attached any more
    harness.advance(hours=3)
    assert "/baocao" in await harness.say("an", "xin chao")
    report = await harness.store.reports.get(1)
    assert report is not None and len(report.items) == 2


async def test_denunciation_topic_hides_the_reporter_in_the_alert(harness: Harness) -> None:
    await _people(harness)
    await harness.say("an", "/khancap")
    await harness.say("an", "Dan to cao can bo thon nhan hoi lo")
    await harness.say("an", "khieu nai")
    alerts = [t for _, _, t in await harness.outbox()]
    assert alerts and all("Người báo: (giữ bí mật)" in t for t in alerts)
    assert all("An" not in t.split("Người báo:")[1] for t in alerts)


async def test_urgent_report_interrupts_a_weekly_draft_which_is_offered_back(
    harness: Harness,
) -> None:
    await _people(harness)
    for line in ["/baocao", "2", "dat dai", "tiep"]:
        await harness.say("an", line)
    await harness.say("an", "/khancap")
    await harness.say("an", WHAT)
    text = await harness.say("an", "dat dai")
    assert "Đã gửi báo cáo khẩn #1" in text
    assert "Còn một báo cáo tuần 48 (23/11–29/11) (Đất đai) đang dở" in text
    assert "Đất đai: xin mô tả" in await harness.say("an", "tiep tuc")
    await harness.say("an", "Tranh chap dat, 3 nguoi")
    await harness.say("an", "1")
    assert "#2" in await harness.say("an", "gui")


async def test_nobody_to_alert_is_said_plainly(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    await harness.say("an", f"/khancap {WHAT}")
    text = await harness.say("an", "dat dai")
    assert "chưa có lãnh đạo Xã Đồng Văn nào đăng ký" in text
    assert await harness.store.reports.get(1) is not None
