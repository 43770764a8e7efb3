"""The Telegram channel, on python-telegram-bot 22. No Telegram type leaves this module.

Incoming: the service's own poll loop (or the webhook) stores each raw update in the inbox and
commits before the offset moves on (or before answering 200), then handles it: the update is
parsed, media are downloaded into the media folder, and the engine gets an IncomingMessage.
Outgoing: replies and alerts are outbox rows; the outbox sender puts them on Telegram through
``telegram_send.TelegramTransport``. Reading updates is ``telegram_updates``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    Update,
)
from telegram.error import (
    Conflict,
    InvalidToken,
    NetworkError,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.app import App
from bot.channels.messenger import MessengerChannel
from bot.channels.stopped import ChannelStopped
from bot.channels.telegram_send import TelegramTransport
from bot.channels.telegram_updates import UpdateReader, chat_of
from bot.config import ChannelSettings
from bot.web import WebServer
from handlers.messages import IncomingMessage
from storage.repositories.messages import OutboxEntry

log = logging.getLogger(__name__)

CHANNEL = "telegram"
RAW = "telegram"  # inbox payload key: the raw update as Telegram sent it
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "channel_post", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# getUpdates is called raw, so that one malformed update cannot block the others. Bot API
# method names are case-insensitive; this spelling is not one of PTB's own method names.
RAW_GET_UPDATES = "getupdates"


class TelegramChannel(MessengerChannel):
    name = CHANNEL
    label = "Telegram"

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
        self._menus: dict[str, str] = {}
        self._secret = settings.webhook_secret or secrets.token_urlsafe(32)
        api = settings.api_url
        self.bot = Bot(
            settings.token,
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=HTTPXRequest(
                connection_pool_size=max(8, settings.limits.concurrency * 2),
                connect_timeout=5.0,
                read_timeout=settings.request_timeout,
                write_timeout=settings.request_timeout,
                pool_timeout=5.0,
            ),
            get_updates_request=HTTPXRequest(
                connection_pool_size=2,
                connect_timeout=5.0,
                read_timeout=settings.request_timeout,
                pool_timeout=5.0,
            ),
        )
        if webhook_url:
            if web_server is None:
                raise ValueError("webhook mode needs the web server")
            web_server.add_post(urlparse(webhook_url).path or "/", self._webhook)
        self.transport = TelegramTransport(self.bot, settings.max_text)
        self._reader = UpdateReader(
            self.bot, media_dir / CHANNEL, settings.max_file_mb, app.services.clock
        )
        self.sender = self._sender(self.transport, settings)

    # --- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, set the menu, replay stored updates, then poll or take webhooks.

        In webhook mode the web server must be listening already.
        """
        await self._connect()
        await self._set_menu(None, "guest")
        self._run(self.sender.run(), "sender")
        for inbox_id, payload in await self._app.store.messages.unprocessed(CHANNEL):
            if RAW in payload:
                self._schedule(inbox_id, payload[RAW])
        if self._webhook_url:
            await self._call(
                self.bot.set_webhook(
                    self._webhook_url, secret_token=self._secret, allowed_updates=ALLOWED_UPDATES
                )
            )
            log.info("Telegram webhook set to %s", self._webhook_url)
        else:
            await self._call(self.bot.delete_webhook())
            self._run(self._poll(), "poller")

    async def _close(self) -> None:
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    async def _connect(self) -> None:
        """getMe until the Bot API answers; a refused token stops start-up."""
        delay = 1.0
        while True:
            try:
                await self.bot.initialize()
                log.info("connected to Telegram as @%s", self.bot.username)
                return
            except InvalidToken as exc:
                raise ChannelStopped(
                    f"Telegram refused the bot token ({self._settings.api_url}): "
                    "check SITREP_TELEGRAM_TOKEN",
                    2,
                ) from exc
            except NetworkError as exc:
                log.warning(
                    "the Bot API at %s is not reachable (%s); trying again in %.0f s",
                    self._settings.api_url,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)

    async def _call(self, call: Any) -> Any:
        try:
            return await call
        except InvalidToken as exc:
            raise ChannelStopped("Telegram refused the bot token", 2) from exc

    # --- receiving ---------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long-poll getUpdates; each update is committed to the inbox before the offset moves."""
        offset: int | None = None
        delay = 1.0
        timeout = self._settings.poll_timeout
        while not self._stopping:
            try:
                raw = await self.bot.do_api_request(
                    RAW_GET_UPDATES,
                    api_kwargs={
                        "offset": offset,
                        "timeout": timeout,
                        "allowed_updates": ALLOWED_UPDATES,
                    },
                    read_timeout=timeout + 10,
                )
            except Conflict as exc:
                raise ChannelStopped(
                    "another process is already receiving this bot's updates (409 Conflict): "
                    "only one `sitrep run` may poll a token",
                    3,
                ) from exc
            except InvalidToken as exc:
                raise ChannelStopped("Telegram refused the bot token", 2) from exc
            except TimedOut:
                continue  # a long poll that came back empty-handed
            except NetworkError as exc:
                log.warning("getUpdates failed (%s); trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
                continue
            delay = 1.0
            updates = raw if isinstance(raw, list) else []
            valid = [u for u in updates if self._valid(u)]
            if valid:  # the whole batch in one transaction, before the offset moves on
                items = [(str(u["update_id"]), chat_of(u), {RAW: u}) for u in valid]
                stored = await self._app.engine.receive_many(CHANNEL, items)
                for update, inbox_id in zip(valid, stored, strict=True):
                    if inbox_id is not None:
                        self._schedule(inbox_id, update)
            ids = [
                u["update_id"]
                for u in updates
                if isinstance(u, dict) and isinstance(u.get("update_id"), int)
            ]
            if ids:
                offset = max(ids) + 1

    async def _webhook(self, request: web.Request) -> web.Response:
        """200 only after the update is committed to the inbox; 403 without the secret."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning(
                "webhook call from %s with a wrong or missing secret: refused", request.remote
            )
            return web.Response(status=403)
        try:
            update = await request.json()
            if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                raise ValueError("no update_id")
        except ValueError as exc:
            log.warning("malformed webhook body from %s: %s", request.remote, exc)
            return web.Response(status=400)
        inbox_id = await self._store(update)
        if inbox_id is not None:
            self._schedule(inbox_id, update)
        return web.Response(status=200)

    @staticmethod
    def _valid(update: Any) -> bool:
        if isinstance(update, dict) and isinstance(update.get("update_id"), int):
            return True
        log.warning("malformed update without an update_id ignored: %.200r", update)
        return False

    async def _store(self, update: Any) -> int | None:
        if not self._valid(update):
            return None
        return await self._app.engine.receive(
            CHANNEL, str(update["update_id"]), chat_of(update), {RAW: update}
        )

    async def _handle(self, inbox_id: int, raw: dict[str, Any]) -> None:
        """One update, in its chat's order: parse, download, hand to the engine, tidy up."""
        engine = self._app.engine
        chat = chat_of(raw)
        async with self._chats.hold(chat):
            try:
                update = Update.de_json(raw, self.bot)
            except Exception as exc:
                log.warning("malformed update %s ignored: %s", raw.get("update_id"), exc)
                await self._app.store.messages.done(
                    inbox_id, self._app.services.clock.now(), repr(exc)
                )
                return
            try:
                translated = await self._reader.read(update)
            except Exception as exc:
                log.exception("could not read update %s", update.update_id)
                await engine.fail(inbox_id, CHANNEL, chat, exc, via_outbox=True)
                return
            if translated is None:
                await self._app.store.messages.done(inbox_id, self._app.services.clock.now())
                return
            msg, pressed = translated
            extra = {"edit_message_id": pressed} if pressed else {}
            replies = await engine.process(inbox_id, msg, via_outbox=True, reply_extra=extra)
            if update.callback_query is not None:
                await self._answer(update.callback_query.id)
                if pressed and not any(r.edit for r in replies):
                    await self._clear_buttons(inbox_id, msg.chat_id, pressed)
            if not msg.is_group:
                await self._ensure_menu(msg)

    async def _answer(self, callback_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_id)
        except TelegramError as exc:
            log.warning("could not answer callback %s: %s", callback_id, exc)

    async def _clear_buttons(self, inbox_id: int, chat_id: str, message_id: str) -> None:
        """The used keyboard goes away, through the outbox like every send."""
        entry = OutboxEntry(
            f"clear:{inbox_id}",
            CHANNEL,
            chat_id,
            None,
            {"op": "clear_buttons", "message_id": message_id},
            priority=0,
        )
        await self._app.store.messages.enqueue([entry], self._app.services.clock.now())
        self.sender.wake()

    async def _ensure_menu(self, msg: IncomingMessage) -> None:
        if self._menus.get(msg.chat_id, "guest") != "guest":
            return  # a member's menu is set once a process; only guests become members
        member = await self._app.store.members.by_identity(CHANNEL, msg.user_id)
        role = member.role.value if member else "guest"
        if self._menus.get(msg.chat_id) != role:
            await self._set_menu(msg.chat_id, role)

    async def _set_menu(self, chat_id: str | None, role: str) -> None:
        """The command menu in Vietnamese: the default one, or the role's in one chat."""
        texts = self._app.services.texts
        commands = []
        for line in texts(f"commands.{role}").splitlines():
            name, _, description = line.partition("—")
            commands.append(BotCommand(name.strip(), description.strip()))
        scope = BotCommandScopeDefault() if chat_id is None else BotCommandScopeChat(int(chat_id))
        try:
            await self.bot.set_my_commands(commands, scope=scope)
        except InvalidToken:
            raise
        except TelegramError as exc:
            log.warning("could not set the command menu (%s): %s", role, exc)
            return
        if chat_id is not None:
            self._menus[chat_id] = role
