"""Whatever people send, they get one clear answer, nothing is lost and the draft stays."""

from sqlalchemy import text

from handlers.messages import Content
from handlers.states import State
from storage.records import Role
from tests.harness import Harness


async def _at_severity(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep", "Tranh chap dat, 4 nguoi"]:
        await harness.say("an", line)


async def _state(harness: Harness, user: str = "an") -> str | None:
    conversation = await harness.store.conversations.get(harness.channel, f"chat-{user}")
    return conversation.state if conversation else None


async def test_garbage_gets_a_hint_and_the_question_stands(harness: Harness) -> None:
    await _at_severity(harness)
    text = await harness.say("an", "asdfgh")
    assert text == "Tôi chưa hiểu. Đang chờ: mức độ của việc — gõ 1, 2 hoặc 3. Gõ /huy để huỷ."
    assert await _state(harness) == State.WEEKLY_SEVERITY
    assert "Gửi" not in text
    assert "Đất đai · cần chú ý" in await harness.say("an", "can chu y")


async def test_number_out_of_range_is_not_a_choice(harness: Harness) -> None:
    await _at_severity(harness)
    assert "Tôi chưa hiểu" in await harness.say("an", "7")


async def test_sticker_and_unsupported_content(harness: Harness) -> None:
    await _at_severity(harness)
    text = await harness.say("an", content=Content.STICKER)
    assert text == "Xin lỗi, tôi chỉ đọc được chữ, ảnh, ghi âm và vị trí."
    await harness.say("an", content=Content.UNSUPPORTED)
    assert await _state(harness) == State.WEEKLY_SEVERITY


async def test_empty_message(harness: Harness) -> None:
    await _at_severity(harness)
    text = await harness.say("an", "   ")
    assert text.startswith("Tin nhắn trống.") and "mức độ" in text


async def test_oversized_text_is_cut_and_said_and_kept_whole_in_the_inbox(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep"]:
        await harness.say("an", line)
    long = "Tranh chap dat. " + "x" * 5000
    text = await harness.say("an", long)
    assert "dài quá 4.000 ký tự; đã giữ phần đầu" in text
    await harness.say("an", "khong ro")
    await harness.say("an", "1")
    await harness.say("an", "gui")
    report = await harness.store.reports.get(1)
    assert report is not None and len(report.items[0].text) == 4000
    async with harness.store.engine.connect() as conn:
        payloads = (await conn.execute(text_sql("SELECT payload FROM inbox"))).scalars().all()
    assert any(long in str(p) for p in payloads)


def text_sql(sql: str):  # type: ignore[no-untyped-def]
    return text(sql)


async def test_group_chat_is_refused(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    text = await harness.say("an", "/baocao", group=True)
    assert "nhắn riêng" in text
    assert await _state(harness) is None


async def test_unknown_command_and_stale_button(harness: Harness) -> None:
    await _at_severity(harness)
    assert "Không có lệnh này" in await harness.say("an", "/xyz")
    text = await harness.say("an", button="normal")
    assert "Nút này đã cũ" in text and "mức độ" in text.lower()
    assert await _state(harness) == State.WEEKLY_SEVERITY


async def test_same_command_twice_resumes_the_draft(harness: Harness) -> None:
    await _at_severity(harness)
    text = await harness.say("an", "/baocao")
    assert "Đang làm dở" in text and "Mức độ?" in text


async def test_a_failure_is_logged_told_and_the_message_kept(harness: Harness, caplog) -> None:  # type: ignore[no-untyped-def]
    await _at_severity(harness)
    await harness.say("an", "2")
    # the database loses a table under the service: the submission cannot be stored
    cascade = "" if harness.store.engine.dialect.name == "sqlite" else " CASCADE"
    async with harness.store.engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE report_items{cascade}"))
    reply = await harness.say("an", "gui")
    assert reply == harness.app.services.texts("errors.internal")
    assert "Tin đã được lưu lại" in reply
    assert "failed to handle message" in caplog.text
    async with harness.store.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT error FROM inbox WHERE error IS NOT NULL"))).all()
    assert len(rows) == 1
    assert await _state(harness) == State.WEEKLY_CONFIRM  # the draft is still there
