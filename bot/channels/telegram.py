"""The Telegram channel, on python-telegram-bot 22. No Telegram type leaves this module.

Incoming: the service's own poll loop (or the webhook) stores each raw update in the inbox and
commits before the offset moves on (or before answering 200), then handles it: the update is
parsed, media are downloaded into the media folder, and the engine gets an IncomingMessage.
Outgoing: replies and alerts are outbox rows; :class:`TelegramTransport` is how the outbox
sender puts them on Telegram, with inline keyboards, edits in place and paced sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.app import App
from bot.config import ChannelSettings
from bot.outbox import DeliveryError, Failure, OutboxSender
from bot.web import WebServer
from handlers.locks import KeyedLocks
from handlers.messages import Attachment, Content, IncomingMessage, Outgoing
from handlers.notices import unreachable_notices
from storage.records import Member
from storage.repositories.messages import OutboxEntry

log = logging.getLogger(__name__)

CHANNEL = "telegram"
RAW = "telegram"  # inbox payload key: the raw update as Telegram sent it
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "channel_post", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# getUpdates is called raw, so that one malformed update cannot block the others. Bot API
# method names are case-insensitive; this spelling is not one of PTB's own method names.
RAW_GET_UPDATES = "getupdates"


class ChannelStopped(Exception):
    """The channel cannot go on (a refused token, another poller); carries the exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class TelegramTransport:
    """How the outbox sender puts a text (with buttons) on Telegram."""

    channel = CHANNEL

    def __init__(self, bot: Bot, max_text: int) -> None:
        self._bot = bot
        self.max_text = max_text

    def is_group(self, chat_id: str) -> bool:
        return chat_id.startswith("-")

    async def send_text(
        self, chat_id: str, text: str, buttons: list[list[list[str]]], edit_message_id: str | None
    ) -> str:
        markup = _keyboard(buttons)
        try:
            if edit_message_id is not None:
                edited = await self._bot.edit_message_text(
                    text=text,
                    chat_id=int(chat_id),
                    message_id=int(edit_message_id),
                    reply_markup=markup,
                )
                return str(edited.message_id) if isinstance(edited, Message) else edit_message_id
            sent = await self._bot.send_message(
                chat_id=int(chat_id), text=text, reply_markup=markup
            )
            return str(sent.message_id)
        except BadRequest as exc:
            if edit_message_id is not None and "not modified" in exc.message.lower():
                return edit_message_id
            raise delivery_error(exc) from exc
        except TelegramError as exc:
            raise delivery_error(exc) from exc

    async def clear_buttons(self, chat_id: str, message_id: str) -> None:
        try:
            await self._bot.edit_message_reply_markup(
                chat_id=int(chat_id), message_id=int(message_id), reply_markup=None
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise delivery_error(exc) from exc
        except TelegramError as exc:
            raise delivery_error(exc) from exc


def _keyboard(buttons: list[list[list[str]]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What a Bot API error means for the outbox: wait, retry, give up, or stop."""
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that it will become a timedelta
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            value: Any = exc.retry_after
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        return DeliveryError(Failure.RATE_LIMITED, str(exc), retry_after=seconds)
    if isinstance(exc, TimedOut):
        return DeliveryError(Failure.AMBIGUOUS, str(exc))
    if isinstance(exc, InvalidToken):
        return DeliveryError(Failure.UNAUTHORIZED, str(exc))
    if isinstance(exc, Forbidden):
        return DeliveryError(Failure.BLOCKED, str(exc))
    if isinstance(exc, BadRequest | ChatMigrated):
        return DeliveryError(Failure.REJECTED, str(exc))
    return DeliveryError(Failure.TRANSIENT, str(exc))


class TelegramChannel:
    def __init__(
        self,
        app: App,
        settings: ChannelSettings,
        media_dir: Path,
        web_server: WebServer | None = None,
        webhook_url: str | None = None,
    ) -> None:
        self._app = app
        self._settings = settings
        self._media_dir = media_dir / CHANNEL
        self._webhook_url = webhook_url
        self._chats = KeyedLocks()
        self._tasks: set[asyncio.Task[None]] = set()
        self._menus: dict[str, str] = {}
        self._stopping = False
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
        self.sender = OutboxSender(
            app.store, self.transport, settings.limits, app.services.clock, self._unreachable
        )
        self._runners: list[asyncio.Task[None]] = []

    # --- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, set the menu, replay stored updates, then poll or take webhooks.

        In webhook mode the web server must be listening already.
        """
        await self._connect()
        await self._set_menu(None, "guest")
        self._runners.append(asyncio.create_task(self.sender.run(), name="telegram-sender"))
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
            self._runners.append(asyncio.create_task(self._poll(), name="telegram-poller"))

    async def run_until_stopped(self) -> None:
        """Wait while the channel works; raises :class:`ChannelStopped` when it cannot go on."""
        while not self._stopping:
            done, _ = await asyncio.wait(self._runners, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.cancelled():
                    continue
                error = task.exception()
                if error is not None:
                    raise error
            if self.sender.unauthorized:
                raise ChannelStopped("Telegram refused the bot token (401) while running", 2)
            self._runners = [t for t in self._runners if not t.done()]
            if not self._runners:
                return

    async def stop(self) -> None:
        self._stopping = True
        for task in self._runners:
            if task.get_name() == "telegram-poller":
                task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        self.sender.stop()
        await asyncio.gather(*self._runners, return_exceptions=True)
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    def wake(self) -> None:
        self.sender.wake()

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
            for update in updates:
                inbox_id = await self._store(update)
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

    async def _store(self, update: Any) -> int | None:
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            log.warning("malformed update without an update_id ignored: %.200r", update)
            return None
        return await self._app.engine.receive(
            CHANNEL, str(update["update_id"]), _chat_of(update), {RAW: update}
        )

    def _schedule(self, inbox_id: int, update: dict[str, Any]) -> None:
        task = asyncio.create_task(self._handle(inbox_id, update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, inbox_id: int, raw: dict[str, Any]) -> None:
        """One update, in its chat's order: parse, download, hand to the engine, tidy up."""
        engine = self._app.engine
        chat = _chat_of(raw)
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
                translated = await self._translate(update)
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

    async def _translate(self, update: Update) -> tuple[IncomingMessage, str | None] | None:
        """The core's message for an update, and the id of a message whose button was pressed."""
        query = update.callback_query
        if query is not None:
            chat = query.message.chat if query.message is not None else None
            chat_id = str(chat.id) if chat is not None else str(query.from_user.id)
            pressed = str(query.message.message_id) if query.message is not None else None
            return (
                IncomingMessage(
                    channel=CHANNEL,
                    chat_id=chat_id,
                    user_id=str(query.from_user.id),
                    display_name=query.from_user.full_name,
                    message_id=str(update.update_id),
                    sent_at=self._app.services.clock.now(),
                    button=query.data or "",
                    is_group=chat is not None and chat.type != "private",
                ),
                pressed,
            )
        message = update.message
        if message is None or message.from_user is None:
            log.info(
                "ignoring update %s of a kind the bot does not handle (%s)",
                update.update_id,
                _kind(update),
            )
            return None
        is_group = message.chat.type != "private"
        content, attachments = await self._content(message, download=not is_group)
        return (
            IncomingMessage(
                channel=CHANNEL,
                chat_id=str(message.chat.id),
                user_id=str(message.from_user.id),
                display_name=message.from_user.full_name,
                message_id=str(update.update_id),
                sent_at=message.date,
                content=content,
                text=message.text or message.caption or "",
                attachments=attachments,
                is_group=is_group,
            ),
            None,
        )

    async def _content(
        self, message: Message, download: bool
    ) -> tuple[Content, tuple[Attachment, ...]]:
        if message.location is not None:
            where = f"{message.location.latitude},{message.location.longitude}"
            return Content.LOCATION, (Attachment("location", where),)
        media: list[tuple[Content, str, Any, str]] = []
        if message.photo:
            media.append((Content.PHOTO, "photo", message.photo[-1], ".jpg"))
        for kind, item, suffix in (
            ("voice", message.voice, ".ogg"),
            ("voice", message.audio, ""),
            ("document", message.document, ""),
            ("document", message.video, ".mp4"),
            ("document", message.video_note, ".mp4"),
        ):
            if item is not None:
                content = Content.VOICE if kind == "voice" else Content.DOCUMENT
                media.append((content, kind, item, suffix))
        if media:
            content, kind, item, suffix = media[0]
            if not download:
                return content, ()
            path = await self._download(item, suffix)
            if path is None:
                return Content.TOO_LARGE, ()
            return content, (Attachment(kind, path),)
        if message.sticker is not None:
            return Content.STICKER, ()
        if message.text is None:
            return Content.UNSUPPORTED, ()
        return Content.TEXT, ()

    async def _download(self, item: Any, suffix: str) -> str | None:
        """Save a file into the media folder; None when it is over the size limit."""
        limit = self._settings.max_file_mb * 1024 * 1024
        if item.file_size and item.file_size > limit:
            log.info(
                "file %s of %d bytes is over the limit; not downloaded",
                item.file_unique_id,
                item.file_size,
            )
            return None
        try:
            remote = await item.get_file()
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                return None
            raise
        if remote.file_size and remote.file_size > limit:
            return None
        name = getattr(item, "file_name", None)
        extension = Path(name).suffix if name else Path(remote.file_path or "").suffix or suffix
        target = self._media_dir / f"{item.file_unique_id}{extension}"
        target.parent.mkdir(parents=True, exist_ok=True)
        await remote.download_to_drive(target)
        return str(target)

    # --- small Telegram-only duties ------------------------------------------------------

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

    async def _unreachable(self, members: list[Member]) -> None:
        notices: list[Outgoing] = await unreachable_notices(self._app.services, members, CHANNEL)
        for member in members:
            log.warning(
                "member %d (%s) blocked the bot on Telegram", member.id, member.display_name
            )
        await self._app.engine.deliver(notices)


def _chat_of(update: dict[str, Any]) -> str:
    """The chat an update belongs to (its messages are handled in order)."""
    for key in ("message", "edited_message", "channel_post"):
        message = update.get(key)
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return str(message["chat"].get("id", ""))
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return str(message["chat"].get("id", ""))
        sender = query.get("from")
        if isinstance(sender, dict):
            return str(sender.get("id", ""))
    member = update.get("my_chat_member")
    if isinstance(member, dict) and isinstance(member.get("chat"), dict):
        return str(member["chat"].get("id", ""))
    return ""


def _kind(update: Update) -> str:
    for kind in (
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "my_chat_member",
        "chat_member",
    ):
        if getattr(update, kind, None) is not None:
            return kind
    return "unknown"
