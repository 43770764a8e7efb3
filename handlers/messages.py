"""The channel-neutral message types: what a channel hands in and what the core hands back.

Channels (``bot/channels/*``) translate platform updates into :class:`IncomingMessage` and
render :class:`Reply` values; nothing here knows about Telegram, Zalo or the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Content(StrEnum):
    """What an incoming message carries."""

    TEXT = "text"
    PHOTO = "photo"
    VOICE = "voice"
    LOCATION = "location"
    DOCUMENT = "document"
    STICKER = "sticker"
    UNSUPPORTED = "unsupported"
    TOO_LARGE = "too_large"  # a file over the channel's size limit, not downloaded


@dataclass(frozen=True)
class Attachment:
    """A file or a place sent with a message; ``ref`` is a stored path, a file id or "lat,lon"."""

    kind: str
    ref: str


@dataclass(frozen=True)
class IncomingMessage:
    """One message from a person, as every channel describes it.

    ``button`` is set when the person pressed a button: it carries the button's ``data``.
    ``message_id`` is the platform's id, unique per channel (the inbox deduplicates on it).
    """

    channel: str
    chat_id: str
    user_id: str
    display_name: str
    message_id: str
    sent_at: datetime
    content: Content = Content.TEXT
    text: str = ""
    button: str | None = None
    attachments: tuple[Attachment, ...] = ()
    is_group: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "chat_id": self.chat_id,
            "user_id": self.user_id,
            "display_name": self.display_name,
            "message_id": self.message_id,
            "sent_at": self.sent_at.isoformat(),
            "content": self.content.value,
            "text": self.text,
            "button": self.button,
            "attachments": [[a.kind, a.ref] for a in self.attachments],
            "is_group": self.is_group,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> IncomingMessage:
        return cls(
            channel=data["channel"],
            chat_id=data["chat_id"],
            user_id=data["user_id"],
            display_name=data["display_name"],
            message_id=data["message_id"],
            sent_at=datetime.fromisoformat(data["sent_at"]),
            content=Content(data["content"]),
            text=data["text"],
            button=data["button"],
            attachments=tuple(Attachment(k, r) for k, r in data["attachments"]),
            is_group=data["is_group"],
        )


@dataclass(frozen=True)
class Button:
    """A choice. ``data`` comes back in :attr:`IncomingMessage.button` when it is pressed.

    ``aliases`` are extra words a person may type for it (matched without diacritics).
    """

    label: str
    data: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutgoingFile:
    """A file sent after a reply's text: a ``document`` (XLSX, DOCX) or a ``photo`` (PNG).

    Channels that cannot carry files say so in words instead (see the outbox sender).
    """

    path: str
    kind: str = "document"  # "document" | "photo"
    caption: str = ""

    def to_payload(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind, "caption": self.caption}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> OutgoingFile:
        return cls(
            str(data["path"]), str(data.get("kind", "document")), str(data.get("caption", ""))
        )


@dataclass(frozen=True)
class Reply:
    """One message of the bot. Rows of buttons; channels without buttons number them.

    ``edit`` asks the channel to replace the bot's previous message in this chat where it
    can (a selection ticked on a menu), and to send a new one where it cannot. ``files`` are
    sent after the text, in order.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False
    files: tuple[OutgoingFile, ...] = ()

    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]

    def to_payload(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[[b.label, b.data] for b in row] for row in self.buttons],
            "edit": self.edit,
            **({"files": [f.to_payload() for f in self.files]} if self.files else {}),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=data["text"],
            buttons=tuple(tuple(Button(lbl, d) for lbl, d in row) for row in data["buttons"]),
            edit=data.get("edit", False),
            files=tuple(OutgoingFile.from_payload(f) for f in data.get("files", [])),
        )


@dataclass(frozen=True)
class Outgoing:
    """A message to a member who is not necessarily the one chatting (alerts, reminders)."""

    idem_key: str
    member_id: int
    reply: Reply
    priority: int = 10
    # Where to write; by default the chat the member used last.
    channel: str | None = None
    chat_id: str | None = None
