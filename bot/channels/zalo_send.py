"""Sending to Zalo: the outbox sender's transport, and what each Bot API error means for a
message (wait, retry, give up, or stop).

Zalo has no buttons and cannot edit a sent message: choices become a numbered list (the core
accepts the number or the words), and an edit is sent as a new message. Files cannot be
uploaded (sendPhoto takes a public URL), so the sender says in words where to find them.
"""

from __future__ import annotations

from bot.channels.menu import numbered
from bot.channels.zalo_api import ZaloApi, ZaloError, ZaloNetworkError, ZaloTimeout
from bot.outbox import DeliveryError, Failure
from handlers.messages import Button, OutgoingFile, Reply
from handlers.texts import Texts

CHANNEL = "zalo"
# Zalo gives no retry_after with its 429: pause this long before trying again.
RATE_LIMIT_PAUSE = 1.0


class ZaloTransport:
    channel = CHANNEL
    carries_files = False

    def __init__(self, api: ZaloApi, max_text: int, texts: Texts) -> None:
        self._api = api
        self.max_text = max_text
        self._texts = texts
        self.groups: set[str] = set()  # chats seen as groups (paced as groups)

    def is_group(self, chat_id: str) -> bool:
        return chat_id in self.groups

    def render(self, text: str, buttons: list[list[list[str]]]) -> str:
        """The text with its buttons as a numbered list (the sender calls it before it cuts
        the text in parts, so that each part keeps under the limit)."""
        if not buttons:
            return text
        reply = Reply(
            text, tuple(tuple(Button(label, data) for label, data in row) for row in buttons)
        )
        return numbered(reply, self._texts)

    async def send_text(
        self, chat_id: str, text: str, buttons: list[list[list[str]]], edit_message_id: str | None
    ) -> str:
        # the sender has put the buttons into the text (render) before cutting it in parts
        result = await self._call("sendMessage", {"chat_id": chat_id, "text": text})
        found = result.get("message_id") if isinstance(result, dict) else None
        return str(found or "")

    async def send_file(self, chat_id: str, file: OutgoingFile) -> str:
        raise DeliveryError(Failure.REJECTED, "Zalo cannot upload files")

    async def clear_buttons(self, chat_id: str, message_id: str) -> None:
        return None  # there are no buttons to clear

    async def _call(self, method: str, params: dict[str, str]) -> object:
        try:
            return await self._api.call(method, params)
        except ZaloError as exc:
            raise delivery_error(exc) from exc
        except ZaloTimeout as exc:
            raise DeliveryError(Failure.AMBIGUOUS, str(exc)) from exc
        except ZaloNetworkError as exc:
            raise DeliveryError(Failure.TRANSIENT, str(exc)) from exc


def delivery_error(exc: ZaloError) -> DeliveryError:
    """What a Zalo error means for the outbox."""
    detail = str(exc)
    if exc.code == 429:
        return DeliveryError(Failure.RATE_LIMITED, detail, retry_after=RATE_LIMIT_PAUSE)
    if exc.code == 401:
        return DeliveryError(Failure.UNAUTHORIZED, detail)
    if exc.code == 403:
        return DeliveryError(Failure.BLOCKED, detail)
    if exc.code == 408:
        return DeliveryError(Failure.AMBIGUOUS, detail)
    if exc.code >= 500:
        return DeliveryError(Failure.TRANSIENT, detail)
    return DeliveryError(Failure.REJECTED, detail)
