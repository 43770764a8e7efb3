"""A fake Zalo Bot API server for tests.

``FakeZaloApi`` is a small aiohttp server on 127.0.0.1 (a random port) that speaks enough of the
Zalo Bot Platform API (https://bot.zaloplatforms.com/docs) for the service's Zalo client::

    async with FakeZaloApi() as api:
        base = f"{api.url}/bot{api.token}"          # POST {base}/<method>, JSON body
        event = api.send_text("a1b2c3d4", "xin chào")  # queue an incoming event
        ...                                         # the service polls getUpdates, answers
        await api.wait_until(lambda: bool(api.sent_texts("a1b2c3d4")))

Like the platform:

* answers are ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
  "description": ...}``; the HTTP status of an error is its code (``error_http_status="code"``)
  or always 200 (``"200"``, as the real server often does); each fault can choose its own;
* a wrong token gets 401, an unknown method 404 (method names are case-sensitive);
* ``getUpdates`` long-polls and answers ONE event (not a list), consumed when answered (there is
  no offset to confirm); nothing within ``timeout`` seconds (default 30) gets 408;
* ``setWebhook``/``deleteWebhook``/``getWebhookInfo``; :meth:`FakeZaloApi.post_webhook` POSTs an
  event with the ``X-Bot-Api-Secret-Token`` header, wrapped ``{"ok": true, "result": event}`` or
  flat;
* ``sendMessage`` (text 1-2000 characters), ``sendPhoto`` (a URL, caption up to 2000),
  ``sendSticker``, ``sendChatAction`` (typing, upload_photo); message ids are 20 hex chars and
  dates milliseconds since the epoch.

The fake's own rules (the platform documents none of these):

* only one getUpdates may wait at a time: a second concurrent one gets 409 at once;
* getUpdates while a webhook is set gets 400 (a waiting one is answered so when one is set);
* the bot may only write to chats that wrote first (:attr:`FakeZaloApi.known_chats`), else 400
  "chat not found"; a blocked chat gets 403;
* while a webhook is set the user-side helpers neither queue nor POST the event: the test calls
  :meth:`FakeZaloApi.post_webhook` with the returned event itself;
* rate limits are token buckets of ``max(1, limit)`` sends refilled at ``limit`` per second; a 429
  carries no retry_after (like Zalo);
* a getUpdates answered 408 (nothing arrived) is in neither ``calls`` nor ``rejected``; it is
  counted in ``poll_timeouts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import EllipsisType, TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

__all__ = ["BOT_INFO", "SECRET_HEADER", "TINY_PNG", "TOKEN", "Call", "FakeZaloApi"]

JSON = dict[str, Any]
TOKEN = "1234567890:test-zalo-token"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
BOT_INFO: JSON = {
    "id": "1459232241454765289",
    "account_name": "bot.sitrep",
    "account_type": "BASIC",
    "can_join_groups": False,
}
#: A valid 1x1 transparent PNG.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker"})
_CHAT_METHODS = SEND_METHODS | {"sendChatAction"}
_WEBHOOK_ACTIVE = "Webhook is active; delete it before using getUpdates"
_POLL_CONFLICT = "Conflict: another getUpdates is running"


class _ApiError(Exception):
    def __init__(self, code: int, description: str = "", http_status: int | None = None) -> None:
        if not description:
            try:
                description = HTTPStatus(code).phrase
            except ValueError:
                description = "Error"
        super().__init__(description)
        self.code, self.description, self.http_status = code, description, http_status


@dataclass
class Call:
    """One API call: what the client sent; ``at`` is ``time.monotonic()`` on arrival.

    Accepted calls have ``result``; rejected ones ``error_code`` and ``description``.
    """

    method: str
    params: JSON
    at: float
    result: Any = None
    error_code: int | None = None
    description: str | None = None

    @property
    def text(self) -> str | None:
        """The ``text`` parameter, else the ``caption``, else None."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)


@dataclass
class _Fault:
    method: str
    times: int
    chat_id: str | None
    error: _ApiError | None  # None: hang
    seconds: float = 0.0


class _Bucket:
    def __init__(self, rate: float) -> None:
        self.rate, self.capacity = rate, max(1.0, rate)
        self.tokens, self.stamp = self.capacity, time.monotonic()

    def ready(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens >= 1.0


class FakeZaloApi:
    """The fake server; use ``async with FakeZaloApi() as api`` (see the module docstring)."""

    def __init__(
        self,
        token: str = TOKEN,
        *,
        error_http_status: str = "code",
        allow_http_webhook: bool = True,
        now: Callable[[], float] = time.time,
        per_chat_per_second: float | None = None,
        per_second: float | None = None,
    ) -> None:
        if error_http_status not in ("code", "200"):
            raise ValueError('error_http_status must be "code" or "200"')
        self.token = token
        self.error_http_status = error_http_status
        self.allow_http_webhook = allow_http_webhook
        self.now = now
        self.per_chat_per_second = per_chat_per_second
        self.per_second = per_second
        self.calls: list[Call] = []
        self.rejected: list[Call] = []
        self.downloads: list[str] = []
        self.known_chats: set[str] = set()
        self.webhook_url = ""
        self.webhook_secret = ""
        self.rate_limited = 0
        self.poll_timeouts = 0
        self._queue: deque[JSON] = deque()
        self._faults: list[_Fault] = []
        self._blocked: set[str] = set()
        self._groups: set[str] = set()
        self._names: dict[str, str] = {}
        self._files: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._buckets: dict[str, _Bucket] = {}
        self._global_bucket = None if per_second is None else _Bucket(per_second)
        self._revoked = False
        self._polling = False
        self._webhook_updated_at = 0
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._methods: dict[str, Callable[[JSON], Any]] = {
            "getMe": lambda params: dict(BOT_INFO),
            "getUpdates": lambda params: None,  # served by _get_updates
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": lambda params: {
                "url": self.webhook_url,
                "updated_at": self._webhook_updated_at,
            },
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (once started)."""
        if self._url is None:
            raise RuntimeError("FakeZaloApi is not started")
        return self._url

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # handler_cancellation: a poll whose client went away stops waiting (frees the slot).
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        self._runner = runner
        self._url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._closing.clear()

    async def close(self) -> None:
        """Stop: a waiting getUpdates gets 408, hanging requests lose their connection."""
        self._closing.set()
        self._notify()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- inspection -----------------------------------------------------------------------

    @property
    def polling(self) -> bool:
        """True while a getUpdates is waiting."""
        return self._polling

    @property
    def pending_events(self) -> list[JSON]:
        """Queued events no getUpdates has taken yet."""
        return list(self._queue)

    def calls_to(self, method: str, chat_id: str | None = None) -> list[Call]:
        """Accepted calls of ``method`` (to ``chat_id`` if given)."""
        return [c for c in self.calls if c.method == method and chat_id in (None, c.chat_id)]

    def sent_texts(self, chat_id: str | None = None) -> list[str]:
        """Texts of accepted sendMessage calls and captions of sendPhoto calls, in order."""
        return [
            c.text
            for c in self.calls
            if c.method in ("sendMessage", "sendPhoto") and c.text and chat_id in (None, c.chat_id)
        ]

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 (the API the tests use)
    ) -> None:
        """Wait until ``predicate()`` holds, re-checked on every call and event."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                calls = [(c.method, c.chat_id, c.text) for c in self.calls[-8:]]
                rejected = [(c.method, c.error_code, c.description) for c in self.rejected[-5:]]
                raise TimeoutError(
                    f"condition not met within {timeout}s; last calls: {calls}; "
                    f"last rejected: {rejected}; pending events: {len(self._queue)}; "
                    f"polling: {self._polling}"
                )
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _ms(self) -> int:
        return int(self.now() * 1000)

    # --- faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str = "",
        *,
        times: int = 1,
        http_status: int | None = None,
        chat_id: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ("*": any, "download": file GETs) with
        an error, without carrying them out. ``http_status`` None follows error_http_status."""
        error = _ApiError(error_code, description, http_status)
        self._faults.append(_Fault(method, times, chat_id, error))

    def hang_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Carry out and record the next ``times`` calls of ``method`` but answer only after
        ``seconds`` (the connection is dropped if the server closes first)."""
        self._faults.append(_Fault(method, times, None, None, seconds))

    def revoke_token(self) -> None:
        """Every later API call gets 401."""
        self._revoked = True

    def block(self, chat_id: str) -> None:
        """Calls to this chat get 403 "Forbidden: user blocked the bot"."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: str) -> None:
        self._blocked.discard(chat_id)

    def _take_fault(self, method: str, params: JSON) -> _Fault | None:
        chat = params.get("chat_id")
        for fault in self._faults:
            if fault.method not in ("*", method):
                continue
            if fault.chat_id is not None and fault.chat_id != str(chat):
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    async def _hang(self, request: web.Request, seconds: float) -> bool:
        """Wait ``seconds``; on close drop the connection and return False."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        if not self._closing.is_set():
            return True
        if request.transport is not None:
            request.transport.close()
        return False

    # --- HTTP -----------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/files/"):
            return await self._serve_file(request, path[len("/files/") :])
        if path.startswith("/bot"):
            token, _, method = path[len("/bot") :].partition("/")
            return await self._serve_api(request, token, method)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    def _error(self, error: _ApiError) -> web.Response:
        status = error.http_status
        if status is None:
            status = error.code if self.error_http_status == "code" else 200
        body = {"ok": False, "error_code": error.code, "description": error.description}
        return web.json_response(body, status=status)

    def _reject(self, method: str, params: JSON, at: float, error: _ApiError) -> web.Response:
        self.rejected.append(Call(method, params, at, None, error.code, error.description))
        self._notify()
        return self._error(error)

    def _accept(self, method: str, params: JSON, at: float, result: Any) -> web.Response:
        self.calls.append(Call(method, params, at, result))
        self._notify()
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _read_params(request: web.Request) -> JSON:
        params: JSON = dict(request.query)
        raw = await request.read() if request.can_read_body else b""
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise _ApiError(400, "Bad Request: invalid JSON body") from None
            if not isinstance(body, dict):
                raise _ApiError(400, "Bad Request: the body must be a JSON object")
            params.update(body)
        return params

    async def _serve_api(self, request: web.Request, token: str, method: str) -> web.Response:
        at = time.monotonic()
        params: JSON = {}
        bad_body: _ApiError | None = None
        try:
            params = await self._read_params(request)
        except _ApiError as error:
            bad_body = error
        if token != self.token or self._revoked:
            return self._reject(method, params, at, _ApiError(401, "Unauthorized"))
        if bad_body is not None:
            return self._reject(method, params, at, bad_body)
        impl = self._methods.get(method)
        if impl is None:
            return self._reject(method, params, at, _ApiError(404, "Not Found"))
        fault = self._take_fault(method, params)
        if fault is not None and fault.error is not None:
            return self._reject(method, params, at, fault.error)
        if method == "getUpdates":
            response = await self._get_updates(params, at)
        else:
            response = self._carry_out(method, impl, params, at)
        if fault is not None and not await self._hang(request, fault.seconds):
            return web.Response(status=500)  # the connection is already closed
        return response

    def _carry_out(
        self, method: str, impl: Callable[[JSON], Any], params: JSON, at: float
    ) -> web.Response:
        try:
            chat = self._chat(params) if method in _CHAT_METHODS else ""
            buckets = self._buckets_for(chat) if method in SEND_METHODS else []
            if not all(bucket.ready() for bucket in buckets):
                self.rate_limited += 1
                raise _ApiError(429, "Too Many Requests")
            result = impl(params)
        except _ApiError as error:
            return self._reject(method, params, at, error)
        for bucket in buckets:
            bucket.tokens -= 1.0
        return self._accept(method, params, at, result)

    def _buckets_for(self, chat: str) -> list[_Bucket]:
        buckets = [] if self._global_bucket is None else [self._global_bucket]
        if self.per_chat_per_second is not None:
            buckets.append(self._buckets.setdefault(chat, _Bucket(self.per_chat_per_second)))
        return buckets

    async def _serve_file(self, request: web.Request, name: str) -> web.StreamResponse:
        fault = self._take_fault("download", {})
        if fault is not None and fault.error is not None:
            return self._error(fault.error)
        if fault is not None and not await self._hang(request, fault.seconds):
            return web.Response(status=500)
        data = self._files.get(name)
        if data is None:
            return web.Response(status=404, text="Not Found")
        self.downloads.append(f"{self.url}/files/{name}")
        self._notify()
        kind = {"png": "image/png", "jpg": "image/jpeg"}.get(name.rsplit(".", 1)[-1])
        return web.Response(body=data, content_type=kind or "application/octet-stream")

    # --- methods --------------------------------------------------------------------------

    async def _get_updates(self, params: JSON, at: float) -> web.Response:
        if self.webhook_url:
            return self._reject("getUpdates", params, at, _ApiError(400, _WEBHOOK_ACTIVE))
        if self._polling:
            return self._reject("getUpdates", params, at, _ApiError(409, _POLL_CONFLICT))
        try:
            timeout = max(0.0, float(params.get("timeout", 30)))
        except (TypeError, ValueError):
            error = _ApiError(400, "Bad Request: timeout must be a number of seconds")
            return self._reject("getUpdates", params, at, error)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._polling = True
        self._notify()
        try:
            while not self._queue and not self._closing.is_set():
                if self.webhook_url:
                    return self._reject("getUpdates", params, at, _ApiError(400, _WEBHOOK_ACTIVE))
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            self._polling = False
            self._notify()
        if self._queue:
            return self._accept("getUpdates", params, at, self._queue.popleft())
        self.poll_timeouts += 1
        return self._error(_ApiError(408, "Request timeout"))

    def _set_webhook(self, params: JSON) -> JSON:
        url = params.get("url")
        schemes = ("https://", "http://") if self.allow_http_webhook else ("https://",)
        if not isinstance(url, str) or not url.startswith(schemes):
            raise _ApiError(400, "Bad Request: url must be an https:// URL")
        secret = params.get("secret_token")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise _ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        self._webhook_updated_at = self._ms()
        return {"url": url, "updated_at": self._webhook_updated_at}

    def _delete_webhook(self, params: JSON) -> JSON:
        self.webhook_url = self.webhook_secret = ""
        self._webhook_updated_at = self._ms()
        return {"url": "", "updated_at": self._webhook_updated_at}

    def _chat(self, params: JSON) -> str:
        value = params.get("chat_id")
        if value is None or value == "" or isinstance(value, bool):
            raise _ApiError(400, "Bad Request: chat_id is required")
        chat = str(value)
        if chat not in self.known_chats:
            raise _ApiError(400, "Bad Request: chat not found")
        if chat in self._blocked:
            raise _ApiError(403, "Forbidden: user blocked the bot")
        return chat

    def _sent(self) -> JSON:
        return {"message_id": self._new_id(), "date": self._ms()}

    def _send_message(self, params: JSON) -> JSON:
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 2000:
            raise _ApiError(400, "Bad Request: text must be 1-2000 characters")
        return self._sent()

    def _send_photo(self, params: JSON) -> JSON:
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: photo must be an image URL")
        caption = params.get("caption")
        if caption is not None and (not isinstance(caption, str) or len(caption) > 2000):
            raise _ApiError(400, "Bad Request: caption must be at most 2000 characters")
        return self._sent()

    def _send_sticker(self, params: JSON) -> JSON:
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _ApiError(400, "Bad Request: sticker is required")
        return self._sent()

    @staticmethod
    def _send_chat_action(params: JSON) -> bool:
        if params.get("action") not in ("typing", "upload_photo"):
            raise _ApiError(400, "Bad Request: action must be typing or upload_photo")
        return True

    # --- the user side --------------------------------------------------------------------

    def _new_id(self) -> str:
        """A unique 20-hex-digit id (random, with a counter so it never repeats)."""
        return f"{secrets.token_hex(6)}{next(self._ids):08x}"

    def add_file(self, data: bytes, name: str | None = None) -> str:
        """Serve ``data`` at ``{url}/files/<name>`` and return that URL."""
        if name is None:
            ext = "png" if data.startswith(b"\x89PNG") else "jpg"
            name = f"{self._new_id()}.{ext}"
        self._files[name] = data
        return f"{self.url}/files/{name}"

    def _event(
        self,
        event_name: str,
        user_id: str,
        chat_id: str | None,
        group: bool,
        display_name: str | None,
        content: JSON,
    ) -> JSON:
        if chat_id is None:
            chat_id = (
                hashlib.sha1(f"group:{user_id}".encode()).hexdigest()[:16] if group else user_id
            )
        if group:
            self._groups.add(chat_id)
        if display_name is not None:
            self._names[user_id] = display_name
        message: JSON = {
            "from": {
                "id": user_id,
                "display_name": self._names.get(user_id, "User"),
                "is_bot": False,
            },
            "chat": {"id": chat_id, "chat_type": "GROUP" if chat_id in self._groups else "PRIVATE"},
            "message_id": self._new_id(),
            "date": self._ms(),
            **content,
        }
        event: JSON = {"event_name": event_name, "message": message}
        self.known_chats.add(chat_id)
        if not self.webhook_url:
            self._queue.append(event)
        self._notify()
        return event

    def send_text(
        self,
        user_id: str,
        text: str,
        *,
        chat_id: str | None = None,
        group: bool = False,
        display_name: str | None = None,
    ) -> JSON:
        """A user writes ``text``: queue a ``message.text.received`` event and return it.

        The chat is private (``chat_id == user_id``) unless ``chat_id`` or ``group`` says
        otherwise (``group`` without ``chat_id``: a group id derived from the user id); a chat
        once seen as a group stays GROUP. ``display_name`` is remembered (default "User").
        """
        return self._event(
            "message.text.received", user_id, chat_id, group, display_name, {"text": text}
        )

    def send_image(
        self,
        user_id: str,
        *,
        caption: str = "",
        data: bytes = TINY_PNG,
        key: str = "photo_url",
        chat_id: str | None = None,
        group: bool = False,
    ) -> JSON:
        """A user sends an image served by the fake; ``key`` is "photo_url" or "photo"."""
        if key not in ("photo_url", "photo"):
            raise ValueError('key must be "photo_url" or "photo"')
        content: JSON = {key: self.add_file(data)}
        if caption:
            content["caption"] = caption
        return self._event("message.image.received", user_id, chat_id, group, None, content)

    def send_sticker(
        self, user_id: str, *, chat_id: str | None = None, group: bool = False
    ) -> JSON:
        """A user sends a sticker (``sticker`` id and ``url`` of its image)."""
        sticker = self._new_id()
        content = {"sticker": sticker, "url": self.add_file(TINY_PNG, f"sticker-{sticker}.png")}
        return self._event("message.sticker.received", user_id, chat_id, group, None, content)

    def send_unsupported(
        self, user_id: str, *, chat_id: str | None = None, group: bool = False
    ) -> JSON:
        """A user sends something the platform does not pass on (no content)."""
        return self._event("message.unsupported.received", user_id, chat_id, group, None, {})

    def redeliver(self, event: JSON) -> None:
        """Queue ``event`` again, same message_id (with a webhook set it waits for getUpdates
        after deleteWebhook, like every queued event)."""
        self._queue.append(event)
        self._notify()

    async def post_webhook(
        self, event: JSON, *, secret: str | EllipsisType | None = ..., wrapped: bool = True
    ) -> int:
        """POST ``event`` to the webhook; return the HTTP status (0: no connection).

        ``secret`` defaults to the registered one; None sends no secret header.
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook is set")
        if isinstance(secret, EllipsisType):
            secret = self.webhook_secret
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        body = {"ok": True, "result": event} if wrapped else event
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._session.post(
                self.webhook_url, data=json.dumps(body), headers=headers
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self._notify()
        return status
