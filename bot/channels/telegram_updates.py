"""Reading Telegram updates: the core's IncomingMessage for an update, with its media saved
into the media folder; and which chat a raw update belongs to."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from telegram import Bot, Message, Update
from telegram.error import BadRequest

from handlers.clock import Clock
from handlers.messages import Attachment, Content, IncomingMessage

log = logging.getLogger(__name__)

CHANNEL = "telegram"


class UpdateReader:
    """Turns a parsed update into the core's message; downloads files under the size limit."""

    def __init__(self, bot: Bot, media_dir: Path, max_file_mb: int, clock: Clock) -> None:
        self.bot = bot
        self._media_dir = media_dir
        self._max_file_mb = max_file_mb
        self._clock = clock

    async def read(self, update: Update) -> tuple[IncomingMessage, str | None] | None:
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
                    sent_at=self._clock.now(),
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
        limit = self._max_file_mb * 1024 * 1024
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


def chat_of(update: dict[str, Any]) -> str:
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
