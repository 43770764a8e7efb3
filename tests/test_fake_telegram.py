"""The fake Bot API server, exercised with the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.fake_telegram import SECRET_HEADER, Call, FakeBotApi, Fault, UploadedFile

# Reading RetryAfter.retry_after as an int warns in PTB 22 (PTB itself does, in __init__).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

TOKEN = "123456:TEST-token"
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("✅ Có", callback_data="yes")],
        [InlineKeyboardButton("❌ Không", callback_data="no")],
    ]
)
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def make_bot(api: FakeBotApi, token: str = TOKEN, read_timeout: float = 2.0) -> Bot:
    """A real PTB bot pointed at the fake, with short timeouts."""

    def request() -> HTTPXRequest:
        return HTTPXRequest(
            read_timeout=read_timeout, connect_timeout=1.0, write_timeout=2.0, pool_timeout=1.0
        )

    return Bot(
        token,
        base_url=f"{api.url}/bot",
        base_file_url=f"{api.url}/file/bot",
        request=request(),
        get_updates_request=request(),
    )


def retry_seconds(exc: RetryAfter) -> float:
    # PTB 22 warns on reading retry_after as int (timedelta with PTB_TIMEDELTA=1).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN, enforce_limits=False) as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with make_bot(api) as real_bot:
        yield real_bot


# --- basics ----------------------------------------------------------------------------------


async def test_get_me_and_tokens(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "sitrep_test_bot" and me.id == 123456 and me.is_bot
    with pytest.raises(InvalidToken):  # 401 Unauthorized
        async with make_bot(api, token="123456:WRONG"):
            pass
    with pytest.raises(InvalidToken):  # malformed token: 404 Not Found
        async with make_bot(api, token="nonsense"):
            pass
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.url}/bot123456:WRONG/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{api.url}/bot{TOKEN}/noSuchMethod") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"


async def test_parameter_encodings(api: FakeBotApi) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    base = f"{api.url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http:
        json_body = {"chat_id": 42, "text": "[x] 123", "reply_markup": markup}
        async with http.post(f"{base}/sendMessage", json=json_body) as response:
            assert (await response.json())["ok"]
        form = {"chat_id": "42", "text": "123", "reply_markup": json.dumps(markup)}
        async with http.post(f"{base}/sendmessage", data=form) as response:  # any case
            assert (await response.json())["result"]["reply_markup"] == markup
        async with http.get(f"{base}/sendMessage?chat_id=42&text=true") as response:
            assert (await response.json())["result"]["text"] == "true"
    sent = api.sent_messages(42)
    assert [c.text for c in sent] == ["[x] 123", "123", "true"]
    assert all(c.chat_id == 42 for c in sent)
    assert sent[0].reply_markup == sent[1].reply_markup == markup
    assert [c.message_id for c in sent] == [1, 2, 3]


async def test_message_ids_per_chat_and_commands_entity(api: FakeBotApi, bot: Bot) -> None:
    api.send_text(9, "/start abc", first_name="Lan")
    sent = await bot.send_message(9, "Xin chào")
    api.send_text(9, "hello")
    other = await bot.send_message(10, "other chat")
    updates = await bot.get_updates()
    assert [u.message.message_id for u in updates if u.message] == [1, 3]
    first = updates[0].message
    assert first is not None and first.from_user is not None
    assert first.from_user.first_name == "Lan" and first.chat.type == "private"
    assert first.entities[0].type == "bot_command" and first.entities[0].length == 6
    assert sent.message_id == 2 and other.message_id == 1
    assert sent.from_user is not None and sent.from_user.username == "sitrep_test_bot"


# --- getUpdates ------------------------------------------------------------------------------


async def test_offset_limit_and_allowed_updates(api: FakeBotApi, bot: Bot) -> None:
    for i in range(3):
        api.send_text(1, f"m{i}")
    ids = [u.update_id for u in await bot.get_updates()]
    assert len(ids) == 3 and ids == sorted(ids)
    assert [u.update_id for u in await bot.get_updates(limit=1)] == ids[:1]
    # offset confirms (deletes) every update before it
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates()] == ids[1:]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert api.pending_updates == []
    # allowed_updates filters, and is remembered for later calls
    msg = await bot.send_message(1, "pick", reply_markup=KEYBOARD)
    api.send_text(1, "text")
    api.press(1, msg.message_id, "yes")
    only = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in only] == [True]
    assert len(await bot.get_updates()) == 1
    assert len(await bot.get_updates(allowed_updates=[])) == 2


async def test_long_poll_wakes_on_update_and_expires(api: FakeBotApi, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_until(lambda: api.polling)
    api.send_text(3, "wake up")
    updates = await poll
    assert time.monotonic() - started < 2
    assert updates[0].message is not None and updates[0].message.text == "wake up"
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 2


async def test_second_poller_gets_the_first_one_a_409(api: FakeBotApi, bot: Bot) -> None:
    async with make_bot(api) as other:
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await api.wait_until(lambda: api.polling)
        assert await other.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
    assert api.rejected[-1].error_code == 409


async def test_every_kind_of_update_parses(api: FakeBotApi, bot: Bot) -> None:
    api.send_text(5, "in a group", chat_id=-42)
    api.send_photo(5, PHOTO, caption="ảnh")
    api.send_voice(5, b"OggS voice", duration=4)
    api.send_document(5, b"a,b\n1,2\n", "list.csv", "text/csv")
    api.send_location(5, 23.25, 105.25)
    api.send_sticker(5)
    api.send_text(5, "typo")
    api.edited_message(5, "fixed")
    api.channel_post(-1001234, "news")
    api.my_chat_member(5, "kicked")
    updates = await bot.get_updates()
    group, photo, voice, document, location, sticker, _, edited, post, member = updates
    assert group.message is not None and group.message.chat.type == "group"
    assert photo.message is not None and photo.message.caption == "ảnh"
    assert [p.width for p in photo.message.photo] == [90, 320, 800]
    assert voice.message is not None and voice.message.voice is not None
    assert document.message is not None and document.message.document is not None
    assert document.message.document.file_name == "list.csv"
    assert location.message is not None and location.message.location is not None
    assert location.message.location.latitude == 23.25
    assert sticker.message is not None and sticker.message.sticker is not None
    assert edited.edited_message is not None and edited.edited_message.text == "fixed"
    assert edited.edited_message.message_id == 6 and edited.edited_message.edit_date
    assert post.channel_post is not None and post.channel_post.chat.type == "channel"
    assert member.my_chat_member is not None
    assert member.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(5, "still there?")


async def test_raw_updates_are_passed_verbatim(api: FakeBotApi) -> None:
    update_id = api.add_update({"message": {"text": "no chat, no date"}})
    api.raw_update({"update_id": update_id + 10, "weird_kind": {}})
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api.url}/bot{TOKEN}/getUpdates") as response:
            result = (await response.json())["result"]
    assert result == [
        {"message": {"text": "no chat, no date"}, "update_id": update_id},
        {"update_id": update_id + 10, "weird_kind": {}},
    ]
    assert api.send_text(1, "next")["update_id"] == update_id + 11


# --- sending, editing, callbacks, files -------------------------------------------------------


async def test_send_message_with_keyboard(api: FakeBotApi, bot: Bot) -> None:
    message = await bot.send_message(42, "<b>Báo cáo</b> tuần 48", "HTML", reply_markup=KEYBOARD)
    assert message.text == "Báo cáo tuần 48" and message.chat.id == 42
    assert message.reply_markup == KEYBOARD
    call = api.sent_messages(42)[0]
    assert call.text == "<b>Báo cáo</b> tuần 48" and call.params["parse_mode"] == "HTML"
    assert call.reply_markup == KEYBOARD.to_dict()
    assert call.button("Không")["callback_data"] == "no"
    assert api.sent_messages(7) == []
    group = await bot.send_message(-100, "hi group")
    assert group.chat.type == "group"


async def test_formatting_errors_like_telegram(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: Unsupported start tag"):
        await bot.send_message(1, "50 < 60 người", "HTML")
    with pytest.raises(BadRequest, match=r"(?i)Can't find end tag"):
        await bot.send_message(1, "<b>bold", "HTML")
    with pytest.raises(BadRequest, match=r"(?i)Character '#' is reserved"):
        await bot.send_message(1, "Báo cáo #1", "MarkdownV2")
    ok = await bot.send_message(1, r"*Báo cáo* \#1\.", "MarkdownV2")
    assert ok.text == "Báo cáo #1."
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        button = InlineKeyboardButton("x", callback_data="x" * 65)
        await bot.send_message(1, "too long data", reply_markup=InlineKeyboardMarkup([[button]]))
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(1, " ")
    assert [c.text for c in api.sent_messages()] == [r"*Báo cáo* \#1\."]


async def test_edit_and_callback_answer(api: FakeBotApi, bot: Bot) -> None:
    message = await bot.send_message(7, "Tuần này thế nào?", reply_markup=KEYBOARD)
    api.press(7, message.message_id, "yes")
    api.tap(7, "Không")
    first, second = await bot.get_updates()
    query = first.callback_query
    assert query is not None and query.data == "yes" and query.from_user.id == 7
    assert query.message is not None and query.message.message_id == message.message_id
    assert second.callback_query is not None and second.callback_query.data == "no"
    assert await bot.answer_callback_query(query.id, text="Đã ghi")
    assert api.answered_callbacks[0].params == {"callback_query_id": query.id, "text": "Đã ghi"}
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)

    edited = await bot.edit_message_text(
        "Đã chọn: Có", chat_id=7, message_id=message.message_id, reply_markup=KEYBOARD
    )
    assert not isinstance(edited, bool)
    assert edited.text == "Đã chọn: Có" and edited.reply_markup == KEYBOARD
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Đã chọn: Có", chat_id=7, message_id=message.message_id, reply_markup=KEYBOARD
        )
    cleared = await bot.edit_message_reply_markup(chat_id=7, message_id=message.message_id)
    assert not isinstance(cleared, bool) and cleared.reply_markup is None
    current = api.message(7, message.message_id)
    assert current is not None and "reply_markup" not in current
    assert [c.method for c in api.edits(7)] == ["editMessageText", "editMessageReplyMarkup"]
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=7, message_id=999)
    # A press on the edited message carries its current state.
    pressed = api.press(7, message.message_id, "late")
    assert pressed["callback_query"]["message"]["text"] == "Đã chọn: Có"


async def test_photo_and_voice_download(api: FakeBotApi, bot: Bot) -> None:
    api.send_photo(11, PHOTO, caption="hiện trường")
    api.send_voice(11, b"OggS voice bytes")
    photo_update, voice_update = await bot.get_updates()
    assert photo_update.message is not None and voice_update.message is not None
    largest = photo_update.message.photo[-1]
    assert largest.file_size == len(PHOTO)
    photo_file = await bot.get_file(largest.file_id)
    assert photo_file.file_path is not None and photo_file.file_path.startswith(api.url)
    assert await photo_file.download_as_bytearray() == bytearray(PHOTO)
    assert photo_update.message.voice is None and voice_update.message.voice is not None
    voice_file = await bot.get_file(voice_update.message.voice.file_id)
    assert await voice_file.download_as_bytearray() == bytearray(b"OggS voice bytes")
    assert len(api.downloads) == 2
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_bot_uploads_photo_and_document(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_photo(12, PHOTO, caption="ảnh")
    call = api.sent_messages(12)[0]
    upload = call.params["photo"]
    assert isinstance(upload, UploadedFile) and upload.content == PHOTO
    assert call.caption == "ảnh" and sent.caption == "ảnh"
    again = await bot.send_photo(12, sent.photo[-1].file_id)  # by file_id
    assert again.photo[-1].file_id == sent.photo[-1].file_id
    downloaded = await (await bot.get_file(sent.photo[-1].file_id)).download_as_bytearray()
    assert downloaded == bytearray(PHOTO)
    document = await bot.send_document(12, b"x;y\n", filename="bao_cao.csv")
    assert document.document is not None and document.document.file_name == "bao_cao.csv"
    assert [c.method for c in api.sent_messages(12)] == ["sendPhoto", "sendPhoto", "sendDocument"]


async def test_commands_per_scope(api: FakeBotApi, bot: Bot) -> None:
    commands = [BotCommand("baocao", "Báo cáo tuần"), BotCommand("khancap", "Báo khẩn")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands(
        commands[:1], scope=BotCommandScopeChat(42), language_code="vi"
    )
    assert api.commands[("default", "")] == [c.to_dict() for c in commands]
    assert api.get_commands({"type": "chat", "chat_id": 42}, "vi") == [commands[0].to_dict()]
    assert await bot.get_my_commands(scope=BotCommandScopeChat(42), language_code="vi") == (
        commands[0],
    )
    assert await bot.get_my_commands(scope=BotCommandScopeChat(42)) == ()
    assert await bot.delete_my_commands()
    assert ("default", "") not in api.commands


# --- limits and faults -----------------------------------------------------------------------


async def test_flood_limits_answer_429() -> None:
    async with FakeBotApi(token=TOKEN, global_per_second=3, group_per_minute=2) as api:
        async with make_bot(api) as bot:
            first = await bot.send_message(1, "a")
            with pytest.raises(RetryAfter) as private:
                await bot.edit_message_text("b", chat_id=1, message_id=first.message_id)
            assert retry_seconds(private.value) == 1
            await bot.send_message(2, "b")
            await bot.send_message(3, "c")
            with pytest.raises(RetryAfter) as overall:  # 3 sends in this second already
                await bot.send_message(4, "d")
            assert retry_seconds(overall.value) == 1
            assert api.rate_limited == 2

    async with FakeBotApi(token=TOKEN, group_per_minute=2) as api:
        async with make_bot(api) as bot:
            await bot.send_message(-5, "1")
            await bot.send_message(-5, "2")
            with pytest.raises(RetryAfter) as group:
                await bot.send_message(-5, "3")
            assert 59 <= retry_seconds(group.value) <= 60
            await bot.send_message(-6, "another group is fine")
            assert [c.text for c in api.sent_messages(-5)] == ["1", "2"]
            assert api.rejected[-1].description.startswith("Too Many Requests: retry after")


@pytest.mark.parametrize(
    ("fault", "error", "recorded"),
    [
        ("429", RetryAfter, False),
        ("500", NetworkError, False),
        ("502", NetworkError, False),
        ("400", BadRequest, False),
        ("403", Forbidden, False),
        ("drop", NetworkError, False),
        ("timeout", TimedOut, True),
    ],
)
async def test_injected_faults(
    api: FakeBotApi, fault: Fault, error: type[TelegramError], recorded: bool
) -> None:
    async with make_bot(api, read_timeout=0.3) as bot:
        api.fail_next("sendMessage", fault, retry_after=7)
        with pytest.raises(TelegramError) as caught:
            await bot.send_message(1, "maybe")
        assert type(caught.value) is error
        if fault == "429":
            assert isinstance(caught.value, RetryAfter) and retry_seconds(caught.value) == 7
        assert [c.text for c in api.sent_messages(1)] == (["maybe"] if recorded else [])
        after = await bot.send_message(1, "next")  # the fault is used up
        assert after.message_id == (2 if recorded else 1)


async def test_fault_only_for_its_chat_and_count(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("sendMessage", "502", times=2, chat_id=2)
    await bot.send_message(1, "other chat is fine")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(2, "x")
    await bot.send_message(2, "third works")
    api.block(3)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(3, "x")
    api.unblock(3)
    await bot.send_message(3, "back")
    assert [c.text for c in api.sent_messages()] == ["other chat is fine", "third works", "back"]


async def test_close_with_a_hanging_request() -> None:
    api = FakeBotApi(token=TOKEN)
    await api.start()
    async with make_bot(api, read_timeout=10) as bot:
        api.fail_next("sendMessage", "timeout")
        pending = asyncio.create_task(bot.send_message(1, "lost answer"))
        await api.wait_for(lambda c: c.method == "sendMessage")
        started = time.monotonic()
        await api.close()
        assert time.monotonic() - started < 2
        with pytest.raises(NetworkError):
            await pending


async def test_close_answers_a_waiting_poll() -> None:
    api = FakeBotApi(token=TOKEN)
    await api.start()
    async with make_bot(api) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await api.wait_until(lambda: api.polling)
        started = time.monotonic()
        await api.close()
        assert await poll == ()
        assert time.monotonic() - started < 2


async def test_wait_for(api: FakeBotApi, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(8, "late")

    task = asyncio.create_task(later())
    call = await api.wait_for(lambda c: c.method == "sendMessage" and c.text == "late")
    assert isinstance(call, Call) and call.chat_id == 8 and call.message_id == 1
    await task
    with pytest.raises(TimeoutError, match="no matching call"):
        await api.wait_for(lambda c: c.text == "never", timeout=0.05)


# --- webhook ---------------------------------------------------------------------------------


async def test_webhook_delivery_with_secret(api: FakeBotApi, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    answer = {"status": 200}

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(status=answer["status"])

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    try:
        api.send_text(5, "queued before")
        assert await bot.set_webhook(url, secret_token="s3cret_token-1")
        await api.drain()
        api.send_text(5, "after")
        await api.drain()
        assert [secret for secret, _ in received] == ["s3cret_token-1"] * 2
        assert [body["message"]["text"] for _, body in received] == ["queued before", "after"]  # type: ignore[index]
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()

        answer["status"] = 403
        update = api.send_text(5, "refused")
        await api.drain()
        assert api.webhook_deliveries[-1].status == 403
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 1 and "403" in (info.last_error_message or "")
        assert await api.deliver(update) == 403
        answer["status"] = 200
        assert await api.redeliver() == [200]
        assert api.pending_updates == []

        assert await bot.delete_webhook()
        api.send_text(5, "polling again")
        assert [u.message.text for u in await bot.get_updates() if u.message] == ["polling again"]
    finally:
        await runner.cleanup()


# --- a whole PTB application ------------------------------------------------------------------


async def test_ptb_application_polls_replies_and_stops(api: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Chào", reply_markup=KEYBOARD, do_quote=True)

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Đã nhận")
        await query.edit_message_text(f"Chọn: {query.data}")

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        data = await (await update.message.photo[-1].get_file()).download_as_bytearray()
        await update.message.reply_text(f"{len(data)} bytes")

    app = (
        Application.builder()
        .token(api.token)
        .base_url(f"{api.url}/bot")
        .base_file_url(f"{api.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(button))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        api.send_text(5, "/start")
        greeting = await api.wait_for(lambda c: c.method == "sendMessage")
        assert greeting.result["reply_to_message"]["text"] == "/start"
        api.tap(5, "Có")
        await api.wait_for(lambda c: c.method == "editMessageText")
        api.send_photo(5, PHOTO)
        await api.wait_for(lambda c: c.text == f"{len(PHOTO)} bytes")
        started = time.monotonic()
        await app.updater.stop()
        await app.stop()
        assert time.monotonic() - started < 2
    assert api.answered_callbacks[0].params["text"] == "Đã nhận"
    current = api.message(5, greeting.message_id or 0)
    assert current is not None and current["text"] == "Chọn: yes"
    assert "reply_markup" not in current  # edited without reply_markup: keyboard gone
