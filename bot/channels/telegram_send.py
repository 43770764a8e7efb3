"""Sending to Telegram: the outbox sender's transport, inline keyboards, and what each Bot
API error means for a message (wait, retry, give up, or stop)."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.outbox import DeliveryError, Failure
from handlers.messages import OutgoingFile

CHANNEL = "telegram"


class TelegramTransport:
    """How the outbox sender puts a text (with buttons) on Telegram."""

    channel = CHANNEL
    carries_files = True

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

    async def send_file(self, chat_id: str, file: OutgoingFile) -> str:
        """sendPhoto for a chart, sendDocument for anything else; the local file is uploaded."""
        path = Path(file.path)
        caption = file.caption or None
        try:
            if file.kind == "photo":
                sent = await self._bot.send_photo(
                    chat_id=int(chat_id), photo=path, caption=caption, filename=path.name
                )
            else:
                sent = await self._bot.send_document(
                    chat_id=int(chat_id), document=path, caption=caption, filename=path.name
                )
            return str(sent.message_id)
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
