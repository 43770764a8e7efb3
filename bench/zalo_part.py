"""Part (z) of ``python -m bench.telegram``: the service over Zalo.

The same N reporters type the same weekly report as in part (b), but over Zalo, against the fake
Zalo Bot API (``tests.fake_zalo.FakeZaloApi``). This module holds what is Zalo's own: the fake's
limits, the service's Zalo settings, the user ids, a watcher of the fake's calls, the users'
driver and the running service (``bot.service.serve`` with only the Zalo channel on). The
orchestration, the database set-up and the table are in ``bench/telegram.py``.

Zalo has no buttons: a choice is answered by typing its number or its words, which is what the
Telegram part's users do already (they type every step). Zalo cannot edit a message either: an
edit comes as a new ``sendMessage``. ``getUpdates`` answers one event per call, and the channel
stores each event before it asks for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import bot.service
from bot.app import App
from bot.channels.zalo import ZaloChannel
from bot.config import Config, load_config
from bot.outbox import Limits
from bot.service import serve
from tests.fake_zalo import TOKEN as ZALO_TOKEN
from tests.fake_zalo import Call, FakeZaloApi

log = logging.getLogger("bench.zalo")

#: What answers a message, and what counts as a bot message (Zalo has no edits).
ZALO_ANSWERS = frozenset({"sendMessage", "sendPhoto"})
ZALO_BOT_MESSAGES = frozenset({"sendMessage", "sendPhoto", "sendSticker"})
TELEGRAM_PREFIX = "SITREP_TELEGRAM_"
ZALO_PREFIX = "SITREP_ZALO_"


def zalo_user(number: int) -> str:
    """A Zalo user id for the bench's user ``number``: a string (20 hex digits, as the tests'
    driver makes them). A private chat's id is the user's id."""
    return f"{number:020x}"


def zalo_env(telegram_env: Mapping[str, str]) -> dict[str, str]:
    """The setting's service overrides, with the Telegram rate keys as the same Zalo keys
    (``zalo.rate_per_second``, ``zalo.rate_chat_per_second``); the outbox keys are shared."""
    return {
        (
            ZALO_PREFIX + key[len(TELEGRAM_PREFIX) :] if key.startswith(TELEGRAM_PREFIX) else key
        ): value
        for key, value in telegram_env.items()
    }


def zalo_config(
    api: FakeZaloApi, database_url: str, workdir: Path, env: Mapping[str, str], config: Path
) -> Config:
    """The service with the Zalo channel only (no Telegram token), polling the fake."""
    values = {
        "SITREP_DATABASE_URL": database_url,
        "SITREP_GENERAL_MEDIA_DIR": str(workdir / "media"),
        "SITREP_ZALO_TOKEN": api.token,
        "SITREP_ZALO_API_URL": api.url,
        "SITREP_ZALO_POLL_TIMEOUT": "1",
        **zalo_env(env),
    }
    return load_config(values, config)


def describe(fake: str, limits: Limits, env: Mapping[str, str]) -> str:
    overrides = ", ".join(f"{k}={v}" for k, v in zalo_env(env).items()) or "none"
    return (
        f"fake Zalo: {fake}; service: {limits.per_second:g}/s overall, "
        f"{limits.chat_per_second:g}/s per chat, margin {limits.margin:g} s, outbox concurrency "
        f"{limits.concurrency} (env overrides: {overrides})"
    )


@contextlib.asynccontextmanager
async def fake_zalo(
    per_second: float | None, per_chat_per_second: float | None
) -> AsyncIterator[FakeZaloApi]:
    """A fresh fake per run: its token buckets take their rates when they are made."""
    async with FakeZaloApi(
        token=ZALO_TOKEN, per_second=per_second, per_chat_per_second=per_chat_per_second
    ) as api:
        yield api


# --- following what the bot sends -------------------------------------------------------------


class ZaloWatcher:
    """Reads the fake's recorded calls as they come and wakes the user waiting for an answer
    (as ``bench.telegram.Watcher`` does; here chats are strings and a call's time is ``at``)."""

    def __init__(self, api: FakeZaloApi) -> None:
        self._api = api
        self._cursor = len(api.calls)
        self._waits: dict[str, tuple[str, asyncio.Future[float]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bench-zalo-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def expect(self, chat: str, marker: str) -> asyncio.Future[float]:
        """The time of the next sendMessage to ``chat`` containing ``marker``."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waits[chat] = (marker, future)
        return future

    def forget(self, chat: str) -> None:
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
        if call.method not in ZALO_ANSWERS or call.chat_id is None:
            return
        wait = self._waits.get(call.chat_id)
        if wait is None:
            return
        marker, future = wait
        if marker in (call.text or "") and not future.done():
            future.set_result(call.at)
            del self._waits[call.chat_id]


class Tally(Protocol):
    """What the driver fills in (``bench.telegram.Run`` has it)."""

    part: str
    updates: int
    seconds: float
    latencies: list[float]
    failed_users: int
    lost: int | None


async def drive(
    api: FakeZaloApi,
    watcher: ZaloWatcher,
    users: Mapping[str, str],
    steps: Sequence[tuple[str, str]],
    run: Tally,
    step_timeout: float,
) -> None:
    """All users (Zalo id -> display name) at once, each writing its next message only once
    the last one was answered; latency = event queued at the fake -> the fake gets the answer."""
    first = math.inf
    last = -math.inf

    async def one(user: str, name: str) -> None:
        nonlocal first, last
        for said, marker in steps:
            answer = watcher.expect(user, marker)
            queued = time.monotonic()
            api.send_text(user, said, display_name=name)
            try:
                at = await asyncio.wait_for(answer, step_timeout)
            except TimeoutError:
                watcher.forget(user)
                run.failed_users += 1
                log.error(
                    "%s: Zalo user %s got no answer containing %r to %r within %.0f s",
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

    await asyncio.gather(*(one(user, name) for user, name in users.items()))
    run.seconds = last - first if run.updates else 0.0
    run.lost = len(users) * len(steps) - run.updates


def sent_to(api: FakeZaloApi, start: int, chats: set[str]) -> list[Call]:
    """The bot messages to ``chats`` among the calls from ``start`` on."""
    return [c for c in api.calls[start:] if c.method in ZALO_BOT_MESSAGES and c.chat_id in chats]


# --- the service ------------------------------------------------------------------------------


@dataclass
class ZaloCaptured:
    """The running service's App and ZaloChannel (observed, nothing replaced)."""

    app: App | None = None
    channel: ZaloChannel | None = None


@contextlib.contextmanager
def capturing(captured: ZaloCaptured) -> Iterator[None]:
    """Let ``serve`` build its App and Zalo channel as usual, and keep a reference to them."""
    service: Any = bot.service  # its module attributes are swapped for the run, then restored
    real_opened = service.opened
    real_channel: type[ZaloChannel] = service.ZaloChannel

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
    service.ZaloChannel = ObservedChannel
    try:
        yield
    finally:
        service.opened = real_opened
        service.ZaloChannel = real_channel


@contextlib.asynccontextmanager
async def running(api: FakeZaloApi, config: Config) -> AsyncIterator[ZaloCaptured]:
    """``serve(config)`` in a task until the block ends: then the stop event, and await it."""
    if config.telegram.enabled or not config.zalo.enabled:
        raise ValueError("part (z) runs the service with the Zalo channel only")
    captured = ZaloCaptured()
    stop = asyncio.Event()
    with capturing(captured):
        task = asyncio.create_task(serve(config, stop=stop), name="sitrep-serve-zalo")
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
    if api.pending_events:
        log.warning("%d Zalo events left unread by the poller", len(api.pending_events))
