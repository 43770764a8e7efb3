"""The outbox sender: every outgoing message is a row first; one task per channel sends them.

It paces sends to the platform's limits (all chats, one private chat, one group), sends the
replies to people who are chatting before bulk alerts, pauses on a 429 for as long as asked,
retries 5xx and connection errors with capped exponential backoff and jitter, gives up on a
400, marks the person unreachable on a 403, and stops the channel on a 401. A send that timed
out may have gone through: it is retried once at most, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from bot.channels.text import split_text
from bot.rate_limits import RateLimiter, Slot
from handlers.clock import Clock
from handlers.messages import OutgoingFile
from handlers.texts import Texts
from storage.records import Member, OutboxMessage
from storage.store import Store

log = logging.getLogger(__name__)

BATCH = 500  # due rows read at once
MIN_FETCH_INTERVAL = 0.02  # under load, read new rows at most this often
REFRESH_SECONDS = 1.0  # read the outbox again at least this often (retries come due)


@dataclass(frozen=True)
class Limits:
    """A platform's sending limits, and the sender's retry settings."""

    per_second: float = 30.0  # all chats together
    chat_per_second: float = 1.0  # one private chat
    group_per_minute: float = 20.0  # one group chat
    margin: float = 0.01  # seconds added to each window, beyond the answer time
    concurrency: int = 16  # sends in flight at once
    max_attempts: int = 12  # for 5xx and connection errors
    backoff: float = 1.0  # first retry delay, doubled each time
    backoff_cap: float = 300.0


class Failure(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: pause everything for retry_after
    TRANSIENT = "transient"  # 5xx, connection refused or dropped before an answer
    AMBIGUOUS = "ambiguous"  # timed out: may have been delivered
    REJECTED = "rejected"  # 400: this message will never go
    BLOCKED = "blocked"  # 403: the person blocked the bot
    UNAUTHORIZED = "unauthorized"  # 401: the token is no longer valid


class DeliveryError(Exception):
    def __init__(self, failure: Failure, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{failure.value}: {detail}")
        self.failure = failure
        self.detail = detail
        self.retry_after = retry_after


class Transport(Protocol):
    """What a channel gives the sender: how to put one piece of a message on the platform.

    A platform without buttons also has ``render(text, buttons) -> str``: the sender puts the
    buttons into the text with it before cutting the text in parts (Zalo's numbered lists).
    """

    channel: str
    max_text: int

    def is_group(self, chat_id: str) -> bool: ...

    async def send_text(
        self, chat_id: str, text: str, buttons: list[list[list[str]]], edit_message_id: str | None
    ) -> str:
        """Send (or edit in place) one text with its buttons; return the platform message id.

        Raises :class:`DeliveryError`.
        """
        ...

    async def clear_buttons(self, chat_id: str, message_id: str) -> None: ...

    # Files (an XLSX, a DOCX, a PNG chart) sent after a message's text. A transport whose
    # platform cannot carry them sets ``carries_files = False``: the person then gets one
    # line saying where the files can be had, instead of the files.
    carries_files: bool

    async def send_file(self, chat_id: str, file: OutgoingFile) -> str:
        """Upload one local file (``file.kind`` "document" or "photo", with its caption);
        return the platform message id. Raises :class:`DeliveryError`."""
        ...


OnUnreachable = Callable[[list[Member]], Awaitable[None]]


@dataclass
class SenderStats:
    sent: int = 0
    rate_limited: int = 0
    retried: int = 0
    ambiguous: int = 0
    failed: int = 0


class OutboxSender:
    """Sends one channel's outbox; ``wake()`` when rows were added, ``stop()`` to end."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        limits: Limits,
        clock: Clock,
        on_unreachable: OnUnreachable | None = None,
        texts: Texts | None = None,
    ) -> None:
        self._texts = texts or Texts.load()
        self._store = store
        self._transport = transport
        self._limits = limits
        self._clock = clock
        self._on_unreachable = on_unreachable
        self._limiter = RateLimiter(limits)
        self._wake = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[None]] = {}  # by chat: one send per chat at once
        self._inflight_ids: set[int] = set()
        # rows finished while the due rows were being read: the read may predate their update
        self._finished: set[int] = set()
        self._buffer: list[OutboxMessage] = []  # due rows read but not started, in order
        self._stale = True
        self._fetched_at = 0.0
        self._paused_until = 0.0
        self._stopping = False
        self.stats = SenderStats()
        self.unauthorized = False

    def wake(self) -> None:
        """Rows were added: read the outbox again."""
        self._stale = True
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        channel = self._transport.channel
        log.info("outbox sender for %s started", channel)
        try:
            while not self._stopping and not self.unauthorized:
                delay = await self._round()
                await self._sleep(delay)
        finally:
            if self._inflight:
                await asyncio.gather(*self._inflight.values(), return_exceptions=True)
            log.info("outbox sender for %s stopped", channel)

    async def drain(self, within: float = 30.0) -> None:
        """Send until nothing is due (for tests and one-off commands)."""
        async with asyncio.timeout(within):
            while True:
                delay = await self._round()
                if not self._inflight and delay >= 1.0:
                    now = self._clock.now()
                    if not await self._store.messages.due(self._transport.channel, now, 1):
                        return
                await self._sleep(min(delay, 0.05))

    async def _sleep(self, delay: float) -> None:
        self._wake.clear()
        waiters: list[Any] = [asyncio.ensure_future(self._wake.wait())]
        waiters.extend(self._inflight.values())
        await asyncio.wait(waiters, timeout=max(delay, 0.001), return_when=asyncio.FIRST_COMPLETED)
        waiters[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiters[0]

    async def _round(self) -> float:
        """Start every send that may start now; return how long to wait before the next.

        Due rows are read in batches into memory; the database is read again when rows were
        added (:meth:`wake`), when the batch is used up, and at least every second (retries).
        """
        now_mono = time.monotonic()
        if self._paused_until > now_mono:
            return self._paused_until - now_mono
        fetched: list[OutboxMessage] | None = None
        since_fetch = now_mono - self._fetched_at
        if self._stale and since_fetch < MIN_FETCH_INTERVAL and self._buffer:
            pass  # under load: new rows wait a few ms and come with the next read
        elif self._stale or not self._buffer or since_fetch > REFRESH_SECONDS:
            self._stale = False
            self._fetched_at = now_mono
            self._finished = set()
            fetched = await self._store.messages.due(
                self._transport.channel, self._clock.now(), limit=BATCH
            )
            self._buffer = [r for r in fetched if r.id not in self._inflight_ids]
        held: set[str] = set(self._inflight)
        next_delay = REFRESH_SECONDS
        waiting: list[OutboxMessage] = []
        for index, row in enumerate(self._buffer):
            if row.id in self._finished or row.id in self._inflight_ids:
                continue  # finished while the batch was being read: its row was stale
            if row.chat_id in held or len(self._inflight) >= self._limits.concurrency:
                waiting.append(row)  # keep each chat's order: nothing later for it either
                continue
            wait, global_limit = self._limiter.wait(
                row.chat_id, self._transport.is_group(row.chat_id)
            )
            if wait > 0:
                next_delay = min(next_delay, wait)
                held.add(row.chat_id)
                waiting.append(row)
                if global_limit:
                    waiting.extend(self._buffer[index + 1 :])
                    break
                continue
            slot = self._limiter.start(row.chat_id)
            held.add(row.chat_id)
            self._inflight_ids.add(row.id)
            self._inflight[row.chat_id] = asyncio.create_task(self._send(row, slot))
        self._buffer = waiting
        if self._stale:
            next_delay = min(next_delay, MIN_FETCH_INTERVAL)
        if fetched is not None and not fetched:
            retry_at = await self._store.messages.next_retry_at(self._transport.channel)
            if retry_at is not None:
                next_delay = min(
                    next_delay, max(0.0, (retry_at - self._clock.now()).total_seconds())
                )
        return next_delay

    async def _send(self, row: OutboxMessage, slot: Slot) -> None:
        try:
            await self._deliver(row, slot)
        except DeliveryError as err:
            await self._failed(row, err)
        except Exception as exc:
            log.exception("unexpected error sending outbox %d (%s)", row.id, row.idem_key)
            await self._failed(row, DeliveryError(Failure.TRANSIENT, repr(exc)))
        finally:
            slot.finish()
            self._inflight.pop(row.chat_id, None)
            self._inflight_ids.discard(row.id)
            self._finished.add(row.id)
            self._wake.set()

    async def _deliver(self, row: OutboxMessage, slot: Slot) -> None:
        """Send a row's pieces; each request holds a rate slot until it is answered."""
        transport = self._transport
        payload = row.payload
        store = self._store
        if payload.get("op") == "clear_buttons":
            try:
                await transport.clear_buttons(row.chat_id, str(payload["message_id"]))
            finally:
                slot.finish()
            await store.messages.progress(row.id, 1, None, True, self._clock.now())
            self.stats.sent += 1
            return
        buttons: list[list[list[str]]] = payload.get("buttons", [])
        text: str = payload["text"]
        render = getattr(transport, "render", None)
        if render is not None:  # no buttons on this platform: a numbered list in the text
            text, buttons = render(text, buttons), []
        parts = split_text(text, transport.max_text)
        edit_target: str | None = None
        if payload.get("edit") and len(parts) == 1:
            edit_target = payload.get(
                "edit_message_id"
            ) or await store.messages.last_platform_message(transport.channel, row.chat_id)
        files = [OutgoingFile.from_payload(f) for f in payload.get("files", [])]
        extra = self._file_pieces(files)
        total = len(parts) + len(extra)
        for index in range(row.parts_sent, total):
            if index > row.parts_sent:
                slot = await self._pace(row.chat_id)
            if index >= len(parts):  # the files (or the line saying where to get them)
                try:
                    message_id = await self._send_piece(row.chat_id, extra[index - len(parts)])
                finally:
                    slot.finish()
                done = index == total - 1
                await store.messages.progress(row.id, index + 1, message_id, done, self._now())
                self.stats.sent += 1
                continue
            last = index == len(parts) - 1
            part_buttons = buttons if last else []
            try:
                try:
                    message_id = await transport.send_text(
                        row.chat_id, parts[index], part_buttons, edit_target
                    )
                except DeliveryError as err:
                    if edit_target is None or err.failure != Failure.REJECTED:
                        raise
                    # the message to edit is gone or too old: send a new one instead
                    log.info(
                        "edit of %s in %s refused (%s); sending anew",
                        edit_target,
                        row.chat_id,
                        err.detail,
                    )
                    edit_target = None
                    slot.finish()
                    slot = await self._pace(row.chat_id)
                    message_id = await transport.send_text(
                        row.chat_id, parts[index], part_buttons, None
                    )
            finally:
                slot.finish()
            done = last and not extra
            await store.messages.progress(row.id, index + 1, message_id, done, self._clock.now())
            self.stats.sent += 1

    def _now(self) -> datetime:
        return self._clock.now()

    def _file_pieces(self, files: list[OutgoingFile]) -> list[OutgoingFile | str]:
        """What follows the text: each file, or one line where files cannot be carried.

        A file gone from the disk is replaced by a line saying so (logged), not retried.
        """
        if not files:
            return []
        if not self._transport.carries_files:
            names = ", ".join(Path(f.path).name for f in files)
            return [self._texts("files.not_carried", names=names)]
        pieces: list[OutgoingFile | str] = []
        for file in files:
            if Path(file.path).is_file():
                pieces.append(file)
            else:
                log.error("file %s to send is missing; telling the person instead", file.path)
                pieces.append(self._texts("files.missing", name=Path(file.path).name))
        return pieces

    async def _send_piece(self, chat_id: str, piece: OutgoingFile | str) -> str:
        if isinstance(piece, str):
            return await self._transport.send_text(chat_id, piece, [], None)
        return await self._transport.send_file(chat_id, piece)

    async def _pace(self, chat_id: str) -> Slot:
        """Wait for a place in the rate windows and take it."""
        is_group = self._transport.is_group(chat_id)
        while True:
            wait, _ = self._limiter.wait(chat_id, is_group)
            if wait <= 0:
                return self._limiter.start(chat_id)
            await asyncio.sleep(wait)

    async def _failed(self, row: OutboxMessage, err: DeliveryError) -> None:
        store = self._store
        now = self._clock.now()
        channel = self._transport.channel
        if err.failure == Failure.RATE_LIMITED:
            pause = err.retry_after or 1.0
            self._paused_until = max(self._paused_until, time.monotonic() + pause)
            self.stats.rate_limited += 1
            log.warning("%s asked to slow down: pausing sends for %.1f s", channel, pause)
            await store.messages.retry_later(
                row.id, now + timedelta(seconds=pause), err.detail, count=False
            )
        elif err.failure == Failure.TRANSIENT:
            if row.attempts + 1 >= self._limits.max_attempts:
                self.stats.failed += 1
                log.error(
                    "giving up on outbox %d (%s) after %d tries: %s",
                    row.id,
                    row.idem_key,
                    row.attempts + 1,
                    err.detail,
                )
                await store.messages.mark(row.id, "failed", now, err.detail)
            else:
                self.stats.retried += 1
                at = now + timedelta(seconds=self._backoff(row.attempts))
                log.warning("send of outbox %d failed (%s); retrying at %s", row.id, err.detail, at)
                await store.messages.retry_later(row.id, at, err.detail)
        elif err.failure == Failure.AMBIGUOUS:
            self.stats.ambiguous += 1
            if row.ambiguous >= 1:
                log.error(
                    "outbox %d (%s) timed out twice; not sent again (it may have arrived)",
                    row.id,
                    row.idem_key,
                )
                await store.messages.mark(row.id, "failed", now, f"ambiguous: {err.detail}")
            else:
                log.warning("send of outbox %d timed out; it may have arrived; one retry", row.id)
                at = now + timedelta(seconds=self._backoff(row.attempts))
                await store.messages.retry_later(row.id, at, err.detail, ambiguous=True)
        elif err.failure == Failure.UNAUTHORIZED:
            self.unauthorized = True
            log.error(
                "%s refused the bot token (401): the %s channel stops sending", channel, channel
            )
            await store.messages.retry_later(row.id, now, err.detail, count=False)
        else:
            self.stats.failed += 1
            log.warning(
                "outbox %d (%s) to %s refused: %s", row.id, row.idem_key, row.chat_id, err.detail
            )
            await store.messages.mark(row.id, "failed", now, err.detail)
            if err.failure == Failure.BLOCKED:
                members = await store.members.mark_unreachable(channel, row.chat_id, now)
                if members and self._on_unreachable is not None:
                    await self._on_unreachable(members)

    def _backoff(self, attempts: int) -> float:
        base = min(self._limits.backoff_cap, self._limits.backoff * float(2**attempts))
        return base * random.uniform(0.5, 1.5)
