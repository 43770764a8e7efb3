"""Telegram bench: a bare PTB echo bot against the service, an alert fan-out, the service on Zalo.

Run from the repository root::

    python -m bench.telegram [--reporters N] [--fanout M] [--no-postgres] [--pg-limited]
                             [--parts abcdz] [--verbose]

Every part runs in this one process against one fake Bot API server
(``tests.fake_telegram.FakeBotApi``, started here), whose limits are set per part and printed:

(a) a bare PTB ``Application`` (its defaults: one update at a time) echoing text, driven by N
    users who each send the 7 messages of a weekly report, each waiting for the echo before
    the next; with the limits off, the same bot with ``concurrent_updates=256`` too, (a');
(b) the service (``bot.service.serve``, as ``sitrep run`` runs it) on a fresh SQLite file, N
    reporters each typing a whole weekly report with an issue, each waiting for the answer;
(c) (b) on PostgreSQL (database ``bench``, its ``public`` schema dropped and recreated);
(d) an urgent alert fanned out to M members through the outbox, against the enforced default
    limits (30/s overall, 1/s per chat), with the service's default limits;
(z) (b) over Zalo: the same N reporters typing the same messages, against a fake Zalo Bot API
    (``tests.fake_zalo.FakeZaloApi``, a fresh one per run), the service with only its Zalo
    channel on, on SQLite (and on PostgreSQL too when (c) runs). See ``bench/zalo_part.py``.

(a), (b) and (z) run twice: with the limits off (processing capacity; the headline is (b)/(a)
in updates/s) and with 30/s overall and 100/s per chat on both sides; (c) runs with the limits
off (and with 30/s too with --pg-limited). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import (
    AsyncIterator,
    Callable,
    Coroutine,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import telegram
from sqlalchemy import func, select, text
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application, BaseRateLimiter, ContextTypes, MessageHandler, filters

import bot.service
from bench import zalo_part as zalo
from bot.app import App, opened
from bot.channels.telegram import TelegramChannel
from bot.config import Config, load_config
from bot.outbox import Limits, SenderStats
from bot.rate_limits import RateLimiter
from bot.service import serve
from handlers.drafting import ALERT_PRIORITY
from handlers.invitations import hash_code, issue
from handlers.messages import Button, Outgoing, Reply
from storage.database import create_engine, session_factory
from storage.models import IdentityRow, MemberRow, ReportRow, UnitRow
from storage.records import Role
from storage.repositories.units import NewUnit
from tests.fake_telegram import Call, FakeBotApi

log = logging.getLogger("bench.telegram")

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.toml"
TOKEN = "123456:BENCH-token"
PG_URL = "postgresql://postgres@127.0.0.1:5432/bench"
PG_DATABASE = "bench"

#: What answers a message (the user waits for one of these in the chat).
ANSWERS = frozenset({"sendMessage", "editMessageText"})
#: What counts as a bot message in a chat, per report.
BOT_MESSAGES = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})
#: Methods the echo bot paces (the fake counts them against its limits).
PACED = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})

#: A weekly report with an issue, typed: what the reporter types, and a piece of the answer
#: (handlers/texts.vi.toml) that tells the answer has come.
WEEKLY: tuple[tuple[str, str], ...] = (
    ("/baocao", "Tuần này tình hình thế nào?"),
    ("co viec", "Việc thuộc lĩnh vực nào?"),
    ("dat dai", "✔ Đất đai"),
    ("tiep", "xin mô tả ngắn"),
    ("Tranh chap dat giua 2 ho, khoang 30 nguoi", "Mức độ?"),
    ("2", "cần chú ý"),
    ("gui", "Đã ghi nhận báo cáo #"),
)
#: The echo bot gets the same texts; its answer is the text itself.
ECHO: tuple[tuple[str, str], ...] = tuple((said, said) for said, _ in WEEKLY)

ALERT_TEXT = (
    "🚨 KHẨN — Thôn {n} (bench), Xã Đồng Văn, 09:42 25/11\n"
    "Đất đai · khoảng 50 người\n"
    '"Khoang 50 nguoi keo len UBND xa"\n'
    "Người báo: Trưởng thôn (bench)\n"
    "Báo cáo #1."
)

# Telegram user ids: one range per part, so that no chat is shared between parts. (z) numbers
# its Zalo users the same way (each run has its own fake Zalo server and database anyway).
ECHO_USERS, SERVICE_USERS, FANOUT_USERS = 1_000_000, 2_000_000, 5_000_000
ZALO_USERS = 3_000_000


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """The fake's limits and the service's sending settings for a group of parts."""

    name: str
    enforce: bool
    global_per_second: int | None
    private_per_second: int | None
    service_env: Mapping[str, str]
    fake_text: str

    def limits(self) -> Limits:
        """The service's limits in this setting (config.toml with the overrides)."""
        return load_config(dict(self.service_env), CONFIG).telegram.limits

    def describe(self) -> str:
        limits = self.limits()
        overrides = ", ".join(f"{k}={v}" for k, v in self.service_env.items()) or "none"
        return (
            f"fake: {self.fake_text}; service: {limits.per_second:g}/s overall, "
            f"{limits.chat_per_second:g}/s per chat, margin {limits.margin:g} s, outbox "
            f"concurrency {limits.concurrency} (env overrides: {overrides})"
        )


UNLIMITED = Setting(
    "unlimited",
    enforce=False,
    global_per_second=None,
    private_per_second=None,
    service_env={
        "SITREP_TELEGRAM_RATE_PER_SECOND": "100000",
        "SITREP_TELEGRAM_RATE_CHAT_PER_SECOND": "100000",
        "SITREP_OUTBOX_CONCURRENCY": "64",
    },
    fake_text="limits off (enforce_limits=False)",
)
LIMITED = Setting(
    "30/s",
    enforce=True,
    global_per_second=30,
    private_per_second=100,
    service_env={
        "SITREP_TELEGRAM_RATE_PER_SECOND": "30",
        "SITREP_TELEGRAM_RATE_CHAT_PER_SECOND": "100",
    },
    fake_text="30/s overall, 100/s per chat, 429 beyond",
)
DEFAULTS = Setting(
    "defaults",
    enforce=True,
    global_per_second=30,
    private_per_second=1,
    service_env={},
    fake_text="its defaults, 30/s overall, 1/s per chat, 429 beyond",
)


async def apply(api: FakeBotApi, setting: Setting) -> None:
    """Set the fake's limits, then wait until the sends of the part before are out of its
    one-second windows (it counts every send, limits on or off)."""
    api.enforce_limits = setting.enforce
    api.global_per_second = setting.global_per_second
    api.private_per_second = setting.private_per_second
    await asyncio.sleep(1.1)


def service_config(
    api: FakeBotApi, database_url: str, workdir: Path, env: Mapping[str, str]
) -> Config:
    values = {
        "SITREP_DATABASE_URL": database_url,
        "SITREP_GENERAL_MEDIA_DIR": str(workdir / "media"),
        "SITREP_TELEGRAM_TOKEN": TOKEN,
        "SITREP_TELEGRAM_API_URL": api.url,
        "SITREP_TELEGRAM_POLL_TIMEOUT": "1",
        **env,
    }
    return load_config(values, CONFIG)


# --- results ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Run:
    """One measured part."""

    setting: str
    part: str
    users: int
    updates: int = 0  # answered
    seconds: float = 0.0  # first update queued -> last answer received
    latencies: list[float] = field(default_factory=list)
    failed_users: int = 0
    rate_limited: int = 0  # 429s the fake gave during the part
    bot_messages: int | None = None  # sendMessage + editMessageText + editMessageReplyMarkup
    send_messages: int | None = None
    reports: int | None = None
    lost: int | None = None  # answers that never came (users x steps - answered)
    duplicated: int | None = None  # the same bot message to the same chat again
    notes: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else math.nan

    def per_report(self, count: int | None) -> str:
        if count is None or not self.reports:
            return "-"
        return f"{count / self.reports:.2f}"

    def row(self) -> list[str]:
        ms = [percentile(self.latencies, p) * 1000 for p in (50, 95, 99)]
        return [
            self.part,
            str(self.users),
            str(self.updates),
            f"{self.seconds:.1f}",
            f"{self.per_second:.1f}",
            *(f"{v:.0f}" for v in ms),
            self.per_report(self.bot_messages),
            self.per_report(self.send_messages),
            "-" if self.reports is None else str(self.reports),
            str(self.rate_limited),
            "-" if self.lost is None else str(self.lost),
            "-" if self.duplicated is None else str(self.duplicated),
            str(self.failed_users),
        ]


HEADER = [
    "part",
    "users",
    "updates",
    "s",
    "updates/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "bot msgs/report",
    "sendMessage/report",
    "reports",
    "429s",
    "lost",
    "dup",
    "failed",
]


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells)

    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *(line(r) for r in rows)])


@dataclass
class Fanout:
    members: int
    setup_seconds: float = 0.0
    deliver_seconds: float = 0.0
    sends: int = 0
    chats_reached: int = 0
    span: float = 0.0  # first send -> last send
    rate_limited: int = 0
    ceiling: float = 0.0  # what a window of 1 s + margin allows at most
    configured: float = 30.0
    stats: SenderStats = field(default_factory=SenderStats)
    finished: bool = False

    @property
    def rate(self) -> float:
        """sends / (last send - first send), as asked."""
        return self.sends / self.span if self.span > 0 else math.nan

    @property
    def steady_rate(self) -> float:
        """The same without the first window's burst (a sliding window lets the first
        ``configured`` sends go at once, so sends / span overstates a short run)."""
        burst = int(self.configured)
        return (self.sends - burst) / self.span if self.span > 0 else math.nan

    @property
    def lost(self) -> int:
        return self.members - self.chats_reached

    @property
    def duplicated(self) -> int:
        return self.sends - self.chats_reached


# --- following what the bot sends -------------------------------------------------------------


class Watcher:
    """Reads the fake's recorded calls as they come and wakes the user waiting for an answer.

    One task reads ``api.calls`` (instead of every simulated user scanning it); a user
    registers what it waits for before sending, and gets the ``Call.time`` of the answer.
    """

    def __init__(self, api: FakeBotApi) -> None:
        self._api = api
        self._cursor = len(api.calls)
        self._waits: dict[int, tuple[str, asyncio.Future[float]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bench-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def expect(self, chat: int, marker: str) -> asyncio.Future[float]:
        """The time of the next sendMessage/editMessageText to ``chat`` containing ``marker``."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waits[chat] = (marker, future)
        return future

    def forget(self, chat: int) -> None:
        self._waits.pop(chat, None)

    async def _run(self) -> None:
        api = self._api
        while True:
            await api.wait_until(lambda: len(api.calls) > self._cursor, timeout=86400)
            calls = api.calls
            end = len(calls)
            for call in calls[self._cursor : end]:
                self._see(call)
            self._cursor = end

    def _see(self, call: Call) -> None:
        if call.method not in ANSWERS or not isinstance(call.chat_id, int):
            return
        wait = self._waits.get(call.chat_id)
        if wait is None:
            return
        marker, future = wait
        if marker in (call.text or "") and not future.done():
            future.set_result(call.time)
            del self._waits[call.chat_id]


async def drive(
    api: FakeBotApi,
    watcher: Watcher,
    users: Sequence[int],
    steps: Sequence[tuple[str, str]],
    run: Run,
    step_timeout: float,
) -> None:
    """All users at once, each sending its next message only once the last one was answered."""
    first = math.inf
    last = -math.inf

    async def one(user: int) -> None:
        nonlocal first, last
        for said, marker in steps:
            answer = watcher.expect(user, marker)
            queued = time.monotonic()
            api.send_text(user, said)
            try:
                at = await asyncio.wait_for(answer, step_timeout)
            except TimeoutError:
                watcher.forget(user)
                run.failed_users += 1
                log.error(
                    "%s: user %d got no answer containing %r to %r within %.0f s",
                    run.part,
                    user,
                    marker,
                    said,
                    step_timeout,
                )
                return
            run.latencies.append(at - queued)
            run.updates += 1
            first = min(first, queued)
            last = max(last, at)

    await asyncio.gather(*(one(user) for user in users))
    run.seconds = last - first if run.updates else 0.0
    run.lost = len(users) * len(steps) - run.updates


def repeated(messages: Iterable[Hashable]) -> int:
    """How many of ``messages`` (each a chat with what was sent there) came again."""
    seen: set[Hashable] = set()
    again = 0
    for message in messages:
        if message in seen:
            again += 1
        seen.add(message)
    return again


async def drain_updates(api: FakeBotApi) -> None:
    """Confirm updates a stopped poller left behind, so that the next part does not get them."""
    pending = api.pending_updates
    if not pending:
        return
    log.warning("%d updates left unconfirmed by the last poller; dropping them", len(pending))
    offset = max(int(u.get("update_id", 0)) for u in pending) + 1
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{api.url}/bot{api.token}/getUpdates?offset={offset}&timeout=0") as resp,
    ):
        await resp.read()


async def quiet_poller(api: FakeBotApi) -> None:
    """Wait (briefly) until no long poll of an earlier part is still open."""
    with contextlib.suppress(TimeoutError):
        await api.wait_until(lambda: not api.polling, timeout=5)


# --- (a) the bare PTB echo bot ----------------------------------------------------------------


class PacedLimiter(BaseRateLimiter[None]):
    """For the echo bot under enforced limits: the service's own pacing
    (``bot.rate_limits.RateLimiter``, same limits and margin) around each send, and a 429 waited
    out and retried (as often as it comes: no echo is lost).

    With a limiter that dates a send by its answer (``start(chat)`` returning a slot that is
    ``finish()``-ed when the call returns) the slot is held during the call, as the outbox
    sender does; with one that only has ``record(chat)``, the send is counted at its start.
    """

    def __init__(self, limits: Limits) -> None:
        self._limiter = RateLimiter(limits)
        self.retries = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint not in PACED:
            return await callback(*args, **kwargs)
        chat = str(data.get("chat_id", ""))
        while True:
            await self._pace(chat)
            start: Any = getattr(self._limiter, "start", None)
            slot: Any = start(chat) if start is not None else None
            if slot is None:
                self._limiter.record(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.retries += 1
                await asyncio.sleep(retry_seconds(exc))
            finally:
                if slot is not None:
                    slot.finish()

    async def _pace(self, chat: str) -> None:
        while True:
            wait, _ = self._limiter.wait(chat, chat.startswith("-"))
            if wait <= 0:
                return
            await asyncio.sleep(wait)


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text is not None:
        await context.bot.send_message(message.chat_id, message.text)


async def echo_part(
    api: FakeBotApi, watcher: Watcher, setting: Setting, users: Sequence[int], concurrent: bool
) -> Run:
    await apply(api, setting)
    await quiet_poller(api)
    limits = setting.limits()
    label = "(a') PTB echo, concurrent_updates=256" if concurrent else "(a) PTB echo (default)"
    run = Run(setting.name, label, len(users))
    limiter = PacedLimiter(limits) if setting.enforce else None
    builder = (
        Application.builder()
        .token(api.token)
        .base_url(f"{api.url}/bot")
        .base_file_url(f"{api.url}/file/bot")
        .concurrent_updates(256 if concurrent else False)
        .connection_pool_size(max(8, limits.concurrency * 2))  # as the service's
        .pool_timeout(30)
    )
    if limiter is not None:
        app = builder.rate_limiter(limiter).build()
    else:
        app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    start, refused = len(api.calls), api.rate_limited
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await api.wait_until(lambda: api.polling, timeout=30)
        await drive(api, watcher, users, ECHO, run, step_timeout(setting, len(users)))
        await app.updater.stop()
        await app.stop()
    await drain_updates(api)
    run.rate_limited = api.rate_limited - refused
    chats = set(users)
    sends = [c for c in api.calls[start:] if c.method == "sendMessage" and c.chat_id in chats]
    run.send_messages = len(sends)
    run.duplicated = repeated((c.chat_id, c.text) for c in sends)
    if limiter is not None:
        run.notes.append(
            f"echo bot paced like the service (bot.outbox.RateLimiter, {limits.per_second:g}/s, "
            f"margin {limits.margin:g} s); 429s retried: {limiter.retries}"
        )
    return run


def step_timeout(setting: Setting, users: int) -> float:
    """How long one user waits for one answer before giving up."""
    if not setting.enforce:
        return 60.0
    return 60.0 + users / 10


# --- the service ------------------------------------------------------------------------------


@dataclass
class Captured:
    """The running service's App and TelegramChannel (observed, nothing replaced)."""

    app: App | None = None
    channel: TelegramChannel | None = None


@contextlib.contextmanager
def capturing(captured: Captured) -> Iterator[None]:
    """Let ``serve`` build its App and channel as usual, and keep a reference to them."""
    service: Any = bot.service  # its module attributes are swapped for the run, then restored
    real_opened = service.opened
    real_channel: type[TelegramChannel] = service.TelegramChannel

    @contextlib.asynccontextmanager
    async def observed_opened(config: Config, clock: Any = None) -> AsyncIterator[App]:
        async with real_opened(config, clock) as app:
            captured.app = app
            yield app

    class ObservedChannel(real_channel):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            captured.channel = self

    service.opened = observed_opened
    service.TelegramChannel = ObservedChannel
    try:
        yield
    finally:
        service.opened = real_opened
        service.TelegramChannel = real_channel


@contextlib.asynccontextmanager
async def running(api: FakeBotApi, config: Config) -> AsyncIterator[Captured]:
    """``serve(config)`` in a task until the block ends: then the stop event, and await it."""
    captured = Captured()
    await quiet_poller(api)
    stop = asyncio.Event()
    with capturing(captured):
        task = asyncio.create_task(serve(config, stop=stop), name="sitrep-serve")
        try:
            await api.wait_until(
                lambda: task.done() or (api.polling and captured.channel is not None), timeout=60
            )
            if task.done():
                raise RuntimeError(f"the service stopped at start-up (status {task.result()})")
            yield captured
        finally:
            stop.set()
            status = await asyncio.wait_for(task, 60)
            if status != 0:
                log.error("the service ended with status %d", status)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):  # serve() set them on the loop
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
    await drain_updates(api)


async def make_reporters(
    config: Config,
    count: int,
    first_user: int,
    bulk: bool = False,
    channel: str = "telegram",
    ident: Callable[[int], str] = str,
) -> dict[int, int]:
    """A commune with ``count`` villages and a reporter in each, created in the database
    directly: each with an invitation issued and redeemed, as tests/test_telegram_crash.py
    does, or (``bulk``) the member and identity rows inserted in one transaction. The identity
    is on ``channel``, with ``ident(user)`` as its user id and chat id (a private chat); Telegram
    by default. Returns member id by user number."""
    now = datetime.now(UTC)
    members: dict[int, int] = {}
    async with opened(config) as app:
        units = [
            NewUnit("08", "Tỉnh Tuyên Quang", "province", None, "tinh tuyen quang"),
            NewUnit("721", "Xã Đồng Văn", "commune", "08", "xa dong van"),
        ]
        codes = [f"721-{n:05d}" for n in range(1, count + 1)]
        if bulk:
            await app.store.units.upsert_many(units)
            return await insert_reporters(app, codes, first_user, now, channel, ident)
        units += [
            NewUnit(code, f"Thôn {n}", "village", "721", f"thon {n}")
            for n, code in enumerate(codes, start=1)
        ]
        await app.store.units.upsert_many(units)
        villages = await app.store.units.codes(codes)
        for n, code in enumerate(codes, start=1):
            issued = await issue(
                app.store,
                config.domain,
                role=Role.REPORTER,
                unit=villages[code],
                uses=1,
                valid_for=timedelta(days=1),
                now=now,
            )
            user = first_user + n
            member = await app.store.members.redeem(
                hash_code(issued.code), channel, ident(user), ident(user), f"Reporter {n}", now
            )
            assert member is not None
            members[user] = member.id
    return members


async def insert_reporters(
    app: App,
    codes: Sequence[str],
    first_user: int,
    now: datetime,
    channel: str = "telegram",
    ident: Callable[[int], str] = str,
) -> dict[int, int]:
    """Villages under the commune 721 and a reporter in each, rows inserted directly (what
    upsert_many and redeem would write, in far fewer statements)."""
    async with session_factory(app.store.engine).begin() as session:
        commune = await session.scalar(select(UnitRow).where(UnitRow.code == "721"))
        assert commune is not None
        villages = [
            UnitRow(
                code=code,
                name=f"Thôn {n}",
                level="village",
                parent_id=commune.id,
                path="",
                search_name=f"thon {n}",
            )
            for n, code in enumerate(codes, start=1)
        ]
        session.add_all(villages)
        await session.flush()
        for village in villages:
            village.path = f"{commune.path}{village.id}/"
        await session.flush()
        village_ids = [village.id for village in villages]
        rows = [
            MemberRow(
                display_name=f"Reporter {n}",
                role=Role.REPORTER.value,
                unit_id=unit_id,
                active=True,
                created_at=now,
            )
            for n, unit_id in enumerate(village_ids, start=1)
        ]
        session.add_all(rows)
        await session.flush()
        members = {first_user + n: row.id for n, row in enumerate(rows, start=1)}
        session.add_all(
            IdentityRow(
                member_id=member_id,
                channel=channel,
                user_id=ident(user),
                chat_id=ident(user),
                display_name=f"Reporter {user - first_user}",
                created_at=now,
                last_seen_at=now,
                unreachable_at=None,
            )
            for user, member_id in members.items()
        )
    return members


async def settle(app: App, within: float = 30.0, channel: str = "telegram") -> None:
    """Wait until nothing is pending in the outbox of ``channel``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while (await app.store.messages.status_counts(channel)).get("pending", 0):  # noqa: ASYNC110
                await asyncio.sleep(0.1)


async def count_reports(app: App) -> int:
    async with app.store.engine.connect() as conn:
        return int(await conn.scalar(select(func.count(ReportRow.id))) or 0)


async def service_part(
    api: FakeBotApi,
    watcher: Watcher,
    setting: Setting,
    users: Sequence[int],
    database_url: str,
    label: str,
    workdir: Path,
) -> Run:
    await apply(api, setting)
    config = service_config(api, database_url, workdir, setting.service_env)
    if database_url.startswith("postgresql"):
        await reset_postgres(database_url)
    first_user = users[0] - 1
    await make_reporters(config, len(users), first_user)
    run = Run(setting.name, f"{label} sitrep serve(), {config_db(database_url)}", len(users))
    start, refused = len(api.calls), api.rate_limited
    async with running(api, config) as captured:
        assert captured.app is not None and captured.channel is not None
        await drive(api, watcher, users, WEEKLY, run, step_timeout(setting, len(users)))
        await settle(captured.app)
        run.reports = await count_reports(captured.app)
        stats = dataclasses.replace(captured.channel.sender.stats)
    run.rate_limited = api.rate_limited - refused
    chats = set(users)
    calls = [c for c in api.calls[start:] if c.chat_id in chats]
    run.bot_messages = sum(1 for c in calls if c.method in BOT_MESSAGES)
    run.send_messages = sum(1 for c in calls if c.method == "sendMessage")
    run.duplicated = repeated(
        (c.chat_id, c.method, c.text) for c in calls if c.method in BOT_MESSAGES
    )
    if run.reports != len(users):
        run.notes.append(f"ONLY {run.reports} OF {len(users)} REPORTS STORED")
    run.notes.append(
        f"outbox sender: sent {stats.sent}, 429s {stats.rate_limited}, retried {stats.retried}, "
        f"failed {stats.failed}"
    )
    return run


def config_db(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


# --- (z) the service over Zalo ----------------------------------------------------------------


async def zalo_service_part(
    setting: Setting, users: Sequence[int], database_url: str, workdir: Path
) -> Run:
    """(b) over Zalo: the same reporters, created the same way but with a Zalo identity (a
    string id; chat id = user id), typing the same messages to a fresh fake Zalo Bot API whose
    limits are the setting's; the service runs with only its Zalo channel on."""
    per_second = setting.global_per_second if setting.enforce else None
    per_chat = setting.private_per_second if setting.enforce else None
    async with zalo.fake_zalo(per_second, per_chat) as api:
        config = zalo.zalo_config(api, database_url, workdir, setting.service_env, CONFIG)
        if database_url.startswith("postgresql"):
            await reset_postgres(database_url)
        first_user = users[0] - 1
        await make_reporters(config, len(users), first_user, channel="zalo", ident=zalo.zalo_user)
        names = {zalo.zalo_user(user): f"Reporter {user - first_user}" for user in users}
        api.known_chats.update(names)  # they write first anyway; sendMessage needs a seen chat
        run = Run(setting.name, f"(z) sitrep serve(), Zalo, {config_db(database_url)}", len(users))
        watcher = zalo.ZaloWatcher(api)
        watcher.start()
        start = len(api.calls)
        try:
            async with zalo.running(api, config) as captured:
                assert captured.app is not None and captured.channel is not None
                timeout = step_timeout(setting, len(users))
                await zalo.drive(api, watcher, names, WEEKLY, run, timeout)
                await settle(captured.app, channel="zalo")
                run.reports = await count_reports(captured.app)
                stats = dataclasses.replace(captured.channel.sender.stats)
        finally:
            await watcher.stop()
        run.rate_limited = api.rate_limited
        calls = zalo.sent_to(api, start, set(names))
        run.bot_messages = len(calls)
        run.send_messages = sum(1 for c in calls if c.method == "sendMessage")
        run.duplicated = repeated((c.chat_id, c.method, c.text) for c in calls)
        refused = [c for c in api.rejected[:] if c.error_code != 429]
        fake = (
            f"{per_second:g}/s overall, {per_chat:g}/s per chat (token buckets), 429 beyond"
            if per_second is not None and per_chat is not None
            else "no limits"
        )
        run.notes.append(zalo.describe(fake, config.zalo.limits, setting.service_env))
    if run.reports != len(users):
        run.notes.append(f"ONLY {run.reports} OF {len(users)} REPORTS STORED")
    if refused:
        run.notes.append(
            f"the fake refused {len(refused)} calls besides 429s, e.g. "
            f"{refused[0].method} {refused[0].error_code} {refused[0].description}"
        )
    run.notes.append(
        f"outbox sender: sent {stats.sent}, 429s {stats.rate_limited}, retried {stats.retried}, "
        f"failed {stats.failed}; getUpdates answered {api.poll_timeouts} times with 408"
    )
    return run


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_up() -> bool:
    if shutil.which("pg_isready") is None:
        return False
    done = subprocess.run(
        ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False, timeout=10
    )
    return done.returncode == 0


def ensure_database() -> None:
    """createdb bench (an existing one is fine)."""
    if shutil.which("createdb") is None:
        return
    done = subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_DATABASE],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0 and "already exists" not in done.stderr:
        raise RuntimeError(f"createdb {PG_DATABASE} failed: {done.stderr.strip()}")


async def reset_postgres(url: str) -> None:
    """Drop and recreate the public schema of the bench database (only that one)."""
    assert url == PG_URL, "the bench only ever resets its own database"
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


# --- (d) the alert fan-out --------------------------------------------------------------------


async def fanout_part(api: FakeBotApi, members_wanted: int, workdir: Path) -> Fanout:
    await apply(api, DEFAULTS)
    config = service_config(api, f"sqlite:///{workdir / 'fanout.db'}", workdir, {})
    limits = config.telegram.limits
    result = Fanout(members_wanted, configured=limits.per_second)
    result.ceiling = int(limits.per_second) / (1.0 + limits.margin)
    began = time.perf_counter()
    members = await make_reporters(config, members_wanted, FANOUT_USERS, bulk=True)
    result.setup_seconds = time.perf_counter() - began
    chats = set(members)
    start, refused = len(api.calls), api.rate_limited
    reached: set[int] = set()
    cursor = start

    def count_new() -> None:
        nonlocal cursor
        calls = api.calls
        end = len(calls)
        for call in calls[cursor:end]:
            if call.method == "sendMessage" and isinstance(call.chat_id, int):
                if call.chat_id in chats:
                    reached.add(call.chat_id)
        cursor = end

    async with running(api, config) as captured:
        assert captured.app is not None and captured.channel is not None
        app = captured.app
        buttons = ((Button("🔎 Xem chi tiết", "/xem 1"),),)
        alerts = [
            Outgoing(
                f"bench-alert:1:{member_id}",
                member_id,
                Reply(ALERT_TEXT.format(n=n), buttons),
                priority=ALERT_PRIORITY,
            )
            for n, member_id in enumerate(members.values(), start=1)
        ]
        began = time.perf_counter()
        await app.engine.deliver(alerts)
        result.deliver_seconds = time.perf_counter() - began
        deadline = time.monotonic() + members_wanted / limits.per_second * 2 + 60
        shown = time.monotonic()
        while time.monotonic() < deadline:
            count_new()
            if len(reached) >= members_wanted:
                counts = await app.store.messages.status_counts("telegram")
                if not counts.get("pending", 0):
                    result.finished = True
                    break
            if time.monotonic() - shown >= 15:
                shown = time.monotonic()
                print(
                    f"  (d) fan-out: {len(reached)}/{members_wanted} chats reached, "
                    f"{api.rate_limited - refused} 429s so far",
                    file=sys.stderr,
                    flush=True,
                )
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # a late second send of a finished row would show here
        count_new()
        result.stats = dataclasses.replace(captured.channel.sender.stats)
    sends = [c for c in api.calls[start:] if c.method == "sendMessage" and c.chat_id in chats]
    result.sends = len(sends)
    result.chats_reached = len({c.chat_id for c in sends})
    if sends:
        result.span = max(c.time for c in sends) - min(c.time for c in sends)
    result.rate_limited = api.rate_limited - refused
    return result


# --- the whole bench --------------------------------------------------------------------------


def print_part(run: Run) -> None:
    print(
        f"  done: [{run.setting}] {run.part}: {run.updates} updates in {run.seconds:.1f} s "
        f"= {run.per_second:.1f}/s, p50 {percentile(run.latencies, 50) * 1000:.0f} ms",
        file=sys.stderr,
        flush=True,
    )


def ratio(top: Run | None, bottom: Run | None) -> str:
    if top is None or bottom is None or not bottom.per_second or math.isnan(top.per_second):
        return "n/a"
    return f"{top.per_second / bottom.per_second:.2f}"


async def bench(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    users_a = [ECHO_USERS + n for n in range(1, args.reporters + 1)]
    parts = set(args.parts)
    use_pg = "c" in parts and not args.no_postgres and postgres_up()
    if use_pg:
        ensure_database()
    runs: dict[tuple[str, str], Run] = {}
    fan: Fanout | None = None
    with tempfile.TemporaryDirectory(prefix="sitrep-bench-") as tmp:
        workdir = Path(tmp)
        async with FakeBotApi(token=TOKEN) as api:
            watcher = Watcher(api)
            watcher.start()
            try:
                settings = [UNLIMITED, LIMITED]
                for index, setting in enumerate(settings):
                    base = SERVICE_USERS + index * 100_000
                    users_b = [base + n for n in range(1, args.reporters + 1)]
                    users_c = [base + 50_000 + n for n in range(1, args.reporters + 1)]
                    zbase = ZALO_USERS + index * 100_000
                    users_z = [zbase + n for n in range(1, args.reporters + 1)]
                    users_zc = [zbase + 50_000 + n for n in range(1, args.reporters + 1)]
                    # the bare bot (PTB's default: one update at a time) is (a); with limits
                    # off, the same bot with concurrent_updates is measured too (a')
                    echoes = [False, True] if setting is UNLIMITED else [False]
                    for concurrent in echoes if "a" in parts else []:
                        run = await echo_part(api, watcher, setting, users_a, concurrent)
                        runs[(setting.name, "a'" if concurrent else "a")] = run
                        print_part(run)
                    if "b" in parts:
                        db = workdir / f"service-{index}.db"
                        run = await service_part(
                            api, watcher, setting, users_b, f"sqlite:///{db}", "(b)", workdir
                        )
                        runs[(setting.name, "b")] = run
                        print_part(run)
                    if use_pg and (setting is UNLIMITED or args.pg_limited):
                        run = await service_part(
                            api, watcher, setting, users_c, PG_URL, "(c)", workdir
                        )
                        runs[(setting.name, "c")] = run
                        print_part(run)
                    if "z" in parts:
                        db = workdir / f"zalo-{index}.db"
                        run = await zalo_service_part(setting, users_z, f"sqlite:///{db}", workdir)
                        runs[(setting.name, "z")] = run
                        print_part(run)
                    if "z" in parts and use_pg and (setting is UNLIMITED or args.pg_limited):
                        run = await zalo_service_part(setting, users_zc, PG_URL, workdir)
                        runs[(setting.name, "z-pg")] = run
                        print_part(run)
                if args.fanout > 0 and "d" in parts:
                    print(
                        f"  (d) fan-out to {args.fanout} members: about "
                        f"{args.fanout / 30:.0f} s of sending at 30/s",
                        file=sys.stderr,
                        flush=True,
                    )
                    fan = await fanout_part(api, args.fanout, workdir)
            finally:
                await watcher.stop()
            report(args, api, runs, fan, use_pg, time.perf_counter() - started)
    bad = any(
        r.failed_users or (r.reports is not None and r.reports != r.users) for r in runs.values()
    )
    return 1 if bad or (fan is not None and not fan.finished) else 0


def report(
    args: argparse.Namespace,
    api: FakeBotApi,
    runs: dict[tuple[str, str], Run],
    fan: Fanout | None,
    use_pg: bool,
    elapsed: float,
) -> None:
    out: list[str] = []
    say = out.append
    say("")
    say(
        f"sitrep Telegram bench — {args.reporters} users × {len(WEEKLY)} messages each, "
        f"fan-out to {args.fanout} — {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, python-telegram-bot {telegram.__version__}"
    )
    say(
        f"One fake Bot API (tests.fake_telegram.FakeBotApi at {api.url}) and everything else "
        "in this process, on one event loop."
    )
    if "z" in args.parts:
        say(
            "(z): a fresh fake Zalo Bot API (tests.fake_zalo.FakeZaloApi) per run, in this "
            "process too; the service with its Zalo channel only; the same messages as (b)."
        )
    say(
        "updates/s = answered updates / (first update queued -> last answer received); "
        "latency = update queued at the fake -> the fake receives its answer."
    )
    if not use_pg:
        say("(c) PostgreSQL: skipped (--no-postgres, or pg_isready says the server is not up).")
    for setting in (UNLIMITED, LIMITED):
        rows = [r for (name, _), r in runs.items() if name == setting.name]
        if not rows:
            continue
        say("")
        say(f"Setting {setting.name!r} — {setting.describe()}")
        say(table([r.row() for r in rows]))
        for run in rows:
            for note in run.notes:
                say(f"  {run.part}: {note}")
    unl_a, unl_b = runs.get(("unlimited", "a")), runs.get(("unlimited", "b"))
    say("")
    say("Ratios (updates/s, measured in this run):")
    verdict = ""
    if unl_a is not None and unl_b is not None:
        value = unl_b.per_second / unl_a.per_second
        verdict = "meets" if value >= 0.5 else "BELOW"
        say(
            f"  HEADLINE, limits off: (b)/(a) = {unl_b.per_second:.1f} / {unl_a.per_second:.1f} "
            f"= {value:.2f}  ({verdict} the target of 0.5)"
        )
    say(f"  limits off: (c)/(a) = {ratio(runs.get(('unlimited', 'c')), unl_a)}")
    conc = runs.get(("unlimited", "a'"))
    say(
        "  limits off, against the echo bot with concurrent_updates=256: "
        f"(b)/(a') = {ratio(unl_b, conc)}, (c)/(a') = {ratio(runs.get(('unlimited', 'c')), conc)}"
    )
    say(
        "  30/s: (b)/(a) = "
        f"{ratio(runs.get(('30/s', 'b')), runs.get(('30/s', 'a')))} (both bounded by the limit)"
    )
    if any(part.startswith("z") for _, part in runs):
        say(
            "  Zalo/Telegram, limits off: (z)/(b) = "
            f"{ratio(runs.get(('unlimited', 'z')), unl_b)} on SQLite, (z)/(c) = "
            f"{ratio(runs.get(('unlimited', 'z-pg')), runs.get(('unlimited', 'c')))} on PostgreSQL"
        )
        say(
            "  Zalo/Telegram, 30/s: (z)/(b) = "
            f"{ratio(runs.get(('30/s', 'z')), runs.get(('30/s', 'b')))} on SQLite"
            + (
                f", (z)/(c) = {ratio(runs.get(('30/s', 'z-pg')), runs.get(('30/s', 'c')))}"
                " on PostgreSQL"
                if args.pg_limited
                else ""
            )
        )
    if fan is not None:
        say("")
        say(
            f"(d) alert fan-out, SQLite, {fan.members} members (one reporter per village), "
            f"Engine.deliver -> outbox — {DEFAULTS.describe()}"
        )
        say(
            f"  members created in {fan.setup_seconds:.1f} s; Engine.deliver of {fan.members} "
            f"alerts took {fan.deliver_seconds:.1f} s"
        )
        fraction = fan.rate / fan.configured
        say(
            f"  sends: {fan.sends} in {fan.span:.1f} s (first -> last) = {fan.rate:.2f}/s = "
            f"{fraction:.3f} of the configured {fan.configured:g}/s "
            f"({'meets' if fraction >= 0.95 else 'BELOW'} 0.95); the limiter's window "
            f"(1 s + margin) allows at most {fan.ceiling:.2f}/s = "
            f"{fan.ceiling / fan.configured:.3f}"
        )
        say(
            f"  without the first window's burst: ({fan.sends} - {int(fan.configured)}) / "
            f"{fan.span:.1f} s = {fan.steady_rate:.2f}/s = "
            f"{fan.steady_rate / fan.configured:.3f} of {fan.configured:g}/s"
        )
        say(
            f"  429s: {fan.rate_limited}   lost: {fan.lost}   duplicated: {fan.duplicated}   "
            f"(outbox sender: sent {fan.stats.sent}, 429s {fan.stats.rate_limited}, retried "
            f"{fan.stats.retried}, failed {fan.stats.failed})"
            + ("" if fan.finished else "   NOT FINISHED within the time allowed")
        )
    say("")
    say(f"total bench time: {elapsed:.0f} s")
    print("\n".join(out), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.telegram", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--reporters", type=int, default=200, metavar="N", help="users in (a)-(c), (z)"
    )
    parser.add_argument(
        "--fanout", type=int, default=5000, metavar="M", help="members in (d); 0 skips it"
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip (c), and (z) on PostgreSQL"
    )
    parser.add_argument(
        "--pg-limited",
        action="store_true",
        help="also run (c) (and (z) on PostgreSQL) in the 30/s setting (+~1 min each)",
    )
    parser.add_argument(
        "--parts", default="abcdz", help="which parts to run, e.g. 'abz' (default: abcdz)"
    )
    parser.add_argument("--verbose", action="store_true", help="log at INFO (default WARNING)")
    args = parser.parse_args(argv)
    if args.reporters < 1 or args.fanout < 0:
        parser.error("--reporters must be >= 1 and --fanout >= 0")
    if not args.parts or set(args.parts) - set("abcdz"):
        parser.error("--parts takes letters among a, b, c, d, z")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
