"""The reporting flows over Telegram: the real python-telegram-bot against a fake Bot API.

The service runs as `sitrep run` runs it (`bot.service.serve`); the tests act as Telegram users
through the fake server and read what the service stored.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import opened
from bot.config import Config
from storage.records import Role
from storage.store import Store
from tests.fake_telegram import FakeBotApi
from tests.harness import seed_units
from tests.telegram_harness import TelegramChat, join, running_service, telegram_config

REPORTER, OTHER, LEADER = 1001, 1002, 2001
FAST = {"SITREP_TELEGRAM_RATE_CHAT_PER_SECOND": "100"}  # flows: not waiting 1 s a message


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(private_per_second=100) as fake:
        yield fake


@pytest.fixture
async def tg_config(database_url: str, tmp_path: Path, api: FakeBotApi) -> Config:
    config = telegram_config(database_url, tmp_path, api, **FAST)
    async with opened(config) as app:
        await seed_units(app)
    return config


@pytest.fixture
async def store(tg_config: Config) -> AsyncIterator[Store]:
    opened_store = await Store.open(tg_config.database_url, ["normal", "attention", "urgent"])
    yield opened_store
    await opened_store.close()


@pytest.fixture
async def chat(tg_config: Config, api: FakeBotApi, store: Store) -> AsyncIterator[TelegramChat]:
    async with running_service(tg_config):
        await api.wait_until(lambda: api.polling, timeout=10)
        yield TelegramChat(api, store)
    assert api.rate_limited == 0


def texts(sent: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("text", "")) for m in sent if m["method"] != "editMessageReplyMarkup"]


async def test_weekly_report_with_buttons(chat: TelegramChat, api: FakeBotApi) -> None:
    await join(chat, chat.store, REPORTER, Role.REPORTER, "721-01")
    sent = await chat.say(REPORTER, "/baocao")
    assert "Báo cáo tuần" in texts(sent)[0]
    assert sent[0]["reply_markup"]["inline_keyboard"][0][0]["text"].startswith("✅")
    sent = await chat.press(REPORTER, "Có việc")
    assert "lĩnh vực" in texts(sent)[0]
    # the pressed keyboard goes away
    assert any(m["method"] == "editMessageReplyMarkup" for m in sent)
    sent = await chat.press(REPORTER, "Đất đai")
    assert [m["method"] for m in sent] == ["editMessageText"]  # ticked in place
    assert "✔ Đất đai" in sent[0]["text"]
    await chat.press(REPORTER, "Tiếp")
    sent = await chat.say(REPORTER, "Tranh chap dat nuong giua 2 ho, khoang 30 nguoi")
    assert texts(sent) == ["Mức độ?"]
    await chat.press(REPORTER, "Cần chú ý")
    sent = await chat.press(REPORTER, "Gửi")
    assert sent[0]["method"] == "editMessageText"
    assert sent[0]["text"].startswith("Đã ghi nhận báo cáo #1")
    report = await chat.store.reports.get(1)
    assert report is not None and report.items[0].topic == "dat_dai" and report.people == 30
    assert api.answered_callbacks  # every press was answered


async def test_weekly_report_typed_without_diacritics(chat: TelegramChat) -> None:
    await join(chat, chat.store, REPORTER, Role.REPORTER, "721-01")
    for line in ["/baocao", "co viec", "an ninh", "tiep", "Mat trom 2 con trau, 2 nguoi", "1"]:
        await chat.say(REPORTER, line)
    sent = await chat.say(REPORTER, "gui")
    assert "Đã ghi nhận báo cáo #1" in texts(sent)[0]
    report = await chat.store.reports.get(1)
    assert report is not None and report.severity == "normal"


async def test_photo_and_voice_are_downloaded_and_attached(
    chat: TelegramChat, api: FakeBotApi, tg_config: Config
) -> None:
    await join(chat, chat.store, REPORTER, Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep"]:
        await chat.say(REPORTER, line)
    update = api.send_photo(REPORTER, b"\xff\xd8photo-bytes", caption="Lan chiem dat, 3 nguoi")
    await chat.settled(update["update_id"])
    update = api.send_voice(REPORTER, b"OggS-voice-bytes")
    await chat.settled(update["update_id"])
    assert "Đã nhận ghi âm" in api.sent_messages(REPORTER)[-1].text
    await chat.say(REPORTER, "2")
    await chat.say(REPORTER, "gui")
    report = await chat.store.reports.get(1)
    assert report is not None and report.items[0].text == "Lan chiem dat, 3 nguoi"
    files = {a.kind: Path(a.ref) for a in report.attachments}
    assert set(files) == {"photo", "voice"}
    assert files["photo"].read_bytes() == b"\xff\xd8photo-bytes"
    assert files["voice"].read_bytes() == b"OggS-voice-bytes"
    assert tg_config.media_dir in files["photo"].parents


async def test_the_same_update_twice_makes_one_report(chat: TelegramChat, api: FakeBotApi) -> None:
    await join(chat, chat.store, REPORTER, Role.REPORTER, "721-01")
    await chat.say(REPORTER, "/baocao")
    update = api.send_text(REPORTER, "binh thuong")
    api.raw_update(dict(update))  # Telegram delivers it again
    await chat.settled(update["update_id"])
    answers = api.sent_messages(REPORTER) + api.edits(REPORTER)
    confirmations = [m for m in answers if "Đã ghi nhận" in (m.text or "")]
    assert len(confirmations) == 1
    assert await chat.store.reports.get(2) is None


async def test_urgent_report_alerts_the_leader_who_opens_it(
    chat: TelegramChat, api: FakeBotApi
) -> None:
    await join(chat, chat.store, REPORTER, Role.REPORTER, "721-01")
    await join(chat, chat.store, LEADER, Role.LEADER, "721")
    await chat.say(REPORTER, "/khancap")
    await chat.say(REPORTER, "Khoang 50 nguoi keo len tru so UBND xa")
    sent = await chat.say(REPORTER, "dat dai")
    assert "Đã gửi báo cáo khẩn #1" in texts(sent)[0]
    alert = api.sent_messages(LEADER)[-1]
    assert alert.text is not None and alert.text.startswith("🚨 KHẨN — Thôn Lũng Cú")
    sent = await chat.press(LEADER, "Xem chi tiết")
    assert any("🚨 Báo cáo khẩn #1" in t for t in texts(sent))


async def test_menus_are_set_per_role(chat: TelegramChat, api: FakeBotApi) -> None:
    default = [c["command"] for c in api.get_commands()]
    assert default == ["start", "trogiup"]
    await join(chat, chat.store, REPORTER, Role.REPORTER, "721-01")
    scoped = [c["command"] for c in api.get_commands({"type": "chat", "chat_id": REPORTER})]
    assert "baocao" in scoped and "khancap" in scoped


async def test_what_the_bot_cannot_use(
    chat: TelegramChat, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await join(chat, chat.store, REPORTER, Role.REPORTER, "721-01")
    update = api.send_sticker(REPORTER)
    await chat.settled(update["update_id"])
    assert "chỉ đọc được chữ" in (api.sent_messages(REPORTER)[-1].text or "")
    update = api.send_text(REPORTER, "/baocao", chat_id=-500)  # in a group
    await chat.settled(update["update_id"])
    assert "nhắn riêng" in (api.sent_messages(-500)[-1].text or "")
    before = len(api.sent_messages())
    for update in (
        api.edited_message(REPORTER, "sua lai"),
        api.channel_post(-900, "tin kenh"),
        api.my_chat_member(OTHER, status="member"),
        api.raw_update({"message": {"message_id": 5, "chat": "not a chat"}}),
    ):
        await chat.settled(update["update_id"])
    assert len(api.sent_messages()) == before  # nobody to answer
    assert "ignoring update" in caplog.text and "malformed update" in caplog.text
    sent = await chat.say(REPORTER, "/trogiup")  # and the service goes on
    assert "/baocao" in texts(sent)[0]


async def test_a_file_over_the_limit_is_refused_politely(
    database_url: str, tmp_path: Path, api: FakeBotApi, store: Store
) -> None:
    config = telegram_config(database_url, tmp_path, api, SITREP_TELEGRAM_MAX_FILE_MB="1", **FAST)
    async with opened(config) as app:
        await seed_units(app)
    async with running_service(config):
        chat = TelegramChat(api, store)
        await join(chat, store, REPORTER, Role.REPORTER, "721-01")
        update = api.send_document(REPORTER, b"x" * (1024 * 1024 + 1), "big.pdf", "application/pdf")
        await chat.settled(update["update_id"])
        assert "lớn quá" in (api.sent_messages(REPORTER)[-1].text or "")
        assert not list((tmp_path / "media").rglob("*.pdf"))


async def test_long_texts_are_split_at_paragraphs(chat: TelegramChat, api: FakeBotApi) -> None:
    await join(chat, chat.store, REPORTER, Role.REPORTER, "721-01")
    await join(chat, chat.store, LEADER, Role.LEADER, "721")
    await chat.say(REPORTER, "/baocao")
    await chat.say(REPORTER, "2")
    await chat.say(REPORTER, "dat dai, an ninh")
    await chat.say(REPORTER, "tiep")
    for word in ("dat", "trom"):
        await chat.say(REPORTER, f"{word} " + "x " * 1900 + "5 nguoi")
        await chat.say(REPORTER, "1")
    await chat.say(REPORTER, "gui")
    sent = await chat.say(LEADER, "/xem 1")
    assert len(sent) == 2 and all(len(m["text"]) <= 4096 for m in sent)
    assert sent[0]["text"].startswith("📋 Báo cáo #1")
