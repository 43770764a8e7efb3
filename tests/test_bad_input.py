"""Whatever people send, they get one clear answer, nothing is lost and the draft stays."""

from sqlalchemy import text

from handlers.messages import Content
from handlers.states import State
from storage.records import Role
from tests.harness import Harness


async def _at_severity(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep", "Tranh chap dat, 4 nguoi"]:
        await chat.say("an", line)


async def _state(chat: Harness, user: str = "an") -> str | None:
    conversation = await chat.store.conversations.get(chat.channel, chat.chat_of(user))
    return conversation.state if conversation else None


async def test_garbage_gets_a_hint_and_the_question_stands(chat: Harness) -> None:
    await _at_severity(chat)
    text = await chat.say("an", "asdfgh")
    assert text == "Tôi chưa hiểu. Đang chờ: mức độ của việc — gõ 1, 2 hoặc 3. Gõ /huy để huỷ."
    assert await _state(chat) == State.WEEKLY_SEVERITY
    assert "Gửi" not in text
    assert "Đất đai · cần chú ý" in await chat.say("an", "can chu y")


async def test_number_out_of_range_is_not_a_choice(chat: Harness) -> None:
    await _at_severity(chat)
    assert "Tôi chưa hiểu" in await chat.say("an", "7")


async def test_sticker_and_unsupported_content(chat: Harness) -> None:
    await _at_severity(chat)
    # what the bot can read is said as it is on that messenger
    readable = "gõ chữ" if chat.channel == "zalo" else "chữ, ảnh, ghi âm và vị trí"
    text = await chat.say("an", content=Content.STICKER)
    assert text.startswith("Xin lỗi") and readable in text
    if chat.channel != "telegram":  # Zalo's protected users; Telegram has no such message
        text = await chat.say("an", content=Content.UNSUPPORTED)
        assert text.startswith("Xin lỗi") and readable in text
    assert await _state(chat) == State.WEEKLY_SEVERITY


async def test_empty_message(chat: Harness) -> None:
    await _at_severity(chat)
    text = await chat.say("an", "   ")
    assert text.startswith("Tin nhắn trống.") and "mức độ" in text


async def test_oversized_text_is_cut_and_said_and_kept_whole_in_the_inbox(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep"]:
        await chat.say("an", line)
    long = "Tranh chap dat. " + "x" * 5000
    text = await chat.say("an", long)
    assert "dài quá 4.000 ký tự; đã giữ phần đầu" in text
    await chat.say("an", "khong ro")
    await chat.say("an", "1")
    await chat.say("an", "gui")
    report = await chat.store.reports.get(1)
    assert report is not None and len(report.items[0].text) == 4000
    async with chat.store.engine.connect() as conn:
        payloads = (await conn.execute(text_sql("SELECT payload FROM inbox"))).scalars().all()
    assert any(long in str(p) for p in payloads)


def text_sql(sql: str):  # type: ignore[no-untyped-def]
    return text(sql)


async def test_group_chat_is_refused(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    text = await chat.say("an", "/baocao", group=True)
    assert "nhắn riêng" in text
    assert await _state(chat) is None


async def test_unknown_command_and_stale_button(harness: Harness) -> None:
    await _at_severity(harness)
    assert "Không có lệnh này" in await harness.say("an", "/xyz")
    text = await harness.say("an", button="normal")
    assert "Nút này đã cũ" in text and "mức độ" in text.lower()
    assert await _state(harness) == State.WEEKLY_SEVERITY


async def test_same_command_twice_resumes_the_draft(chat: Harness) -> None:
    await _at_severity(chat)
    text = await chat.say("an", "/baocao")
    assert "Đang làm dở" in text and "Mức độ?" in text


async def test_a_failure_is_logged_told_and_the_message_kept(chat: Harness, caplog) -> None:  # type: ignore[no-untyped-def]
    await _at_severity(chat)
    await chat.say("an", "2")
    # the database loses a table under the service: the submission cannot be stored
    cascade = "" if chat.store.engine.dialect.name == "sqlite" else " CASCADE"
    async with chat.store.engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE report_items{cascade}"))
    reply = await chat.say("an", "gui")
    assert reply == chat.app.services.texts("errors.internal")
    assert "Tin đã được lưu lại" in reply
    assert "failed to handle message" in caplog.text
    async with chat.store.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT error FROM inbox WHERE error IS NOT NULL"))).all()
    assert len(rows) == 1
    assert await _state(chat) == State.WEEKLY_CONFIRM  # the draft is still there
