"""The Zalo channel, on the Zalo Bot API (https://bot.zaloplatforms.com/docs).

Incoming: the service's poll loop (getUpdates returns one event per call; error 408 means
"nothing yet") or the webhook stores each event in the inbox and commits before asking for the
next one (or before answering 200), then handles it in its chat's order. Zalo events carry no
update id: the inbox deduplicates on the message id. Outgoing: outbox rows, sent by the outbox
sender through ``zalo_send.ZaloTransport``. Reading events is ``zalo_events``; the HTTP client
is ``zalo_api``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from bot.app import App
from bot.channels.messenger import MessengerChannel
from bot.channels.stopped import ChannelStopped
from bot.channels.zalo_api import ZaloApi, ZaloError, ZaloNetworkError, ZaloTimeout
from bot.channels.zalo_events import (
    CHANNEL,
    EventReader,
    chat_of,
    is_group,
    message_id,
    unwrap,
)
from bot.channels.zalo_send import ZaloTransport
from bot.config import ChannelSettings
from bot.web import WebServer

log = logging.getLogger(__name__)

RAW = "zalo"  # inbox payload key: the event as Zalo sent it
SECRET_HEADER = "X-Bot-Api-Secret-Token"
NO_UPDATE = 408


class ZaloChannel(MessengerChannel):
    name = CHANNEL
    label = "Zalo"

    def __init__(
        self,
        app: App,
        settings: ChannelSettings,
        media_dir: Path,
        web_server: WebServer | None = None,
        webhook_url: str | None = None,
    ) -> None:
        super().__init__(app)
        self._settings = settings
        self._webhook_url = webhook_url
        self._secret = settings.webhook_secret or secrets.token_urlsafe(32)
        self.api = ZaloApi(settings.api_url, settings.token, settings.request_timeout)
        if webhook_url:
            if web_server is None:
                raise ValueError("webhook mode needs the web server")
            web_server.add_post(urlparse(webhook_url).path or "/", self._webhook)
        self.transport = ZaloTransport(self.api, settings.max_text, app.services.texts)
        self._reader = EventReader(
            self.api, media_dir / CHANNEL, settings.max_file_mb, app.services.clock
        )
        self.sender = self._sender(self.transport, settings)

    # --- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, replay stored events, then poll or take webhooks."""
        await self.api.open()
        await self._connect()
        self._run(self.sender.run(), "sender")
        for inbox_id, payload in await self._app.store.messages.unprocessed(CHANNEL):
            if RAW in payload:
                self._schedule(inbox_id, payload[RAW])
        if self._webhook_url:
            await self._call("setWebhook", {"url": self._webhook_url, "secret_token": self._secret})
            log.info("Zalo webhook set to %s", self._webhook_url)
        else:
            await self._call("deleteWebhook")
            self._run(self._poll(), "poller")

    async def _close(self) -> None:
        await self.api.close()

    async def _connect(self) -> None:
        """getMe until the Bot API answers; a refused token stops start-up."""
        delay = 1.0
        while True:
            try:
                me = await self.api.call("getMe")
            except ZaloError as exc:
                if exc.code in (401, 403, 404):
                    raise ChannelStopped(
                        f"Zalo refused the bot token ({self.api.api_url}: {exc}): "
                        "check SITREP_ZALO_TOKEN",
                        2,
                    ) from exc
                log.warning("Zalo getMe failed (%s); trying again in %.0f s", exc, delay)
            except (ZaloTimeout, ZaloNetworkError) as exc:
                log.warning(
                    "the Zalo Bot API at %s is not reachable (%s); trying again in %.0f s",
                    self.api.api_url,
                    exc,
                    delay,
                )
            else:
                name = me.get("account_name") or me.get("id") if isinstance(me, dict) else me
                log.info("connected to Zalo as %s", name)
                return
            await asyncio.sleep(delay)
            delay = min(60.0, delay * 2)

    async def _call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return await self.api.call(method, params)
        except ZaloError as exc:
            if exc.code == 401:
                raise ChannelStopped("Zalo refused the bot token (401)", 2) from exc
            raise

    # --- receiving ---------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long-poll getUpdates (one event per answer); each is committed before the next."""
        delay = 1.0
        timeout = self._settings.poll_timeout
        while not self._stopping:
            try:
                body = await self.api.call(
                    "getUpdates", {"timeout": str(timeout)}, wait_seconds=timeout + 10
                )
            except ZaloError as exc:
                if exc.code == NO_UPDATE:
                    delay = 1.0
                    continue
                if exc.code == 401:
                    raise ChannelStopped(
                        "Zalo refused the bot token (401): check SITREP_ZALO_TOKEN", 2
                    ) from exc
                if exc.code == 409:
                    raise ChannelStopped(
                        "another process is already receiving this Zalo bot's messages "
                        "(409 Conflict): only one `sitrep run` may poll a token",
                        3,
                    ) from exc
                log.warning("Zalo getUpdates failed (%s); trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
                continue
            except ZaloTimeout:
                continue  # a long poll that came back empty-handed
            except ZaloNetworkError as exc:
                log.warning("Zalo getUpdates failed (%s); trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
                continue
            delay = 1.0
            events = body if isinstance(body, list) else [body]  # one event; a list if it changes
            for raw in events:
                event = unwrap(raw)
                if event is None:
                    log.warning("malformed Zalo update ignored: %.200r", raw)
                    continue
                inbox_id = await self._store(event)
                if inbox_id is not None:
                    self._schedule(inbox_id, event)

    async def _webhook(self, request: web.Request) -> web.Response:
        """200 only after the event is committed to the inbox; 403 without the secret."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning(
                "Zalo webhook call from %s with a wrong or missing secret: refused", request.remote
            )
            return web.Response(status=403)
        try:
            event = unwrap(await request.json())
        except ValueError as exc:
            log.warning("malformed Zalo webhook body from %s: %s", request.remote, exc)
            return web.Response(status=400)
        if event is None:
            log.warning("Zalo webhook body from %s is not a message event", request.remote)
            return web.Response(status=400)
        inbox_id = await self._store(event)
        if inbox_id is not None:
            self._schedule(inbox_id, event)
        return web.json_response({"ok": True})

    async def _store(self, event: dict[str, Any]) -> int | None:
        if is_group(event):
            self.transport.groups.add(chat_of(event))
        return await self._app.engine.receive(
            CHANNEL, message_id(event), chat_of(event), {RAW: event}
        )

    async def _handle(self, inbox_id: int, raw: dict[str, Any]) -> None:
        """One event, in its chat's order: read, download, hand to the engine."""
        event = raw
        engine = self._app.engine
        chat = chat_of(event)
        async with self._chats.hold(chat):
            try:
                msg = await self._reader.read(event)
            except Exception as exc:
                log.exception("could not read Zalo message %s", event["message"].get("message_id"))
                await engine.fail(inbox_id, CHANNEL, chat, exc, via_outbox=True)
                return
            await engine.process(inbox_id, msg, via_outbox=True)
