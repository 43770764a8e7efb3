"""The weekly report (/baocao) as reporters meet it, typed and tapped."""

from handlers.messages import Attachment, Content
from storage.records import Role
from tests.harness import Harness

DESCRIPTION = "Tranh chap ranh gioi dat nuong giua 2 ho, khoang 30 nguoi trong dong ho tu tap"


async def test_quiet_week_takes_one_tap(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    replies = await chat.send("an", "/baocao")
    assert "tuần 48 (23/11–29/11)" in replies[0].text and "Thôn Lũng Cú" in replies[0].text
    replies = await chat.press("an", "Bình thường")
    assert len(replies) == 1
    assert "bình thường (#1)" in replies[0].text
    report = await chat.store.reports.get(1)
    assert report is not None and report.is_normal and report.week == "2026-W48"


async def test_quiet_week_typed_without_diacritics(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.say("an", "/baocao")
    assert "bình thường (#1)" in await chat.say("an", "binh thuong")
    # the shortcut works too; a second quiet report amends the week, it does not add one
    assert "đã có báo cáo #1" in await chat.say("an", "/baocao binh thuong")
    assert await chat.store.reports.get(2) is None


async def test_detailed_report_typed_without_diacritics(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    sent: list[str] = []
    new_messages = 0
    for line in ["/baocao", "co viec", "dat dai", "tiep", DESCRIPTION, "2", "gui"]:
        replies = await chat.send("an", line)
        new_messages += sum(1 for r in replies if not r.edit)
        sent.extend(r.text for r in replies)
    assert "Đất đai: xin mô tả ngắn" in sent[3]
    # the description said "khoảng 30 người": the bot does not ask for it again
    assert sent[4] == "Mức độ?"
    assert "Đất đai · cần chú ý · khoảng 30 người" in sent[5]
    assert sent[6] == "Đã ghi nhận báo cáo #1. Xin cảm ơn!"
    assert new_messages <= 6
    report = await chat.store.reports.get(1)
    assert report is not None and not report.is_normal
    (item,) = report.items
    assert (item.topic, item.severity, item.people, item.text) == (
        "dat_dai",
        "attention",
        30,
        DESCRIPTION,
    )


async def test_several_topics_by_number_and_people_asked_when_missing(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.say("an", "/baocao")
    await chat.say("an", "2")
    assert "An ninh, trật tự, Đất đai" in await chat.say("an", "6 10")
    await chat.press("an", "Tiếp")
    assert "bao nhiêu người" in await chat.say("an", "Nguoi la vao thon ban dem")
    assert "mức độ" in await chat.say("an", "1")  # one person, not the "Không rõ" button
    assert "Đất đai: xin mô tả" in await chat.say("an", "1")
    await chat.say("an", "Lan chiem dat rung, 12 nguoi")
    summary = await chat.say("an", "3")
    assert "An ninh, trật tự · bình thường · khoảng 1 người" in summary
    assert "Đất đai · khẩn cấp · khoảng 12 người" in summary
    await chat.say("an", "gửi")
    report = await chat.store.reports.get(1)
    assert report is not None
    assert [i.topic for i in report.items] == ["an_ninh", "dat_dai"]
    assert report.severity == "urgent"


async def test_urgent_item_in_weekly_report_alerts_leaders(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.join("lan", Role.LEADER, "721")
    for line in [
        "/baocao",
        "2",
        "moi truong",
        "tiep",
        "Sat lo dat vui 3 nha, 15 nguoi phai di doi",
        "3",
    ]:
        await chat.say("an", line)
    await chat.press("an", "Gửi")
    outbox = await chat.outbox()
    assert [chat for _, chat, _ in outbox] == ["chat-lan"]
    assert "🚨 KHẨN — Thôn Lũng Cú, Xã Đồng Văn" in outbox[0][2]


async def test_description_first_is_kept(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.say("an", "/baocao")
    text = await chat.say("an", "Co 2 ho tranh chap dat nuong o cuoi thon")
    assert "lĩnh vực" in text
    await chat.say("an", "dat dai")
    text = await chat.say("an", "tiep")
    assert "bao nhiêu người" in text  # the description is not asked again


async def test_edit_from_summary(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep", "Tranh chap dat, 4 nguoi", "1"]:
        await chat.say("an", line)
    await chat.press("an", "Sửa")
    await chat.press("an", "Sửa: Đất đai")
    await chat.say("an", "Tranh chap dat da hoa giai, 4 nguoi")
    summary = await chat.say("an", "1")
    assert "da hoa giai" in summary
    await chat.press("an", "Gửi")
    report = await chat.store.reports.get(1)
    assert report is not None and report.items[0].text == "Tranh chap dat da hoa giai, 4 nguoi"


async def test_cancel_at_summary_stores_nothing(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep", "Tranh chap dat, 4 nguoi", "1"]:
        await chat.say("an", line)
    assert "Đã huỷ" in await chat.say("an", "huy")
    assert await chat.store.reports.get(1) is None
    assert "Không có việc gì đang dở" in await chat.say("an", "/huy")


async def test_photo_and_voice_join_the_topic(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep"]:
        await harness.say("an", line)
    photo = (Attachment("photo", "media/p1.jpg"),)
    text = await harness.say("an", content=Content.PHOTO, attachments=photo)
    assert "Đã nhận ảnh" in text
    await harness.say("an", "Lan chiem dat, 3 nguoi")
    voice = (Attachment("voice", "media/v1.ogg"),)
    assert "Đã nhận ghi âm" in await harness.say("an", content=Content.VOICE, attachments=voice)
    await harness.say("an", "2")
    await harness.say("an", "gui")
    report = await harness.store.reports.get(1)
    assert report is not None
    assert [(a.kind, a.ref) for a in report.attachments] == [
        ("photo", "media/p1.jpg"),
        ("voice", "media/v1.ogg"),
    ]


async def test_second_report_of_the_week_amends_it(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.join("binh", Role.REPORTER, "721-01")
    await chat.join("lan", Role.LEADER, "721")
    await chat.say("an", "/baocao binh thuong")
    text = await chat.say("binh", "/baocao")
    assert "đã có báo cáo #1" in text
    for line in ["2", "an ninh", "tiep", "Mat trom trau, 2 nguoi", "2"]:
        await chat.say("binh", line)
    assert "Đã bổ sung vào báo cáo tuần 48 của Thôn Lũng Cú (#1)" in await chat.say("binh", "gui")
    report = await chat.store.reports.get(1)
    assert report is not None and not report.is_normal and report.severity == "attention"
    assert await chat.store.reports.get(2) is None
    # two reporters, one village: counted once
    assert "1/3 thôn đã báo cáo" in await chat.say("lan", "/chuabaocao")


async def test_denunciation_hides_the_reporter_below_admin(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.join("lan", Role.LEADER, "721")
    await chat.join("admin", Role.ADMIN, "08")
    for line in [
        "/baocao",
        "2",
        "khieu nai",
        "tiep",
        "Dan phan anh can bo xa thu tien sai, 6 nguoi",
    ]:
        text = await chat.say("an", line)
    assert "tố cáo" in text
    await chat.press("an", "Có, là tố cáo")
    await chat.say("an", "2")
    await chat.say("an", "gui")
    assert "(giữ bí mật)" in await chat.say("lan", "/xem 1")
    assert "Người báo: An" in await chat.say("admin", "/xem 1")
    assert "Người báo: An" in await chat.say("an", "/xem 1")
