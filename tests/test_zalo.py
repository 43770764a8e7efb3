"""The Zalo channel against the fake Zalo Bot API: what only Zalo does. The conversations
themselves run over Zalo in the shared suite (the ``chat`` fixture)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import opened
from bot.config import Config
from bot.service import serve
from handlers.messages import Content, Outgoing, Reply
from storage.records import Role
from tests.channel_harness import (
    PNG,
    TELEGRAM_TOKEN,
    MessengerHarness,
    RunningClock,
    TelegramDriver,
    ZaloDriver,
    messenger_config,
    messenger_harness,
)
from tests.fake_telegram import FakeBotApi
from tests.fake_zalo import FakeZaloApi
from tests.harness import START, seed_units

SECRET = "zalo-webhook-secret"


@pytest.fixture
async def zalo(tmp_path: Path) -> AsyncIterator[MessengerHarness]:
    async with messenger_harness("zalo", f"sqlite:///{tmp_path / 'sitrep.db'}", tmp_path) as h:
        yield h


def _api(h: MessengerHarness) -> FakeZaloApi:
    assert isinstance(h.driver, ZaloDriver)
    return h.driver.api


async def test_quiet_polls_and_an_error_answered_with_http_200(zalo: MessengerHarness) -> None:
    api = _api(zalo)
    await zalo.join("an", Role.REPORTER, "721-01")
    await api.wait_until(lambda: api.poll_timeouts >= 1, timeout=5)  # a 408: nothing yet
    # Zalo often says "too many requests" as ok:false inside an HTTP 200
    api.fail_next("sendMessage", 429, "Too Many Requests", http_status=200)
    replies = await zalo.send("an", "/baocao")
    assert "Tuần này tình hình thế nào?" in replies[0].text
    questions = [t for t in api.sent_texts(zalo.chat_of("an")) if "tình hình thế nào" in t]
    assert len(questions) == 1  # sent again after the pause, once
    assert [c.error_code for c in api.rejected] == [429]


async def test_choices_are_numbered_and_a_number_answers(zalo: MessengerHarness) -> None:
    api = _api(zalo)
    await zalo.join("an", Role.REPORTER, "721-01")
    await zalo.send("an", "/baocao")
    question = api.sent_texts(zalo.chat_of("an"))[-1]
    assert "  1. ✅ Bình thường, không có gì mới" in question
    assert "  2. 📝 Có việc cần báo" in question
    assert "bình thường (#1)" in await zalo.say("an", "1")


async def test_the_same_message_delivered_twice_is_handled_once(zalo: MessengerHarness) -> None:
    api = _api(zalo)
    await zalo.join("an", Role.REPORTER, "721-01")
    event = api.send_text(zalo.user_of("an"), "/baocao", display_name="An")
    await api.wait_until(lambda: any("tình hình" in t for t in api.sent_texts()), timeout=10)
    api.redeliver(event)
    await api.wait_until(lambda: not api.pending_events, timeout=10)
    await zalo.say("an", "/trogiup")  # handled after the redelivery, in order
    assert sum("tình hình thế nào" in t for t in api.sent_texts(zalo.chat_of("an"))) == 1


async def test_an_image_is_downloaded_and_attached(zalo: MessengerHarness, tmp_path: Path) -> None:
    await zalo.join("an", Role.REPORTER, "721-01")
    await zalo.join("lan", Role.LEADER, "721")
    await zalo.say("an", "/khancap Sat lo dat vui 2 nha, khoang 10 nguoi")
    assert "Đã nhận ảnh" in await zalo.say("an", "anh hien truong", content=Content.PHOTO)
    await zalo.say("an", "thien tai")
    report = await zalo.store.reports.get(1)
    assert report is not None
    (photo,) = report.attachments
    stored = Path(photo.ref)
    assert photo.kind == "photo" and stored.is_relative_to(tmp_path / "media" / "zalo")
    assert await asyncio.to_thread(stored.read_bytes) == PNG


async def test_long_text_is_split_under_2000_characters(zalo: MessengerHarness) -> None:
    api = _api(zalo)
    member = await zalo.join("lan", Role.LEADER, "721")
    paragraphs = [f"Đoạn {n}: " + "nội dung " * 60 for n in range(12)]
    long = "\n\n".join(paragraphs)
    await zalo.app.engine.deliver([Outgoing("test:long", member.id, Reply(long))])

    def pieces() -> list[str]:
        return [t for t in api.sent_texts(zalo.chat_of("lan")) if t.startswith("Đoạn")]

    # cut between paragraphs, nothing lost
    await api.wait_until(lambda: "\n\n".join(pieces()) == long, timeout=10)
    assert len(pieces()) >= 3 and all(len(p) <= 2000 for p in pieces())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_secret_and_both_body_shapes(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/zalo/hook"
    clock = RunningClock(START)
    async with FakeZaloApi() as api:
        api.now = lambda: clock.now().timestamp()
        config = messenger_config(
            "zalo",
            f"sqlite:///{tmp_path / 'sitrep.db'}",
            tmp_path,
            api.url,
            SITREP_WEB_PORT=str(port),
            SITREP_ZALO_WEBHOOK_SECRET=SECRET,
        )
        async with opened(config, clock) as app:
            await seed_units(app)
            async with _serving(config, clock, zalo_webhook_url=url):
                await api.wait_until(lambda: api.webhook_url == url, timeout=10)
                assert api.webhook_secret == SECRET
                first = api.send_text("u1", "xin chao", display_name="Ba")
                assert await api.post_webhook(first, wrapped=True) == 200
                second = api.send_text("u1", "/trogiup", display_name="Ba")
                assert await api.post_webhook(second, wrapped=False) == 200
                assert await api.post_webhook(second) == 200  # a redelivery: dropped
                third = api.send_text("u1", "/trogiup", display_name="Ba")
                assert await api.post_webhook(third, secret="wrong-secret") == 403
                assert await api.post_webhook(third, secret=None) == 403
                async with aiohttp.ClientSession() as http:
                    headers = {"X-Bot-Api-Secret-Token": SECRET}
                    async with http.post(url, data=b"{oops", headers=headers) as answer:
                        assert answer.status == 400
                await api.wait_until(lambda: len(api.sent_texts("u1")) >= 2, timeout=10)
                await asyncio.sleep(0.2)
                texts = api.sent_texts("u1")
                assert len(texts) == 2  # one answer each to the two accepted messages
                assert "chưa được đăng ký" in texts[0] and "/start MÃ" in texts[1]


@contextlib.asynccontextmanager
async def _serving(
    config: Config, clock: RunningClock, zalo_webhook_url: str | None = None
) -> AsyncIterator[asyncio.Task[int]]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(config, stop=stop, clock=clock, zalo_webhook_url=zalo_webhook_url)
    )
    try:
        yield task
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


async def test_a_refused_token_at_start_stops_with_status_2(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeZaloApi() as api:
        api.revoke_token()
        config = messenger_config("zalo", f"sqlite:///{tmp_path / 'x.db'}", tmp_path, api.url)
        assert await asyncio.wait_for(serve(config), 15) == 2
    assert "Zalo refused the bot token" in caplog.text


def _both(zapi: FakeZaloApi, tapi: FakeBotApi, clock: RunningClock, tmp_path: Path) -> Config:
    """The service on Zalo and Telegram at once, the two fakes on the service's clock."""
    zapi.now = tapi.now = lambda: clock.now().timestamp()
    return messenger_config(
        "zalo",
        f"sqlite:///{tmp_path / 'sitrep.db'}",
        tmp_path,
        zapi.url,
        SITREP_TELEGRAM_TOKEN=TELEGRAM_TOKEN,
        SITREP_TELEGRAM_API_URL=tapi.url,
        SITREP_TELEGRAM_POLL_TIMEOUT="1",
    )


async def test_401_while_running_stops_zalo_and_tells_admins_on_telegram(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = RunningClock(START)
    async with FakeZaloApi() as zapi, FakeBotApi(TELEGRAM_TOKEN, enforce_limits=False) as tapi:
        config = _both(zapi, tapi, clock, tmp_path)
        async with opened(config, clock) as app:
            await seed_units(app)
            async with _serving(config, clock) as service:
                await zapi.wait_until(lambda: zapi.polling, timeout=10)
                zalo = MessengerHarness(app, clock, ZaloDriver(zapi))
                telegram = MessengerHarness(app, clock, TelegramDriver(tapi))
                await telegram.join("admin", Role.ADMIN, "08")
                await zalo.join("an", Role.REPORTER, "721-01")
                zapi.revoke_token()
                zapi.send_text(zalo.user_of("an"), "/baocao", display_name="An")
                notice = "Kênh Zalo của bot đã dừng"
                await tapi.wait_until(
                    lambda: any(notice in (c.text or "") for c in tapi.calls), timeout=15
                )
                assert not service.done()  # Telegram goes on
                assert "/start MÃ" in await telegram.say("guest", "/trogiup")
    assert "Zalo refused the bot token (401)" in caplog.text


async def test_one_member_on_both_messengers(tmp_path: Path) -> None:
    clock = RunningClock(START)
    async with FakeZaloApi() as zapi, FakeBotApi(TELEGRAM_TOKEN, enforce_limits=False) as tapi:
        config = _both(zapi, tapi, clock, tmp_path)
        async with opened(config, clock) as app:
            await seed_units(app)
            async with _serving(config, clock):
                await zapi.wait_until(lambda: zapi.polling, timeout=10)
                zalo = MessengerHarness(app, clock, ZaloDriver(zapi))
                telegram = MessengerHarness(app, clock, TelegramDriver(tapi))
                lan = await telegram.join("lan", Role.LEADER, "721")
                text = await telegram.say("lan", "/lienket")
                code = text.split(": ")[1].split()[0]
                assert "Đã đăng ký" in await zalo.say("lan", f"/start {code}")
                linked = await app.store.members.by_identity("zalo", zalo.user_of("lan"))
                assert linked is not None and linked.id == lan.id
                # the leader wrote last from Zalo: an urgent report reaches them there
                await zalo.join("an", Role.REPORTER, "721-01")
                await zalo.say("an", "/khancap Chay rung lan rong, 30 nguoi dang chua chay")
                await zalo.say("an", "thien tai")
                alerts = [t for t in zapi.sent_texts(zalo.chat_of("lan")) if "KHẨN" in t]
                assert len(alerts) == 1
                assert not [c for c in tapi.calls if "KHẨN" in (c.text or "")]
                # back on Telegram (last use is noted to 5 minutes): the next alert goes there
                telegram.advance(minutes=10)
                await telegram.say("lan", "/trogiup")
                await zalo.say("an", "/khancap Lu cuon troi cau treo, 5 ho bi co lap")
                await zalo.say("an", "thien tai")
                await tapi.wait_until(
                    lambda: any(
                        "KHẨN" in (c.text or "")
                        for c in tapi.sent_messages(int(telegram.chat_of("lan")))
                    ),
                    timeout=10,
                )


async def test_a_message_stored_before_a_crash_is_handled_at_start(tmp_path: Path) -> None:
    clock = RunningClock(START)
    async with FakeZaloApi() as api:
        api.now = lambda: clock.now().timestamp()
        config = messenger_config("zalo", f"sqlite:///{tmp_path / 's.db'}", tmp_path, api.url)
        async with opened(config, clock) as app:
            # taken from Zalo and stored by a process that crashed before handling it
            api.known_chats.add("u7")
            event = {
                "event_name": "message.text.received",
                "message": {
                    "from": {"id": "u7", "display_name": "Bay", "is_bot": False},
                    "chat": {"id": "u7", "chat_type": "PRIVATE"},
                    "message_id": "0123456789abcdef0001",
                    "date": int(clock.now().timestamp() * 1000),
                    "text": "/trogiup",
                },
            }
            await app.engine.receive("zalo", event["message"]["message_id"], "u7", {"zalo": event})
            async with _serving(config, clock):
                await api.wait_until(lambda: bool(api.sent_texts("u7")), timeout=10)
            assert "/start MÃ" in api.sent_texts("u7")[0]
            assert await app.store.messages.unprocessed("zalo") == []


async def test_a_leader_on_zalo_acknowledges_an_urgent_report_by_typing(
    zalo: MessengerHarness,
) -> None:
    api = _api(zalo)
    await zalo.join("an", Role.REPORTER, "721-01")
    await zalo.join("lan", Role.LEADER, "721")
    await zalo.say("an", "/khancap Sat lo vui 2 nha, khoang 10 nguoi")
    await zalo.say("an", "thien tai")
    (alert,) = [t for t in api.sent_texts(zalo.chat_of("lan")) if "KHẨN" in t]
    assert "/xuly 1 tiepnhan" in alert  # no buttons on Zalo: the command to type
    assert "tiếp nhận" in (await zalo.say("lan", "/xuly 1 tiep nhan")).lower()
    told = [t for t in api.sent_texts(zalo.chat_of("an")) if "đã tiếp nhận" in t]
    assert len(told) == 1 and "#1" in told[0]
