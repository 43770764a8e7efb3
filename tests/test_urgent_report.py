"""The urgent report (/khancap): stored on the first complete answer, sent to leaders at once."""

from handlers.messages import Attachment, Content
from storage.records import Role
from tests.harness import Harness

WHAT = "Khoảng 50 người kéo lên trụ sở UBND xã phản đối thu hồi đất làm đường"


async def _people(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.join("lan", Role.LEADER, "721")
    await chat.join("tuan", Role.LEADER, "715")  # another commune
    await chat.join("officer", Role.OFFICER, "08")


async def test_urgent_report_reaches_leaders_and_officers_in_scope(chat: Harness) -> None:
    await _people(chat)
    assert "Việc gì đang xảy ra" in await chat.say("an", "/khancap")
    photo = (Attachment("photo", "media/a.jpg"),)
    await chat.say("an", WHAT)
    assert "Đã nhận ảnh" in await chat.say("an", content=Content.PHOTO, attachments=photo)
    text = await chat.say("an", "dat dai")
    assert "Đã gửi báo cáo khẩn #1 tới lãnh đạo Xã Đồng Văn" in text
    outbox = await chat.outbox()
    assert sorted(to for _, to, _ in outbox) == ["chat-lan", "chat-officer"]
    alert = outbox[0][2]
    assert "🚨 KHẨN — Thôn Lũng Cú, Xã Đồng Văn, 09:00 25/11" in alert
    assert "Đất đai · khoảng 50 người · 1 ảnh" in alert
    assert "Người báo: An" in alert
    report = await chat.store.reports.get(1)
    assert report is not None and report.kind == "urgent" and report.severity == "urgent"
    assert report.people == 50 and [a.kind for a in report.attachments] == ["photo"]


async def test_text_with_the_command_and_followups(chat: Harness) -> None:
    await _people(chat)
    await chat.say("an", f"/khancap {WHAT}")
    await chat.say("an", "10")  # Đất đai, by its number
    text = await chat.say("an", "Da co cong an xa den")
    assert "Đã bổ sung vào báo cáo khẩn #1" in text
    outbox = [t for _, to, t in await chat.outbox() if to == "chat-lan"]
    assert outbox[-1] == 'Bổ sung cho báo cáo khẩn #1 (Thôn Lũng Cú): "Da co cong an xa den"'
    # two hours later the follow-up window has closed: text is not attached any more
    chat.advance(hours=3)
    assert "/baocao" in await chat.say("an", "xin chao")
    report = await chat.store.reports.get(1)
    assert report is not None and len(report.items) == 2


async def test_denunciation_topic_hides_the_reporter_in_the_alert(chat: Harness) -> None:
    await _people(chat)
    await chat.say("an", "/khancap")
    await chat.say("an", "Dan to cao can bo thon nhan hoi lo")
    await chat.say("an", "khieu nai")
    alerts = [t for _, _, t in await chat.outbox()]
    assert alerts and all("Người báo: (giữ bí mật)" in t for t in alerts)
    assert all("An" not in t.split("Người báo:")[1] for t in alerts)


async def test_urgent_report_interrupts_a_weekly_draft_which_is_offered_back(
    chat: Harness,
) -> None:
    await _people(chat)
    for line in ["/baocao", "2", "dat dai", "tiep"]:
        await chat.say("an", line)
    await chat.say("an", "/khancap")
    await chat.say("an", WHAT)
    text = await chat.say("an", "dat dai")
    assert "Đã gửi báo cáo khẩn #1" in text
    assert "Còn một báo cáo tuần 48 (23/11–29/11) (Đất đai) đang dở" in text
    assert "Đất đai: xin mô tả" in await chat.say("an", "tiep tuc")
    await chat.say("an", "Tranh chap dat, 3 nguoi")
    await chat.say("an", "1")
    assert "#2" in await chat.say("an", "gui")


async def test_nobody_to_alert_is_said_plainly(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.say("an", f"/khancap {WHAT}")
    text = await chat.say("an", "dat dai")
    assert "chưa có lãnh đạo Xã Đồng Văn nào đăng ký" in text
    assert await chat.store.reports.get(1) is not None
