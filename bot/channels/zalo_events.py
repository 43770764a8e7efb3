"""Reading Zalo Bot API events: the core's IncomingMessage for an event, with its image saved
into the media folder; and the few facts the channel needs before that (id, chat).

An event looks like ``{"event_name": "message.text.received", "message": {"from": {"id",
"display_name"}, "chat": {"id", "chat_type"}, "message_id", "date" (ms), "text" | "photo_url"
| "photo" + "caption" | "sticker"}}``; a webhook may wrap it in ``{"ok": true, "result": ...}``.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bot.channels.zalo_api import ZaloApi
from handlers.clock import Clock
from handlers.messages import Attachment, Content, IncomingMessage

log = logging.getLogger(__name__)

CHANNEL = "zalo"
TEXT = "message.text.received"
IMAGE = "message.image.received"
STICKER = "message.sticker.received"
UNSUPPORTED = "message.unsupported.received"


def unwrap(body: Any) -> dict[str, Any] | None:
    """The event inside a body that may be wrapped (``{"ok", "result"}``) or flat."""
    if isinstance(body, dict) and "message" not in body and isinstance(body.get("result"), dict):
        body = body["result"]
    if not isinstance(body, dict):
        return None
    message = body.get("message")
    if not isinstance(message, dict) or not message.get("message_id"):
        return None
    chat = message.get("chat")
    sender = message.get("from")
    if not isinstance(chat, dict) or not chat.get("id"):
        if isinstance(sender, dict) and sender.get("id"):
            message["chat"] = {"id": sender["id"], "chat_type": "PRIVATE"}
        else:
            return None
    return body


def message_id(event: dict[str, Any]) -> str:
    return str(event["message"]["message_id"])


def chat_of(event: dict[str, Any]) -> str:
    return str(event["message"]["chat"]["id"])


def is_group(event: dict[str, Any]) -> bool:
    return str(event["message"]["chat"].get("chat_type", "PRIVATE")).upper() != "PRIVATE"


class EventReader:
    """Turns an event into the core's message; downloads images under the size limit."""

    def __init__(self, api: ZaloApi, media_dir: Path, max_file_mb: int, clock: Clock) -> None:
        self._api = api
        self._media_dir = media_dir
        self._max_bytes = max_file_mb * 1024 * 1024
        self._clock = clock

    async def read(self, event: dict[str, Any]) -> IncomingMessage:
        message = event["message"]
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        user_id = str(sender.get("id") or chat_of(event))
        name = str(
            sender.get("display_name") or sender.get("first_name") or sender.get("name") or ""
        )
        group = is_group(event)
        name_of_event = str(event.get("event_name") or "")
        caption = str(message.get("caption") or "")
        content = Content.TEXT
        text = str(message.get("text") or "")
        attachments: tuple[Attachment, ...] = ()
        photo = message.get("photo_url") or message.get("photo")
        if name_of_event == IMAGE or (not name_of_event and photo):
            text = caption or text
            content = Content.PHOTO
            if isinstance(photo, str) and photo and not group:
                path = await self._download(message_id(event), photo)
                if path is None:
                    content = Content.TOO_LARGE
                else:
                    attachments = (Attachment("photo", path),)
        elif name_of_event == STICKER:
            content = Content.STICKER
        elif name_of_event == UNSUPPORTED:
            content = Content.UNSUPPORTED
        elif name_of_event and name_of_event != TEXT:
            log.info("Zalo event %s read as unsupported content", name_of_event)
            content = Content.UNSUPPORTED
        return IncomingMessage(
            channel=CHANNEL,
            chat_id=chat_of(event),
            user_id=user_id,
            display_name=name or user_id,
            message_id=message_id(event),
            sent_at=_sent_at(message.get("date"), self._clock),
            content=content,
            text=text,
            attachments=attachments,
            is_group=group,
        )

    async def _download(self, mid: str, url: str) -> str | None:
        suffix = Path(urlparse(url).path).suffix.lower()
        if suffix not in {".jpg", ".jpeg", ".png", ".gif", ".webp"}:
            suffix = ".jpg"
        safe = hashlib.sha256(mid.encode()).hexdigest()[:24]
        target = self._media_dir / f"{safe}{suffix}"
        if target.exists():
            return str(target)  # downloaded before a restart
        if not await self._api.download(url, target, self._max_bytes):
            log.info("image of Zalo message %s is over the size limit; not downloaded", mid)
            return None
        return str(target)


def _sent_at(value: Any, clock: Clock) -> datetime:
    """The time the person sent the message (Zalo gives milliseconds since the epoch)."""
    try:
        millis = float(value)
    except (TypeError, ValueError):
        return clock.now()
    if millis <= 0:
        return clock.now()
    seconds = millis / 1000 if millis > 1e11 else millis
    return datetime.fromtimestamp(seconds, UTC)
