"""The fake Zalo Bot API server, exercised with a plain aiohttp client."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.fake_zalo import BOT_INFO, SECRET_HEADER, TINY_PNG, TOKEN, FakeZaloApi

JSON = dict[str, Any]
USER = "5a1b2c3d4e5f6a7b"
SECRET = "s3cret-token"


@pytest.fixture
async def api() -> AsyncIterator[FakeZaloApi]:
    async with FakeZaloApi() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def call(
    session: aiohttp.ClientSession,
    api: FakeZaloApi,
    method: str,
    params: JSON | None = None,
    *,
    token: str = TOKEN,
    client_timeout: float = 5.0,
) -> tuple[int, JSON]:
    """POST ``params`` as JSON; return the HTTP status and the decoded answer."""
    async with session.post(
        f"{api.url}/bot{token}/{method}",
        json=params or {},
        timeout=aiohttp.ClientTimeout(total=client_timeout),
    ) as response:
        return response.status, await response.json()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str | None, JSON]]]]:
    """A webhook endpoint: its URL and what it received (secret header, body)."""
    received: list[tuple[str | None, JSON]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook", received
    await runner.cleanup()


async def test_get_me_and_tokens(api: FakeZaloApi, session: aiohttp.ClientSession) -> None:
    assert await call(session, api, "getMe") == (200, {"ok": True, "result": BOT_INFO})
    async with session.get(f"{api.url}/bot{TOKEN}/getMe") as response:
        assert (await response.json())["result"]["account_name"] == "bot.sitrep"
    status, body = await call(session, api, "getMe", token="1234567890:wrong")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert await call(session, api, "sendFax") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert [c.method for c in api.calls] == ["getMe", "getMe"]
    assert [(c.method, c.error_code) for c in api.rejected] == [("getMe", 401), ("sendFax", 404)]
    api.revoke_token()
    assert (await call(session, api, "getMe"))[0] == 401


async def test_get_updates_one_event_then_408(
    api: FakeZaloApi, session: aiohttp.ClientSession
) -> None:
    event = api.send_text(USER, "xin chào", display_name="Lan")
    status, body = await call(session, api, "getUpdates", {"timeout": "1"})
    assert status == 200 and body == {"ok": True, "result": event}
    message = body["result"]["message"]
    assert body["result"]["event_name"] == "message.text.received"
    assert message["from"] == {"id": USER, "display_name": "Lan", "is_bot": False}
    assert message["chat"] == {"id": USER, "chat_type": "PRIVATE"}
    assert re.fullmatch(r"[0-9a-f]{20}", message["message_id"])
    assert abs(message["date"] - time.time() * 1000) < 5000

    started = time.monotonic()
    status, body = await call(session, api, "getUpdates", {"timeout": 1})
    assert 0.9 < time.monotonic() - started < 3
    assert (status, body) == (
        408,
        {"ok": False, "error_code": 408, "description": "Request timeout"},
    )
    assert [c.method for c in api.calls] == ["getUpdates"] and not api.rejected
    assert api.poll_timeouts == 1

    # A waiting poll wakes as soon as an event arrives; a second concurrent poll gets 409.
    poll = asyncio.create_task(call(session, api, "getUpdates", {"timeout": 30}))
    await api.wait_until(lambda: api.polling, timeout=2)
    status, body = await call(session, api, "getUpdates", {"timeout": 30})
    assert (status, body["error_code"]) == (409, 409)
    started = time.monotonic()
    group = api.send_text(USER, "nhóm", group=True)
    assert (await poll)[1]["result"] == group and time.monotonic() - started < 1
    assert group["message"]["chat"]["chat_type"] == "GROUP"
    assert group["message"]["chat"]["id"] != USER and not api.polling

    # A poll whose client gave up frees the slot: the next one is not a conflict.
    with pytest.raises(TimeoutError):
        await call(session, api, "getUpdates", {"timeout": 30}, client_timeout=0.2)
    await api.wait_until(lambda: not api.polling, timeout=2)
    assert (await call(session, api, "getUpdates", {"timeout": 0}))[0] == 408


async def test_errors_with_http_200(session: aiohttp.ClientSession) -> None:
    async with FakeZaloApi(error_http_status="200") as api:
        status, body = await call(session, api, "getUpdates", {"timeout": 0})
        assert (status, body["ok"], body["error_code"]) == (200, False, 408)
        assert (await call(session, api, "getMe", token="1:x"))[0] == 200
        api.fail_next("getMe", 502, http_status=502)
        status, body = await call(session, api, "getMe")
        assert (status, body["description"]) == (502, "Bad Gateway")


async def test_webhook(
    api: FakeZaloApi,
    session: aiohttp.ClientSession,
    receiver: tuple[str, list[tuple[str | None, JSON]]],
) -> None:
    url, received = receiver
    status, body = await call(session, api, "setWebhook", {"url": url, "secret_token": "short"})
    assert (status, body["ok"]) == (400, False) and "8-256" in body["description"]
    assert (await call(session, api, "setWebhook", {"url": url, "secret_token": "x" * 257}))[
        0
    ] == 400

    poll = asyncio.create_task(call(session, api, "getUpdates", {"timeout": 30}))
    await api.wait_until(lambda: api.polling, timeout=2)
    api.now = lambda: 1_700_000_000.0
    status, body = await call(session, api, "setWebhook", {"url": url, "secret_token": SECRET})
    assert body["result"] == {"url": url, "updated_at": 1_700_000_000_000}
    assert (api.webhook_url, api.webhook_secret) == (url, SECRET)
    status, body = await poll  # the waiting poll is answered with the webhook error
    assert status == 400 and "Webhook is active" in body["description"]
    assert (await call(session, api, "getUpdates", {"timeout": 1}))[0] == 400
    assert (await call(session, api, "getWebhookInfo"))[1]["result"]["url"] == url

    event = api.send_text(USER, "qua webhook")
    assert not api.pending_events  # not queued: the test posts it
    assert await api.post_webhook(event) == 200
    assert await api.post_webhook(event, wrapped=False, secret="other-secret") == 200
    assert await api.post_webhook(event, secret=None) == 200
    assert received == [
        (SECRET, {"ok": True, "result": event}),
        ("other-secret", event),
        (None, {"ok": True, "result": event}),
    ]

    status, body = await call(session, api, "deleteWebhook")
    assert body["result"] == {"url": "", "updated_at": 1_700_000_000_000}
    assert (
        api.webhook_url == "" and (await call(session, api, "getUpdates", {"timeout": 0}))[0] == 408
    )
    with pytest.raises(RuntimeError):
        await api.post_webhook(event)

    async with FakeZaloApi(allow_http_webhook=False) as strict:
        params = {"url": url, "secret_token": SECRET}
        assert (await call(session, strict, "setWebhook", params))[0] == 400
        params["url"] = "https://example.invalid/hook"
        assert (await call(session, strict, "setWebhook", params))[0] == 200


async def test_sends(api: FakeZaloApi, session: aiohttp.ClientSession) -> None:
    status, body = await call(session, api, "sendMessage", {"chat_id": USER, "text": "hi"})
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    api.send_text(USER, "hello")
    api.known_chats.add("c0ffee")
    for text in ("", "x" * 2001):
        status, body = await call(session, api, "sendMessage", {"chat_id": USER, "text": text})
        assert status == 400 and "1-2000" in body["description"]
    api.now = lambda: 1_700_000_000.5
    status, body = await call(session, api, "sendMessage", {"chat_id": USER, "text": "x" * 2000})
    assert status == 200 and body["result"]["date"] == 1_700_000_000_500
    assert re.fullmatch(r"[0-9a-f]{20}", body["result"]["message_id"])
    photo = {"chat_id": "c0ffee", "photo": "https://example.invalid/a.png", "caption": "ảnh"}
    assert (await call(session, api, "sendPhoto", photo))[0] == 200
    assert (await call(session, api, "sendPhoto", {**photo, "caption": "x" * 2001}))[0] == 400
    assert (await call(session, api, "sendPhoto", {**photo, "photo": "a.png"}))[0] == 400
    assert (await call(session, api, "sendSticker", {"chat_id": USER, "sticker": "abc"}))[0] == 200
    action = {"chat_id": USER, "action": "typing"}
    assert await call(session, api, "sendChatAction", action) == (200, {"ok": True, "result": True})
    assert (await call(session, api, "sendChatAction", {**action, "action": "dance"}))[0] == 400
    assert api.sent_texts() == ["x" * 2000, "ảnh"]
    assert api.sent_texts("c0ffee") == ["ảnh"]
    assert [c.text for c in api.calls_to("sendMessage", USER)] == ["x" * 2000]
    assert len(api.rejected) == 6


async def test_faults(api: FakeZaloApi, session: aiohttp.ClientSession) -> None:
    api.send_text(USER, "hi")
    api.send_text("other", "hi")
    msg = {"chat_id": USER, "text": "a"}
    api.fail_next("sendMessage", 429, "Too Many Requests", http_status=200, times=2, chat_id=USER)
    assert (await call(session, api, "sendMessage", {"chat_id": "other", "text": "a"}))[0] == 200
    for _ in range(2):
        status, body = await call(session, api, "sendMessage", msg)
        assert (status, body["error_code"], body["description"]) == (200, 429, "Too Many Requests")
    api.fail_next("*", 500)
    assert (await call(session, api, "sendMessage", msg))[0] == 500
    assert (await call(session, api, "sendMessage", msg))[0] == 200
    assert api.rate_limited == 0  # injected faults are not rate limiting

    # A hung call is carried out: the client times out but the message was sent.
    api.hang_next("sendMessage", 2)
    with pytest.raises(TimeoutError):
        await call(
            session, api, "sendMessage", {"chat_id": USER, "text": "ambiguous"}, client_timeout=0.3
        )
    assert api.sent_texts(USER)[-1] == "ambiguous"

    api.block(USER)
    status, body = await call(session, api, "sendMessage", msg)
    assert status == 403 and "blocked" in body["description"]
    api.unblock(USER)
    assert (await call(session, api, "sendMessage", msg))[0] == 200


async def test_rate_limits(session: aiohttp.ClientSession) -> None:
    async with FakeZaloApi(per_chat_per_second=1, per_second=3) as api:
        for user in ("u1", "u2", "u3", "u4"):
            api.send_text(user, "hi")
        first = await call(session, api, "sendMessage", {"chat_id": "u1", "text": "1"})
        status, body = await call(session, api, "sendMessage", {"chat_id": "u1", "text": "2"})
        assert first[0] == 200
        assert (status, body) == (
            429,
            {"ok": False, "error_code": 429, "description": "Too Many Requests"},
        )
        assert (await call(session, api, "sendPhoto", {"chat_id": "u2", "photo": "http://x/y"}))[
            0
        ] == 200
        assert (await call(session, api, "sendSticker", {"chat_id": "u3", "sticker": "s"}))[
            0
        ] == 200
        # the global bucket (3) is empty now
        assert (await call(session, api, "sendMessage", {"chat_id": "u4", "text": "4"}))[0] == 429
        assert api.rate_limited == 2
        await asyncio.sleep(1.05)
        assert (await call(session, api, "sendMessage", {"chat_id": "u1", "text": "3"}))[0] == 200


async def test_images_stickers_and_redelivery(
    api: FakeZaloApi, session: aiohttp.ClientSession
) -> None:
    event = api.send_image(USER, caption="hiện trường", key="photo")
    message = event["message"]
    assert event["event_name"] == "message.image.received" and message["caption"] == "hiện trường"
    assert message["photo"].startswith(f"{api.url}/files/") and "photo_url" not in message
    async with session.get(message["photo"]) as response:
        assert response.status == 200 and await response.read() == TINY_PNG
        assert response.content_type == "image/png"
    assert api.downloads == [message["photo"]]
    assert "photo_url" in api.send_image(USER, data=b"\xff\xd8jpeg")["message"]

    sticker = api.send_sticker(USER)["message"]
    assert sticker["sticker"] and sticker["url"].startswith(api.url)
    assert "text" not in api.send_unsupported(USER)["message"]

    api.fail_next("download", 503)
    async with session.get(message["photo"]) as response:
        assert response.status == 503
    async with session.get(f"{api.url}/files/nothing.png") as response:
        assert response.status == 404

    api.redeliver(event)
    names = [e["event_name"] for e in api.pending_events]
    assert names[-1] == "message.image.received" and api.pending_events[-1] is event
    for _ in range(len(names) - 1):
        await call(session, api, "getUpdates", {"timeout": 0})
    again = (await call(session, api, "getUpdates", {"timeout": 0}))[1]["result"]
    assert again["message"]["message_id"] == message["message_id"]


async def test_close_ends_hanging_requests(session: aiohttp.ClientSession) -> None:
    api = FakeZaloApi()
    await api.start()
    api.known_chats.add(USER)
    api.hang_next("sendMessage", 30)
    hung = asyncio.create_task(call(session, api, "sendMessage", {"chat_id": USER, "text": "a"}))
    poll = asyncio.create_task(call(session, api, "getUpdates", {"timeout": 30}))
    await api.wait_until(lambda: api.polling and bool(api.calls_to("sendMessage")), timeout=2)
    started = time.monotonic()
    await api.close()
    results = await asyncio.gather(hung, poll, return_exceptions=True)
    assert time.monotonic() - started < 2
    assert isinstance(results[0], aiohttp.ClientError)
    assert not isinstance(results[1], BaseException) and results[1][0] == 408


async def test_wait_until_times_out_helpfully(api: FakeZaloApi) -> None:
    with pytest.raises(TimeoutError, match="pending events: 1"):
        api.send_text(USER, "hi")
        await api.wait_until(lambda: False, timeout=0.1)
