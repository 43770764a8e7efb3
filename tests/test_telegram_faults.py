"""Telegram under real limits and injected faults: nothing lost, nothing sent twice except what
an ambiguous timeout allows (and that is counted); polling conflicts, bad tokens, a Bot API
that is down, and the webhook."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import opened
from bot.config import Config
from bot.service import serve
from storage.records import Role
from storage.store import Store
from tests.fake_telegram import FakeBotApi
from tests.harness import seed_units
from tests.telegram_harness import TelegramChat, join, running_service, telegram_config

REPORTER, LEADER, OFFICER = 1001, 2001, 3001
QUICK = {"SITREP_TELEGRAM_RATE_CHAT_PER_SECOND": "100", "SITREP_TELEGRAM_REQUEST_TIMEOUT": "1"}


async def _seeded(config: Config) -> Config:
    async with opened(config) as app:
        await seed_units(app)
    return config


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened_store = await Store.open(database_url, ["normal", "attention", "urgent"])
    yield opened_store
    await opened_store.close()


@pytest.fixture
async def quick_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(private_per_second=100, hang_seconds=5) as fake:
        yield fake


@pytest.fixture
async def chat(
    database_url: str, tmp_path: Path, quick_api: FakeBotApi, store: Store
) -> AsyncIterator[TelegramChat]:
    config = await _seeded(telegram_config(database_url, tmp_path, quick_api, **QUICK))
    async with running_service(config):
        talk = TelegramChat(quick_api, store)
        await join(talk, store, REPORTER, Role.REPORTER, "721-01")
        await join(talk, store, LEADER, Role.LEADER, "721")
        yield talk


async def _urgent(chat: TelegramChat) -> None:
    await chat.say(REPORTER, "/khancap Khoang 50 nguoi keo len UBND xa")
    await chat.say(REPORTER, "dat dai")


def _alerts(api: FakeBotApi) -> list[str]:
    return [m.text or "" for m in api.sent_messages(LEADER) if "KHẨN" in (m.text or "")]


@pytest.mark.parametrize("fault", ["500", "502", "drop"])
async def test_server_errors_and_dropped_connections_are_retried_once_delivered(
    chat: TelegramChat, quick_api: FakeBotApi, fault: str
) -> None:
    quick_api.fail_next("sendMessage", fault, times=2, chat_id=LEADER)
    await _urgent(chat)
    assert len(_alerts(quick_api)) == 1
    counts = await chat.store.messages.status_counts("telegram")
    assert counts.get("failed", 0) == 0 and counts.get("pending", 0) == 0


async def test_429_pauses_sending_for_as_long_as_asked(
    chat: TelegramChat, quick_api: FakeBotApi
) -> None:
    quick_api.fail_next("sendMessage", "429", retry_after=1, chat_id=LEADER)
    started = asyncio.get_running_loop().time()
    await _urgent(chat)
    assert len(_alerts(quick_api)) == 1
    assert asyncio.get_running_loop().time() - started >= 1.0


async def test_a_timeout_after_delivery_is_retried_once_and_counted(
    chat: TelegramChat, quick_api: FakeBotApi
) -> None:
    quick_api.fail_next("sendMessage", "timeout", chat_id=LEADER)
    await _urgent(chat)
    # the first try arrived but its answer never came: the one retry makes a counted duplicate
    assert len(_alerts(quick_api)) == 2
    assert await chat.store.messages.ambiguous_count("telegram") == 1


async def test_a_send_that_times_out_twice_is_not_sent_again(
    chat: TelegramChat, quick_api: FakeBotApi
) -> None:
    quick_api.fail_next("sendMessage", "timeout", times=2, chat_id=LEADER)
    await _urgent(chat)
    assert len(_alerts(quick_api)) == 2
    assert (await chat.store.messages.status_counts("telegram")).get("failed") == 1


async def test_400_is_not_retried(chat: TelegramChat, quick_api: FakeBotApi) -> None:
    quick_api.fail_next("sendMessage", "400", chat_id=LEADER)
    await _urgent(chat)
    await asyncio.sleep(0.3)
    assert _alerts(quick_api) == []
    assert [r.error_code for r in quick_api.rejected] == [400]
    assert (await chat.store.messages.status_counts("telegram")).get("failed") == 1


async def test_a_member_who_blocked_the_bot_is_reported_to_the_leader(
    chat: TelegramChat, quick_api: FakeBotApi
) -> None:
    quick_api.block(REPORTER)
    await chat.say(REPORTER, "/trogiup")
    await quick_api.wait_until(lambda: len(quick_api.sent_messages(LEADER)) == 3)
    notice = quick_api.sent_messages(LEADER)[-1].text or ""
    assert notice.startswith("⚠️ Không gửi được tin tới") and "Thôn Lũng Cú" in notice
    member = await chat.store.members.by_identity("telegram", str(REPORTER))
    assert member is not None
    # once they write again they are reachable again, and nothing is repeated to the leader
    quick_api.unblock(REPORTER)
    sent = await chat.say(REPORTER, "/trogiup")
    assert sent and len(quick_api.sent_messages(LEADER)) == 3  # welcome, help, one notice


async def test_real_limits_are_kept_without_a_single_429(
    database_url: str, tmp_path: Path, store: Store
) -> None:
    async with FakeBotApi() as api:  # 30/s overall, 1/s a private chat
        config = await _seeded(telegram_config(database_url, tmp_path, api))
        async with running_service(config):
            talk = TelegramChat(api, store)
            await join(talk, store, LEADER, Role.LEADER, "721")
            reporters = [REPORTER + n for n in range(3)]
            for n, user in enumerate(reporters):
                await join(talk, store, user, Role.REPORTER, f"721-0{n + 1}")
            for user in reporters:  # three urgent reports at once: three alerts to one leader
                api.send_text(user, "/khancap Sat lo dat o cuoi thon, 10 nguoi")
            for user in reporters:
                api.send_text(user, "moi truong")
            await api.wait_until(lambda: len(_alerts(api)) == 3, timeout=15)
            times = [c.time for c in api.sent_messages(LEADER) if "KHẨN" in (c.text or "")]
            assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
            assert api.rate_limited == 0


async def test_two_pollers_on_one_token(
    database_url: str, tmp_path: Path, quick_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    config = await _seeded(telegram_config(database_url, tmp_path, quick_api, **QUICK))
    async with running_service(config) as first:
        await quick_api.wait_until(lambda: quick_api.polling, timeout=10)
        async with running_service(config) as second:
            done, _ = await asyncio.wait({first, second}, timeout=10, return_when="FIRST_COMPLETED")
            assert [t.result() for t in done] == [3]
    assert "409 Conflict" in caplog.text


async def test_a_wrong_token_stops_start_up_with_one_clear_line(
    database_url: str, tmp_path: Path, quick_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    config = telegram_config(
        database_url, tmp_path, quick_api, SITREP_TELEGRAM_TOKEN="999999:WRONG-token"
    )
    assert await asyncio.wait_for(serve(config), 10) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        f"Telegram refused the bot token ({quick_api.url}): check SITREP_TELEGRAM_TOKEN"
    ]


async def test_a_bot_api_that_is_down_at_start_up_is_waited_for(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    async with FakeBotApi() as placeholder:
        config = telegram_config(
            database_url, tmp_path, placeholder, SITREP_TELEGRAM_API_URL=f"http://127.0.0.1:{port}"
        )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, stop=stop))
    await asyncio.sleep(1.5)
    assert "is not reachable" in caplog.text and not task.done()
    stop.set()
    assert await asyncio.wait_for(task, 10) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode(
    database_url: str, tmp_path: Path, quick_api: FakeBotApi, store: Store
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    config = await _seeded(
        telegram_config(
            database_url,
            tmp_path,
            quick_api,
            SITREP_WEB_PORT=str(port),
            SITREP_TELEGRAM_WEBHOOK_SECRET="s3cret-for-tests",
            **QUICK,
        )
    )
    async with running_service(config, webhook_url=url):
        await quick_api.wait_until(lambda: quick_api.webhook_url == url, timeout=10)
        talk = TelegramChat(quick_api, store)
        await join(talk, store, REPORTER, Role.REPORTER, "721-01")  # delivered by webhook
        update = quick_api.send_text(REPORTER, "/baocao")
        await talk.settled(update["update_id"])
        assert await quick_api.deliver(dict(update)) == 200  # a redelivery: answered, dropped
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as answer:
                    assert answer.status == 403
            good = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-for-tests"}
            async with http.post(url, data=b"{not json", headers=good) as answer:
                assert answer.status == 400
        questions = [
            m for m in quick_api.sent_messages(REPORTER) if "Báo cáo tuần" in (m.text or "")
        ]
        assert len(questions) == 1
