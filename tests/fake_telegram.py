"""A fake Telegram Bot API server for tests and benchmarks.

``FakeBotApi`` is a small aiohttp server on 127.0.0.1 that speaks enough of the Bot API over HTTP
for the real python-telegram-bot to run against it::

    async with FakeBotApi() as api:
        bot = telegram.Bot(
            api.token, base_url=f"{api.url}/bot", base_file_url=f"{api.url}/file/bot"
        )
        api.send_text(42, "/start")            # queue an incoming update
        ...                                    # the service polls, answers
        call = await api.wait_for(lambda c: c.method == "sendMessage")

What it does like Telegram:

* parameters as a JSON body, an urlencoded or multipart form (file uploads) or a query string;
  values PTB JSON-encodes (``reply_markup``, ``allowed_updates``, ``commands``, ``scope``...)
  are decoded by parameter name, the way the real server knows each parameter's type;
* ``getUpdates`` with offset/limit/long-poll/allowed_updates semantics, 409 Conflict for a
  second concurrent poller or while a webhook is set; webhooks with the secret-token header;
* realistic ``Message``/``Update`` JSON, per-chat message ids, downloadable files;
* flood limits answered with real 429s, blocked users with 403, text formatting checked
  (a malformed HTML/MarkdownV2 text gets 400 "can't parse entities"), "message is not
  modified", callback data over 64 bytes (BUTTON_DATA_INVALID), answering a callback twice;
* fault injection (:meth:`FakeBotApi.fail_next`): 429, 5xx, 400, 403, dropped connections
  and requests that are carried out but never answered.

Where it differs: webhook URLs may be plain http, unknown chats are never "not found", and the
limits are exact sliding windows (Telegram's are fuzzy and allow short bursts).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
from aiohttp import web

__all__ = [
    "DEFAULT_LIMITED_METHODS",
    "EDIT_METHODS",
    "SECRET_HEADER",
    "SEND_METHODS",
    "Call",
    "Delivery",
    "FakeBotApi",
    "Fault",
    "Rejected",
    "UploadedFile",
]

JSON = dict[str, Any]
ChatKey = int | str
Fault = Literal["429", "500", "502", "drop", "timeout", "400", "403"]

#: Methods that put a new message into a chat (what :meth:`FakeBotApi.sent_messages` lists).
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
#: Methods that change a message the bot sent (what :meth:`FakeBotApi.edits` lists).
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})
#: Methods counted against the flood limits unless ``limited_methods`` says otherwise. The Bot
#: FAQ only speaks of "messages"; in practice edits hit the same limits, so they count too.
DEFAULT_LIMITED_METHODS = SEND_METHODS | EDIT_METHODS

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# How the real server types the parameters: form/query values arrive as strings, and PTB
# JSON-encodes every non-string value, so decoding must go by parameter name (a text "123" or
# "[x]" must stay a string).
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "media",
        "results",
        "permissions",
        "menu_button",
        "rights",
        "options",
        "input_message_content",
        "suggested_post_parameters",
    }
)
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "direct_messages_topic_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "duration",
        "width",
        "height",
        "max_connections",
        "cache_time",
        "until_date",
        "live_period",
    }
)
_FLOAT_PARAMS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "is_personal",
    }
)

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_ENTITIES = "Bad Request: can't parse entities: "


class _ApiError(Exception):
    """An error answer: raised inside method implementations."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as found in :attr:`Call.params`."""

    filename: str | None
    content_type: str
    content: bytes


@dataclass
class Call:
    """One accepted Bot API call: what the client sent and what it was answered.

    ``params`` are decoded (``reply_markup`` is a dict, ``chat_id`` an int, uploads are
    :class:`UploadedFile`); ``time`` is ``time.monotonic()`` when the request arrived.
    """

    method: str
    params: JSON
    time: float
    result: Any = None

    @property
    def chat_id(self) -> ChatKey | None:
        """The ``chat_id`` parameter, if any."""
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None

    @property
    def text(self) -> str | None:
        """The ``text`` parameter, or the ``caption`` for media (raw, before parse_mode)."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def caption(self) -> str | None:
        """The ``caption`` parameter, if any."""
        value = self.params.get("caption")
        return value if isinstance(value, str) else None

    @property
    def reply_markup(self) -> JSON | None:
        """The decoded ``reply_markup`` parameter, if any."""
        value = self.params.get("reply_markup")
        return value if isinstance(value, dict) else None

    @property
    def message_id(self) -> int | None:
        """The message this call created or changed (from the result, else the parameters)."""
        if isinstance(self.result, dict) and isinstance(self.result.get("message_id"), int):
            return int(self.result["message_id"])
        value = self.params.get("message_id")
        return value if isinstance(value, int) else None

    @property
    def buttons(self) -> list[JSON]:
        """The inline keyboard buttons of ``reply_markup``, row by row, flattened."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def button(self, label: str) -> JSON:
        """The first inline button whose text contains ``label``."""
        for button in self.buttons:
            if label in str(button.get("text", "")):
                return button
        raise LookupError(f"no button {label!r} in {[b.get('text') for b in self.buttons]}")


@dataclass(frozen=True)
class Rejected:
    """A call answered with an error (429, 4xx, 5xx, 409)."""

    method: str
    params: JSON
    time: float
    error_code: int
    description: str


@dataclass(frozen=True)
class Delivery:
    """One webhook POST: the update, the HTTP status it got (0: no connection), when."""

    update_id: int
    status: int
    time: float


@dataclass
class _FaultRule:
    method: str
    fault: Fault
    times: int
    retry_after: int
    chat_id: ChatKey | None
    description: str | None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Stored:
    """A message in a chat, with what is needed to tell whether an edit changes it."""

    message: JSON
    raw_text: str | None = None
    parse_mode: str | None = None
    from_bot: bool = False


def _chat_key(value: Any) -> ChatKey:
    if isinstance(value, bool):
        raise _ApiError(400, "Bad Request: chat not found")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.startswith("@"):
        return text
    try:
        return int(text)
    except ValueError:
        raise _ApiError(400, "Bad Request: chat not found") from None


def _coerce(name: str, value: Any) -> Any:
    """Type one parameter the way the real server does (by name)."""
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            if name == "reply_markup":
                raise _ApiError(
                    400, "Bad Request: can't parse reply keyboard markup JSON object"
                ) from None
            raise _ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    if name == "chat_id":
        return _chat_key(value)
    if name in _INT_PARAMS:
        try:
            return int(value)
        except ValueError:
            try:
                return int(float(value))
            except ValueError:
                raise _ApiError(400, f"Bad Request: invalid {name} specified") from None
    if name in _FLOAT_PARAMS:
        try:
            return float(value)
        except ValueError:
            raise _ApiError(400, f"Bad Request: invalid {name} specified") from None
    if name in _BOOL_PARAMS:
        return value.strip().lower() in ("true", "1", "yes", "on")
    return value


def _update_type(update: JSON) -> str:
    for key in update:
        if key != "update_id":
            return key
    return ""


def _window_wait(stamps: deque[float], now: float, window: float, limit: int | None) -> float:
    """Seconds until one more event fits into ``limit`` events per ``window`` (0: fits now)."""
    while stamps and stamps[0] <= now - window:
        stamps.popleft()
    if limit is None or len(stamps) < limit:
        return 0.0
    if limit <= 0:
        return window
    return stamps[len(stamps) - limit] + window - now


def _utf8_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- text formatting checks, after Telegram's parsers (tdlib) -----------------------------

_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    }
)
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME_RE = re.compile(r"[a-zA-Z0-9-]*")


def _parse_html(text: str) -> str:
    """Check Telegram HTML and return the plain text; raise 400 like Telegram on errors."""
    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match is None:
                out.append(char)
                i += 1
                continue
            ref = match.group(1)
            try:
                if ref[:2] in ("#x", "#X"):
                    out.append(chr(int(ref[2:], 16)))
                elif ref.startswith("#"):
                    out.append(chr(int(ref[1:])))
                else:
                    out.append(_HTML_NAMED.get(ref, match.group(0)))
            except (ValueError, OverflowError):
                out.append(match.group(0))
            i = match.end()
            continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        start = i
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise _ApiError(
                    400, f"{_ENTITIES}Unclosed end tag at byte offset {_utf8_offset(text, start)}"
                )
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise _ApiError(
                    400, f"{_ENTITIES}Unexpected end tag at byte offset {_utf8_offset(text, start)}"
                )
            if name and name != stack[-1]:
                raise _ApiError(
                    400,
                    f"{_ENTITIES}Unmatched end tag at byte offset {_utf8_offset(text, start)}, "
                    f'expected "</{stack[-1]}>", found "</{name}>"',
                )
            stack.pop()
            i = end + 1
            continue
        name_match = _TAG_NAME_RE.match(text, i + 1)
        name = name_match.group(0).lower() if name_match else ""
        if name not in _HTML_TAGS:
            raise _ApiError(
                400,
                f'{_ENTITIES}Unsupported start tag "{name}" at byte offset '
                f"{_utf8_offset(text, start)}",
            )
        j = name_match.end() if name_match else i + 1
        quote: str | None = None
        while j < n:
            ch = text[j]
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "\"'":
                quote = ch
            elif ch == ">":
                break
            j += 1
        if j >= n:
            raise _ApiError(
                400, f"{_ENTITIES}Unclosed start tag at byte offset {_utf8_offset(text, start)}"
            )
        stack.append(name)
        i = j + 1
    if stack:
        raise _ApiError(
            400, f'{_ENTITIES}Can\'t find end tag corresponding to start tag "{stack[-1]}"'
        )
    return "".join(out)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}


def _find_unescaped(text: str, target: str, start: int) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(target, i):
            return i
        i += 1
    return -1


def _unescape_mdv2(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _parse_markdown_v2(text: str) -> str:
    """Check MarkdownV2 (reserved characters, unclosed entities); return the plain text."""
    out: list[str] = []
    open_markers: dict[str, int] = {}
    links: list[int] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        offset = _utf8_offset(text, i)
        if char == "\\":
            if i + 1 < n:
                out.append(text[i + 1])
                i += 2
            else:
                out.append(char)
                i += 1
            continue
        if text.startswith("```", i):
            end = _find_unescaped(text, "```", i + 3)
            if end < 0:
                raise _ApiError(
                    400, f"{_ENTITIES}Can't find end of Pre entity at byte offset {offset}"
                )
            body = text[i + 3 : end]
            first, newline, rest = body.partition("\n")
            if newline and first and " " not in first:
                body = rest
            out.append(_unescape_mdv2(body))
            i = end + 3
            continue
        if char == "`":
            end = _find_unescaped(text, "`", i + 1)
            if end < 0:
                raise _ApiError(
                    400, f"{_ENTITIES}Can't find end of Code entity at byte offset {offset}"
                )
            out.append(_unescape_mdv2(text[i + 1 : end]))
            i = end + 1
            continue
        if char == "[" or text.startswith("![", i):
            links.append(offset)
            i += 2 if char == "!" else 1
            continue
        if char == "]" and links:
            links.pop()
            if text.startswith("(", i + 1):
                end = _find_unescaped(text, ")", i + 2)
                if end < 0:
                    raise _ApiError(
                        400, f"{_ENTITIES}Can't find end of a url at byte offset {offset}"
                    )
                i = end + 1
            else:
                i += 1
            continue
        marker = ""
        if text.startswith("__", i):
            marker = "__"
        elif text.startswith("||", i):
            marker = "||"
        elif char in "*_~":
            marker = char
        if marker:
            if marker in open_markers:
                del open_markers[marker]
            else:
                open_markers[marker] = offset
            i += len(marker)
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1
            continue
        if char in _MDV2_RESERVED:
            raise _ApiError(
                400,
                f"{_ENTITIES}Character '{char}' is reserved and must be escaped with the "
                "preceding '\\'",
            )
        out.append(char)
        i += 1
    if links:
        raise _ApiError(
            400, f"{_ENTITIES}Can't find end of TextUrl entity at byte offset {links[-1]}"
        )
    if open_markers:
        marker, offset = min(open_markers.items(), key=lambda item: item[1])
        raise _ApiError(
            400,
            f"{_ENTITIES}Can't find end of {_MDV2_NAMES[marker]} entity at byte offset {offset}",
        )
    return "".join(out)


def _parse_markdown(text: str) -> str:
    """Check legacy Markdown (every ``*``, ``_``, `````` ` `````` must be closed)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        offset = _utf8_offset(text, i)
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if char in "_*`":
            marker = "```" if text.startswith("```", i) else char
            end = text.find(marker, i + len(marker))
            if end < 0:
                raise _ApiError(
                    400, f"{_ENTITIES}Can't find end of the entity starting at byte offset {offset}"
                )
            out.append(text[i + len(marker) : end])
            i = end + len(marker)
            continue
        if char == "[":
            close = text.find("]", i + 1)
            if close < 0:
                raise _ApiError(
                    400, f"{_ENTITIES}Can't find end of the entity starting at byte offset {offset}"
                )
            if text.startswith("(", close + 1):
                end = text.find(")", close + 2)
                if end < 0:
                    raise _ApiError(
                        400,
                        f"{_ENTITIES}Can't find end of the entity starting at byte offset {offset}",
                    )
                out.append(text[i + 1 : close])
                i = end + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _plain_text(text: str, parse_mode: str | None, check: bool) -> str:
    if not parse_mode:
        return text
    mode = parse_mode.lower()
    parsers = {"html": _parse_html, "markdownv2": _parse_markdown_v2, "markdown": _parse_markdown}
    parser = parsers.get(mode)
    if parser is None:
        raise _ApiError(400, "Bad Request: unsupported parse_mode")
    if not check:
        return text
    return parser(text)


def _check_markup(markup: Any) -> JSON | None:
    """Validate ``reply_markup`` like Telegram; return it (or None when absent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict) or not (
        {"inline_keyboard", "keyboard", "remove_keyboard", "force_reply"} & markup.keys()
    ):
        raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _ApiError(400, "Bad Request: can't parse inline keyboard button: array expected")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button")
            if not button["text"]:
                raise _ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            if len(button) == 1:
                raise _ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: Text buttons are "
                    "unallowed in the inline keyboard",
                )
            data = button.get("callback_data")
            if data is not None and (
                not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64
            ):
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _message_markup(markup: JSON | None) -> JSON | None:
    """What a Message shows of ``reply_markup``: only a non-empty inline keyboard."""
    if markup and markup.get("inline_keyboard"):
        return markup
    return None


class FakeBotApi:
    """A fake Telegram Bot API server on 127.0.0.1 for the real python-telegram-bot.

    Use it as ``async with FakeBotApi(token="123456:TEST-token") as api:``; clients call
    ``f"{api.url}/bot{token}/{method}"`` and download files from
    ``f"{api.url}/file/bot{token}/{file_path}"``. Tests build incoming updates with
    :meth:`send_text`, :meth:`press` and friends, read what the bot did from :attr:`calls`,
    :meth:`sent_messages`, :meth:`edits`, and wait with :meth:`wait_for` / :meth:`wait_until`.

    Flood limits (sliding windows, answered with 429 and ``retry_after``) apply to
    ``limited_methods``: ``global_per_second`` over all chats, ``private_per_second`` per private
    chat (positive id) and ``group_per_minute`` per group or channel (negative id). ``None``
    lifts one limit; ``enforce_limits=False`` (also settable later) lifts them all.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "sitrep_test_bot",
        bot_first_name: str = "Sitrep Test",
        enforce_limits: bool = True,
        global_per_second: int | None = 30,
        private_per_second: int | None = 1,
        group_per_minute: int | None = 20,
        limited_methods: Iterable[str] = DEFAULT_LIMITED_METHODS,
        check_entities: bool = True,
        hang_seconds: float = 30.0,
        first_update_id: int = 1,
        host: str = "127.0.0.1",
    ) -> None:
        """Configure the server; :meth:`start` (or ``async with``) opens it on a free port."""
        self.token = token
        self.host = host
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.enforce_limits = enforce_limits
        self.global_per_second = global_per_second
        self.private_per_second = private_per_second
        self.group_per_minute = group_per_minute
        self.limited_methods = frozenset(limited_methods)
        self.check_entities = check_entities
        # the users' clock: the "date" of the messages they send (tests may set their own)
        self.now: Callable[[], float] = time.time
        self.hang_seconds = hang_seconds

        #: Every accepted call, in the order they were answered.
        self.calls: list[Call] = []
        #: Every call answered with an error.
        self.rejected: list[Rejected] = []
        #: How many 429 answers were given (limits and injected faults).
        self.rate_limited = 0
        #: How many connections were dropped by the ``drop`` fault.
        self.dropped = 0
        #: What setMyCommands got: ``{(scope, language_code): [{"command", "description"}]}``
        #: where scope is ``"default"``, ``"all_private_chats"``, ``"chat:<id>"``,
        #: ``"chat_member:<chat_id>:<user_id>"``... (see :meth:`scope_key`).
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        #: Every webhook POST made.
        self.webhook_deliveries: list[Delivery] = []
        #: File paths downloaded through ``/file/bot<token>/...``.
        self.downloads: list[str] = []

        self._url: str | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()

        self._queue: list[JSON] = []
        self._next_update_id = first_update_id
        self._allowed_updates: list[str] | None = None
        self._poller: asyncio.Future[str] | None = None
        self._webhook: _Webhook | None = None
        self._webhook_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

        self._messages: dict[tuple[ChatKey, int], _Stored] = {}
        self._message_ids: dict[ChatKey, int] = {}
        self._chats: dict[ChatKey, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_paths: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._blocked: set[ChatKey] = set()
        self._faults: list[_FaultRule] = []
        self._global_sends: deque[float] = deque()
        self._chat_sends: dict[ChatKey, deque[float]] = {}

        self._impl: dict[str, Callable[[JSON], Any]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }
        # Bot API method names are case-insensitive.
        self._method_names = {name.lower(): name for name in [*self._impl, "getUpdates"]}

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server root, ``http://127.0.0.1:PORT`` (only once started)."""
        if self._url is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._url

    async def start(self) -> None:
        """Open the server on a free port of ``host``."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # handler_cancellation: a request whose client went away (a timeout) stops waiting.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner
        self._url = f"http://{self.host}:{sock.getsockname()[1]}"
        self._closing.clear()

    async def close(self) -> None:
        """Stop the server: waiting polls are answered, hanging requests are dropped."""
        self._closing.set()
        self._wake_poller("close")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
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

    # --- what the bot did -----------------------------------------------------------------

    @property
    def bot_user(self) -> JSON:
        """The bot as a ``User`` object (what getMe answers, ``from`` of its messages)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def calls_to(self, method: str, chat_id: ChatKey | None = None) -> list[Call]:
        """Accepted calls of ``method`` (optionally to one chat)."""
        return [
            c
            for c in self.calls
            if c.method.lower() == method.lower() and self._chat_matches(c, chat_id)
        ]

    def sent_messages(self, chat_id: ChatKey | None = None) -> list[Call]:
        """Accepted sendMessage/sendPhoto/sendDocument calls (optionally to one chat)."""
        return [
            c for c in self.calls if c.method in SEND_METHODS and self._chat_matches(c, chat_id)
        ]

    def edits(self, chat_id: ChatKey | None = None) -> list[Call]:
        """Accepted editMessageText/ReplyMarkup/Caption calls (optionally in one chat)."""
        return [
            c for c in self.calls if c.method in EDIT_METHODS and self._chat_matches(c, chat_id)
        ]

    @property
    def answered_callbacks(self) -> list[Call]:
        """Accepted answerCallbackQuery calls."""
        return [c for c in self.calls if c.method == "answerCallbackQuery"]

    def message(self, chat_id: ChatKey, message_id: int) -> JSON | None:
        """The current state of a message (after edits), bot's or user's; None if unknown."""
        stored = self._messages.get((_chat_key(chat_id), message_id))
        return dict(stored.message) if stored else None

    def last_bot_message(self, chat_id: ChatKey) -> JSON | None:
        """The newest message the bot sent to ``chat_id`` (as it is now), if any."""
        key = _chat_key(chat_id)
        for (chat, _), stored in sorted(
            self._messages.items(), key=lambda item: item[0][1], reverse=True
        ):
            if chat == key and stored.from_bot:
                return dict(stored.message)
        return None

    @staticmethod
    def scope_key(scope: JSON | str | None = None) -> str:
        """The key :attr:`commands` uses for a ``BotCommandScope`` dict (or type name)."""
        if scope is None:
            return "default"
        if isinstance(scope, str):
            return scope
        parts = [str(scope.get("type", "default"))]
        if "chat_id" in scope:
            parts.append(str(scope["chat_id"]))
        if "user_id" in scope:
            parts.append(str(scope["user_id"]))
        return ":".join(parts)

    def get_commands(self, scope: JSON | str | None = None, language_code: str = "") -> list[JSON]:
        """The commands set for ``scope`` and ``language_code`` (empty list if none)."""
        return list(self.commands.get((self.scope_key(scope), language_code), []))

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed (polling) or delivered (webhook)."""
        return list(self._queue)

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is waiting."""
        return self._poller is not None and not self._poller.done()

    @property
    def webhook_url(self) -> str | None:
        """The webhook URL set with setWebhook, or None."""
        return self._webhook.url if self._webhook else None

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 (the API the tests asked for)
    ) -> None:
        """Wait until ``condition()`` is true; it is re-checked on every call, update, delivery.

        Raises ``TimeoutError`` after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """Wait until a recorded call (earlier ones included) satisfies ``predicate``; return it.

        Raises ``TimeoutError`` with the latest calls in its message.
        """
        found: list[Call] = []

        def check() -> bool:
            for call in self.calls:
                if predicate(call):
                    found.append(call)
                    return True
            return False

        try:
            await self.wait_until(check, timeout)
        except TimeoutError:
            recent = [(c.method, c.params.get("chat_id"), c.text) for c in self.calls[-10:]]
            raise TimeoutError(f"no matching call within {timeout}s; latest: {recent}") from None
        return found[0]

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _chat_matches(self, call: Call, chat_id: ChatKey | None) -> bool:
        return chat_id is None or call.params.get("chat_id") == _chat_key(chat_id)

    # --- faults and blocking --------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        fault: Fault,
        times: int = 1,
        *,
        retry_after: int = 1,
        chat_id: ChatKey | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*": any; "download": file downloads)
        (to ``chat_id`` if given) fail with ``fault``:

        * ``"429"``: Too Many Requests with ``retry_after``;
        * ``"500"``, ``"502"``: server errors; ``"400"``: Bad Request; ``"403"``: Forbidden,
          bot was blocked by the user (``description`` overrides the text);
        * ``"drop"``: the connection is closed without an answer, nothing is carried out;
        * ``"timeout"``: the call IS carried out and recorded, but never answered: the
          connection is closed when the client gives up, after ``hang_seconds``, or at close.
        """
        if fault not in ("429", "500", "502", "drop", "timeout", "400", "403"):
            raise ValueError(f"unknown fault {fault!r}")
        key = None if chat_id is None else _chat_key(chat_id)
        self._faults.append(_FaultRule(method, fault, times, retry_after, key, description))

    def clear_faults(self) -> None:
        """Forget every pending injected fault."""
        self._faults.clear()

    def block(self, chat_id: ChatKey) -> None:
        """Answer every call to ``chat_id`` with 403 (the user blocked the bot) until unblocked."""
        self._blocked.add(_chat_key(chat_id))

    def unblock(self, chat_id: ChatKey) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(_chat_key(chat_id))

    def _take_fault(self, method: str, params: JSON) -> _FaultRule | None:
        chat = params.get("chat_id")
        for rule in self._faults:
            if rule.method != "*" and rule.method.lower() != method.lower():
                continue
            if rule.chat_id is not None and rule.chat_id != chat:
                continue
            rule.times -= 1
            if rule.times <= 0:
                self._faults.remove(rule)
            return rule
        return None

    @staticmethod
    def _fault_error(rule: _FaultRule, method: str) -> _ApiError:
        if rule.fault == "429":
            retry = max(1, rule.retry_after)
            return _ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        if rule.fault == "500":
            return _ApiError(500, rule.description or "Internal Server Error")
        if rule.fault == "502":
            return _ApiError(502, rule.description or "Bad Gateway")
        if rule.fault == "403":
            return _ApiError(403, rule.description or "Forbidden: bot was blocked by the user")
        if rule.description:
            return _ApiError(400, rule.description)
        if method in EDIT_METHODS:
            return _ApiError(400, _NOT_MODIFIED)
        if method == "answerCallbackQuery":
            return _ApiError(400, _QUERY_TOO_OLD)
        return _ApiError(400, "Bad Request: chat not found")

    # --- flood limits ---------------------------------------------------------------------

    def _limit_wait(self, chat: ChatKey | None) -> int:
        """Whole seconds to wait before this send fits every window (0: it fits now)."""
        now = time.monotonic()
        wait = _window_wait(self._global_sends, now, 1.0, self.global_per_second)
        if chat is not None:
            stamps = self._chat_sends.setdefault(chat, deque())
            if self._is_private(chat):
                wait = max(wait, _window_wait(stamps, now, 1.0, self.private_per_second))
            else:
                wait = max(wait, _window_wait(stamps, now, 60.0, self.group_per_minute))
        return 0 if wait <= 0 else max(1, math.ceil(wait))

    def _note_send(self, chat: ChatKey | None) -> None:
        now = time.monotonic()
        self._global_sends.append(now)
        if chat is not None:
            self._chat_sends.setdefault(chat, deque()).append(now)

    @staticmethod
    def _is_private(chat: ChatKey) -> bool:
        return isinstance(chat, int) and chat > 0

    # --- HTTP -----------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/file/bot"):
            return await self._serve_file(request, path[len("/file/bot") :])
        if path.startswith("/bot"):
            token, _, method = path[len("/bot") :].partition("/")
            return await self._serve_api(request, token, method)
        return self._error_response(404, "Not Found")

    @staticmethod
    def _error_response(
        code: int, description: str, retry_after: int | None = None
    ) -> web.Response:
        body: JSON = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=code)

    def _token_error(self, token: str) -> web.Response | None:
        if token == self.token:
            return None
        if not _TOKEN_RE.match(token):
            return self._error_response(404, "Not Found")
        return self._error_response(401, "Unauthorized")

    def _reject(self, method: str, params: JSON, error: _ApiError) -> web.Response:
        self.rejected.append(
            Rejected(method, params, time.monotonic(), error.code, error.description)
        )
        if error.code == 429:
            self.rate_limited += 1
        self._notify()
        return self._error_response(error.code, error.description, error.retry_after)

    def _record(self, method: str, params: JSON, started: float, result: Any) -> None:
        self.calls.append(Call(method, params, started, result))
        self._notify()

    async def _read_params(self, request: web.Request) -> JSON:
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _ApiError(400, "Bad Request: can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise _ApiError(400, "Bad Request: can't parse JSON object")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[name] = UploadedFile(
                            value.filename, value.content_type, value.file.read()
                        )
                    else:
                        raw[name] = value
            else:
                await request.read()
        return {name: _coerce(name, value) for name, value in raw.items()}

    async def _serve_api(self, request: web.Request, token: str, method: str) -> web.StreamResponse:
        started = time.monotonic()
        denied = self._token_error(token)
        if denied is not None:
            return denied
        name = self._method_names.get(method.lower())
        if name is None:
            return self._error_response(404, "Not Found")
        try:
            params = await self._read_params(request)
        except _ApiError as error:
            return self._reject(name, {}, error)

        rule = self._take_fault(name, params)
        if rule is not None and rule.fault == "drop":
            self.dropped += 1
            self._notify()
            return self._drop(request)
        if rule is not None and rule.fault == "timeout":
            if name != "getUpdates":
                try:
                    result = self._impl[name](params)
                except _ApiError as error:
                    return self._reject(name, params, error)
                if name in self.limited_methods:
                    self._note_send(params.get("chat_id"))
                self._record(name, params, started, result)
            return await self._hang(request)
        if rule is not None:
            return self._reject(name, params, self._fault_error(rule, name))

        chat = params.get("chat_id")
        if chat is not None and chat in self._blocked:
            description = (
                "Forbidden: bot was blocked by the user"
                if self._is_private(chat)
                else "Forbidden: bot was kicked from the group chat"
            )
            return self._reject(name, params, _ApiError(403, description))
        if name == "getUpdates":
            return await self._get_updates(params, started)
        if self.enforce_limits and name in self.limited_methods:
            wait = self._limit_wait(chat)
            if wait:
                return self._reject(
                    name, params, _ApiError(429, f"Too Many Requests: retry after {wait}", wait)
                )
        try:
            result = self._impl[name](params)
        except _ApiError as error:
            return self._reject(name, params, error)
        if name in self.limited_methods:
            self._note_send(chat)
        self._record(name, params, started, result)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=500)

    async def _hang(self, request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.hang_seconds)
        return self._drop(request)

    async def _serve_file(self, request: web.Request, rest: str) -> web.StreamResponse:
        token, _, file_path = rest.partition("/")
        denied = self._token_error(token)
        if denied is not None:
            return denied
        rule = self._take_fault("download", {})
        if rule is not None:
            if rule.fault == "drop":
                self.dropped += 1
                return self._drop(request)
            if rule.fault == "timeout":
                return await self._hang(request)
            error = self._fault_error(rule, "download")
            return self._error_response(error.code, error.description, error.retry_after)
        stored = self._file_paths.get(file_path)
        if stored is None:
            return self._error_response(404, "Not Found")
        self.downloads.append(file_path)
        self._notify()
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # --- getUpdates -----------------------------------------------------------------------

    def _wake_poller(self, reason: str) -> None:
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(reason)

    def _allowed(self, update: JSON, allowed: list[str] | None) -> bool:
        kind = _update_type(update)
        if not kind:
            return True
        if not allowed:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in allowed

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._queue = [u for u in self._queue if int(u.get("update_id", 0)) >= offset]
        elif offset < 0:
            self._queue = self._queue[offset:]

    def _collect(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates
        return [u for u in self._queue if self._allowed(u, allowed)][:limit]

    async def _get_updates(self, params: JSON, started: float) -> web.Response:
        if self._webhook is not None:
            return self._reject("getUpdates", params, _ApiError(409, _CONFLICT_WEBHOOK))
        # A new poll ends the one waiting: that one is answered 409.
        self._wake_poller("conflict")
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if "allowed_updates" in params and isinstance(params["allowed_updates"], list):
            self._allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        self._confirm(offset)
        batch = self._collect(limit)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not batch and not self._closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            poller: asyncio.Future[str] = loop.create_future()
            self._poller = poller
            self._notify()
            try:
                reason = await asyncio.wait_for(poller, remaining)
            except TimeoutError:
                break
            finally:
                if self._poller is poller:
                    self._poller = None
            if reason == "conflict":
                return self._reject("getUpdates", params, _ApiError(409, _CONFLICT_POLL))
            if reason == "webhook":
                return self._reject("getUpdates", params, _ApiError(409, _CONFLICT_WEBHOOK))
            if reason == "close":
                break
            batch = self._collect(limit)
        self._record("getUpdates", params, started, batch)
        return web.json_response({"ok": True, "result": batch})

    # --- incoming updates -----------------------------------------------------------------

    def add_update(self, update: JSON) -> int:
        """Queue an update (its ``update_id`` is set here if absent) and return its id.

        A waiting getUpdates is answered; with a webhook set, it is POSTed there in the
        background instead (see :meth:`deliver`, :meth:`drain`).
        """
        update_id = self._enqueue(update)
        if self._webhook is not None and self._allowed(update, self._webhook.allowed_updates):
            self._spawn(self._post_update(update))
        return update_id

    def raw_update(self, update: JSON) -> JSON:
        """Queue ``update`` exactly as given (malformed ones too); sets update_id if absent."""
        self.add_update(update)
        return update

    def _enqueue(self, update: JSON) -> int:
        if isinstance(update.get("update_id"), int):
            update_id = int(update["update_id"])
            self._next_update_id = max(self._next_update_id, update_id + 1)
            self._queue.append(update)
            self._queue.sort(key=lambda u: int(u.get("update_id", 0)))
        else:
            update_id = self._next_update_id
            self._next_update_id += 1
            update["update_id"] = update_id
            self._queue.append(update)
        self._wake_poller("update")
        self._notify()
        return update_id

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _user(self, user_id: int, first_name: str | None = None) -> JSON:
        user = self._users.get(user_id)
        if user is None or (first_name is not None and user["first_name"] != first_name):
            user = {"id": user_id, "is_bot": False, "first_name": first_name or "User"}
            self._users[user_id] = user
        return dict(user)

    def _chat(self, chat: ChatKey) -> JSON:
        known = self._chats.get(chat)
        if known is not None:
            return dict(known)
        if self._is_private(chat):
            user = self._users.get(int(chat))
            name = user["first_name"] if user else "User"
            return {"id": chat, "type": "private", "first_name": name}
        if isinstance(chat, str):
            return {"id": -1000000000001, "type": "channel", "title": chat, "username": chat[1:]}
        return {"id": chat, "type": "group", "title": f"Group {chat}"}

    def _next_message_id(self, chat: ChatKey) -> int:
        value = self._message_ids.get(chat, 0) + 1
        self._message_ids[chat] = value
        return value

    def _incoming(
        self, user_id: int, chat_id: ChatKey | None, first_name: str | None, content: JSON
    ) -> JSON:
        user = self._user(user_id, first_name)
        chat = _chat_key(user_id if chat_id is None else chat_id)
        message: JSON = {
            "message_id": self._next_message_id(chat),
            "from": user,
            "chat": self._chat(chat),
            "date": int(self.now()),
            **content,
        }
        self._messages[(chat, message["message_id"])] = _Stored(message, content.get("text"))
        return message

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: ChatKey | None = None,
        first_name: str | None = None,
    ) -> JSON:
        """A user sends ``text`` (private chat unless ``chat_id``); returns the queued update.

        A leading ``/command`` gets its ``bot_command`` entity. ``first_name`` defaults to the
        name this user had before, else "User".
        """
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        update: JSON = {"message": self._incoming(user_id, chat_id, first_name, content)}
        self.add_update(update)
        return update

    def press(
        self, user_id: int, message_id: int, data: str, *, chat_id: ChatKey | None = None
    ) -> JSON:
        """A user presses an inline button with callback ``data`` under message ``message_id``.

        The callback query carries the message as it is now; an unknown message comes as an
        inaccessible one (``date`` 0), like Telegram does for old messages.
        """
        chat = _chat_key(user_id if chat_id is None else chat_id)
        stored = self._messages.get((chat, message_id))
        message = (
            dict(stored.message)
            if stored
            else {"chat": self._chat(chat), "message_id": message_id, "date": 0}
        )
        query_id = f"{self.bot_id}{next(self._callback_counter):010d}"
        self._open_callbacks.add(query_id)
        update: JSON = {
            "callback_query": {
                "id": query_id,
                "from": self._user(user_id),
                "message": message,
                "chat_instance": str(abs(hash((self.bot_id, chat))) % 10**18),
                "data": data,
            }
        }
        self.add_update(update)
        return update

    def tap(self, user_id: int, label: str, *, chat_id: ChatKey | None = None) -> JSON:
        """Press the button whose text contains ``label`` on the newest bot message showing
        one in the chat (keyboards as they are now, after edits); returns the update."""
        chat = _chat_key(user_id if chat_id is None else chat_id)
        seen: list[str] = []
        for (key, message_id), stored in sorted(
            self._messages.items(), key=lambda item: item[0][1], reverse=True
        ):
            if key != chat or not stored.from_bot:
                continue
            rows = (stored.message.get("reply_markup") or {}).get("inline_keyboard") or []
            for row in rows:
                for button in row:
                    seen.append(str(button.get("text")))
                    if label in str(button.get("text")) and "callback_data" in button:
                        return self.press(
                            user_id, message_id, button["callback_data"], chat_id=chat_id
                        )
        raise LookupError(f"no button {label!r} in chat {chat}; buttons: {seen}")

    def _register_file(self, content: bytes, folder: str, ext: str, prefix: str) -> _StoredFile:
        number = next(self._file_counter)
        stored = _StoredFile(
            file_id=f"{prefix}AgADAQADAgAD{number:05d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AQAD{number:05d}{secrets.token_hex(3)}",
            file_path=f"{folder}/file_{number}.{ext}",
            content=content,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    def register_file(self, content: bytes, *, folder: str = "documents", ext: str = "bin") -> JSON:
        """Make ``content`` downloadable; returns ``{file_id, file_unique_id, file_size}``."""
        stored = self._register_file(content, folder, ext, "BQAC")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(content),
        }

    def _photo_sizes(self, content: bytes) -> list[JSON]:
        sizes: list[JSON] = []
        for width, height in ((90, 67), (320, 240)):
            thumb = f"thumbnail {width}x{height}".encode()
            stored = self._register_file(thumb, "photos", "jpg", "AgAC")
            sizes.append(self._photo_size(stored, width, height))
        stored = self._register_file(content, "photos", "jpg", "AgAC")
        sizes.append(self._photo_size(stored, 800, 600))
        return sizes

    @staticmethod
    def _photo_size(stored: _StoredFile, width: int, height: int) -> JSON:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "width": width,
            "height": height,
        }

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        caption: str | None = None,
        *,
        chat_id: ChatKey | None = None,
    ) -> JSON:
        """A user sends a photo: three PhotoSizes, the largest downloads as ``content``."""
        body: JSON = {"photo": self._photo_sizes(content)}
        if caption is not None:
            body["caption"] = caption
        update: JSON = {"message": self._incoming(user_id, chat_id, None, body)}
        self.add_update(update)
        return update

    def send_voice(
        self, user_id: int, content: bytes, duration: int = 3, *, chat_id: ChatKey | None = None
    ) -> JSON:
        """A user sends a voice note (OGG/Opus) that downloads as ``content``."""
        stored = self._register_file(content, "voice", "oga", "AwAC")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        update: JSON = {"message": self._incoming(user_id, chat_id, None, {"voice": voice})}
        self.add_update(update)
        return update

    def send_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        mime_type: str,
        *,
        caption: str | None = None,
        chat_id: ChatKey | None = None,
    ) -> JSON:
        """A user sends a file that downloads as ``content``."""
        ext = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        stored = self._register_file(content, "documents", ext, "BQAC")
        body: JSON = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(content),
            }
        }
        if caption is not None:
            body["caption"] = caption
        update: JSON = {"message": self._incoming(user_id, chat_id, None, body)}
        self.add_update(update)
        return update

    def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        chat_id: ChatKey | None = None,
    ) -> JSON:
        """A user shares a location."""
        body: JSON = {"location": {"latitude": latitude, "longitude": longitude}}
        update: JSON = {"message": self._incoming(user_id, chat_id, None, body)}
        self.add_update(update)
        return update

    def send_sticker(self, user_id: int, *, chat_id: ChatKey | None = None) -> JSON:
        """A user sends a sticker (something the bot cannot read)."""
        stored = self._register_file(b"RIFF sticker", "stickers", "webp", "CAAC")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "set_name": "TestStickers",
            "file_size": len(stored.content),
        }
        update: JSON = {"message": self._incoming(user_id, chat_id, None, {"sticker": sticker})}
        self.add_update(update)
        return update

    def edited_message(
        self,
        user_id: int,
        text: str,
        *,
        message_id: int | None = None,
        chat_id: ChatKey | None = None,
    ) -> JSON:
        """A user edits a text message (``message_id``, default their latest) to ``text``."""
        chat = _chat_key(user_id if chat_id is None else chat_id)
        if message_id is None:
            mine = [
                mid
                for (key, mid), stored in self._messages.items()
                if key == chat and not stored.from_bot
            ]
            message_id = max(mine) if mine else None
        stored = self._messages.get((chat, message_id)) if message_id is not None else None
        if stored is None:
            message = self._incoming(user_id, chat_id, None, {"text": text})
            stored = self._messages[(chat, message["message_id"])]
        stored.message = {**stored.message, "text": text, "edit_date": int(time.time())}
        stored.message.pop("entities", None)
        stored.raw_text = text
        update: JSON = {"edited_message": dict(stored.message)}
        self.add_update(update)
        return update

    def channel_post(self, chat_id: ChatKey, text: str) -> JSON:
        """A post in a channel the bot is in (no ``from``; ``sender_chat`` is the channel)."""
        chat = _chat_key(chat_id)
        self._chats.setdefault(chat, {"id": chat, "type": "channel", "title": f"Channel {chat}"})
        message: JSON = {
            "message_id": self._next_message_id(chat),
            "sender_chat": self._chat(chat),
            "chat": self._chat(chat),
            "date": int(self.now()),
            "text": text,
        }
        self._messages[(chat, message["message_id"])] = _Stored(message, text)
        update: JSON = {"channel_post": message}
        self.add_update(update)
        return update

    def my_chat_member(
        self,
        user_id: int,
        status: str = "kicked",
        *,
        chat_id: ChatKey | None = None,
    ) -> JSON:
        """The bot's membership changes: ``"kicked"`` (the user blocked the bot; sends to the
        chat then get 403, see :meth:`block`) or ``"member"`` (unblocked again)."""
        chat = _chat_key(user_id if chat_id is None else chat_id)
        old = "member" if status == "kicked" else "kicked"
        new_member: JSON = {"user": self.bot_user, "status": status}
        if status == "kicked":
            new_member["until_date"] = 0
            self.block(chat)
        else:
            self.unblock(chat)
        update: JSON = {
            "my_chat_member": {
                "chat": self._chat(chat),
                "from": self._user(user_id),
                "date": int(self.now()),
                "old_chat_member": {"user": self.bot_user, "status": old},
                "new_chat_member": new_member,
            }
        }
        self.add_update(update)
        return update

    # --- webhook delivery -----------------------------------------------------------------

    async def deliver(self, update: JSON) -> int:
        """POST ``update`` to the webhook now and return the HTTP status (0: no connection).

        An update not queued yet is queued first. A non-2xx answer leaves it queued for
        :meth:`redeliver`, like Telegram keeps retrying.
        """
        if self._webhook is None:
            raise RuntimeError("no webhook is set")
        if not any(u is update for u in self._queue):
            self._enqueue(update)
        return await self._post_update(update)

    async def redeliver(self) -> list[int]:
        """POST every still-queued update again, in order; return the statuses."""
        if self._webhook is None:
            raise RuntimeError("no webhook is set")
        return [await self._post_update(update) for update in list(self._queue)]

    async def drain(self) -> None:
        """Wait until every background webhook delivery has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _post_update(self, update: JSON) -> int:
        async with self._webhook_lock:
            webhook = self._webhook
            if webhook is None:
                return 0
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
            headers = {"Content-Type": "application/json"}
            if webhook.secret_token:
                headers[SECRET_HEADER] = webhook.secret_token
            error: str | None = None
            try:
                async with self._session.post(
                    webhook.url, data=json.dumps(update), headers=headers
                ) as response:
                    status = response.status
                    await response.read()
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = 0
                error = f"Connection failed: {exc.__class__.__name__}"
            if error is None:
                self._queue = [u for u in self._queue if u is not update]
            else:
                webhook.last_error_date = int(time.time())
                webhook.last_error_message = error
            self.webhook_deliveries.append(
                Delivery(int(update.get("update_id", 0)), status, time.monotonic())
            )
            self._notify()
            return status

    # --- Bot API methods ------------------------------------------------------------------

    def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @staticmethod
    def _require_chat(params: JSON) -> ChatKey:
        chat = params.get("chat_id")
        if chat is None or chat == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        return _chat_key(chat)

    def _new_bot_message(self, params: JSON, content: JSON, raw_text: str | None) -> JSON:
        chat = self._require_chat(params)
        markup = _check_markup(params.get("reply_markup"))
        message: JSON = {
            "message_id": self._next_message_id(chat),
            "from": self.bot_user,
            "chat": self._chat(chat),
            "date": int(self.now()),
            **content,
        }
        shown = _message_markup(markup)
        if shown is not None:
            message["reply_markup"] = shown
        replied = self._replied_message(chat, params)
        if replied is not None:
            message["reply_to_message"] = replied
        self._messages[(chat, message["message_id"])] = _Stored(
            message, raw_text, params.get("parse_mode"), from_bot=True
        )
        return dict(message)

    def _replied_message(self, chat: ChatKey, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        target = reply.get("message_id") if isinstance(reply, dict) else None
        if target is None:
            target = params.get("reply_to_message_id")
        if not isinstance(target, int):
            return None
        stored = self._messages.get((chat, target))
        if stored is None:
            if isinstance(reply, dict) and reply.get("allow_sending_without_reply"):
                return None
            if params.get("allow_sending_without_reply"):
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        replied = dict(stored.message)
        replied.pop("reply_to_message", None)
        return replied

    def _caption(self, params: JSON) -> JSON:
        caption = params.get("caption")
        if caption is None or caption == "":
            return {}
        plain = _plain_text(str(caption), params.get("parse_mode"), self.check_entities)
        if _utf16_len(plain) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return {"caption": plain}

    def _send_message(self, params: JSON) -> JSON:
        self._require_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        plain = _plain_text(text, params.get("parse_mode"), self.check_entities)
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._new_bot_message(params, {"text": plain}, text)

    def _input_file(self, params: JSON, name: str, folder: str, ext: str) -> _StoredFile:
        value = params.get(name)
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _ApiError(400, "Bad Request: file must be non-empty")
            if value.filename and "." in value.filename:
                ext = value.filename.rsplit(".", 1)[-1]
            return self._register_file(value.content, folder, ext, "BQAC")
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._register_file(value.encode(), folder, ext, "BQAC")
        if value is None or value == "":
            raise _ApiError(400, f"Bad Request: there is no {name} in the request")
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _send_photo(self, params: JSON) -> JSON:
        self._require_chat(params)
        caption = self._caption(params)
        value = params.get("photo")
        if isinstance(value, str) and value in self._files:
            sizes = [self._photo_size(self._files[value], 800, 600)]
        elif isinstance(value, UploadedFile) and value.content:
            sizes = self._photo_sizes(value.content)
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            sizes = self._photo_sizes(value.encode())
        else:
            self._input_file(params, "photo", "photos", "jpg")  # raises the right 400
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return self._new_bot_message(params, {"photo": sizes, **caption}, params.get("caption"))

    def _send_document(self, params: JSON) -> JSON:
        self._require_chat(params)
        caption = self._caption(params)
        stored = self._input_file(params, "document", "documents", "bin")
        value = params.get("document")
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if isinstance(value, UploadedFile):
            if value.filename:
                document["file_name"] = value.filename
            document["mime_type"] = value.content_type
        return self._new_bot_message(
            params, {"document": document, **caption}, params.get("caption")
        )

    def _send_chat_action(self, params: JSON) -> bool:
        self._require_chat(params)
        if not params.get("action"):
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _bot_message_to_edit(self, params: JSON) -> _Stored:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._require_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        stored = self._messages.get((chat, message_id))
        if stored is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return stored

    def _apply_edit(self, stored: _Stored, changes: JSON, markup: JSON | None) -> JSON:
        message = {**stored.message, **changes, "edit_date": int(time.time())}
        shown = _message_markup(markup)
        if shown is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = shown
        stored.message = message
        return dict(message)

    def _edit_message_text(self, params: JSON) -> JSON:
        stored = self._bot_message_to_edit(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if "text" not in stored.message:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        parse_mode = params.get("parse_mode")
        plain = _plain_text(text, parse_mode, self.check_entities)
        if _utf16_len(plain) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        markup = _check_markup(params.get("reply_markup"))
        if (
            text == stored.raw_text
            and parse_mode == stored.parse_mode
            and _message_markup(markup) == stored.message.get("reply_markup")
        ):
            raise _ApiError(400, _NOT_MODIFIED)
        stored.raw_text, stored.parse_mode = text, parse_mode
        return self._apply_edit(stored, {"text": plain}, markup)

    def _edit_message_caption(self, params: JSON) -> JSON:
        stored = self._bot_message_to_edit(params)
        caption = self._caption(params)
        markup = _check_markup(params.get("reply_markup"))
        if caption.get("caption") == stored.message.get("caption") and _message_markup(
            markup
        ) == stored.message.get("reply_markup"):
            raise _ApiError(400, _NOT_MODIFIED)
        message = self._apply_edit(stored, caption, markup)
        if not caption:
            stored.message.pop("caption", None)
            message.pop("caption", None)
        return message

    def _edit_message_reply_markup(self, params: JSON) -> JSON:
        stored = self._bot_message_to_edit(params)
        markup = _check_markup(params.get("reply_markup"))
        if _message_markup(markup) == stored.message.get("reply_markup"):
            raise _ApiError(400, _NOT_MODIFIED)
        return self._apply_edit(stored, {}, markup)

    def _delete_message(self, params: JSON) -> bool:
        chat = self._require_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or (chat, message_id) not in self._messages:
            raise _ApiError(400, "Bad Request: message to delete not found")
        del self._messages[(chat, message_id)]
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._open_callbacks:
            raise _ApiError(400, _QUERY_TOO_OLD)
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        return True

    def _get_file(self, params: JSON) -> JSON:
        file_id = params.get("file_id")
        stored = self._files.get(file_id) if isinstance(file_id, str) else None
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise _ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        return self.scope_key(scope), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: command description is empty")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [dict(c) for c in commands]
        else:
            self.commands.pop(key, None)
        return True

    def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        return [dict(c) for c in self.commands.get(self._commands_key(params), [])]

    def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not url:
            self._remove_webhook(params)
            return True
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and (not isinstance(secret, str) or not _SECRET_RE.match(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self._webhook = _Webhook(
            url=url,
            secret_token=secret or None,
            max_connections=int(params.get("max_connections") or 40),
            allowed_updates=self._allowed_updates,
        )
        self._wake_poller("webhook")
        for update in list(self._queue):
            if self._allowed(update, self._allowed_updates):
                self._spawn(self._post_update(update))
        return True

    def _remove_webhook(self, params: JSON) -> None:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._queue.clear()

    def _delete_webhook(self, params: JSON) -> bool:
        self._remove_webhook(params)
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        webhook = self._webhook
        info: JSON = {
            "url": webhook.url if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.allowed_updates:
                info["allowed_updates"] = list(webhook.allowed_updates)
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info
