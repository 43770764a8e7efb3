"""`sitrep run` with a messenger token: the channels (Telegram, Zalo), their outbox senders,
the web server and the background jobs, started in order and stopped in reverse.

Each channel runs on its own: when one stops for good (its token refused), the admins are told
on the channels still running and the service goes on with them; it exits with that channel's
status when none is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Protocol

from bot.app import App, draft_reminders, opened
from bot.channels.stopped import ChannelStopped
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.config import Config
from bot.scheduler import Scheduler
from bot.web import WebServer
from handlers.clock import Clock
from handlers.messages import Outgoing, Reply
from storage.records import Role

log = logging.getLogger(__name__)

NOTICE_PRIORITY = 8


class Channel(Protocol):
    name: str

    async def start(self) -> None: ...

    async def run_until_stopped(self) -> None: ...

    async def stop(self) -> None: ...

    def wake(self) -> None: ...


async def serve(
    config: Config,
    webhook_url: str | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock | None = None,
    zalo_webhook_url: str | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or ``stop``); returns the process exit status.

    ``webhook_url`` is Telegram's (else ``telegram.webhook_url``), ``zalo_webhook_url`` Zalo's
    (else ``zalo.webhook_url``); a channel without one polls.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    telegram_hook = webhook_url or config.telegram.webhook_url or None
    zalo_hook = zalo_webhook_url or config.zalo.webhook_url or None
    async with opened(config, clock) as app:
        await app.engine.replay_unprocessed()
        web_server = WebServer(config.web) if (telegram_hook or zalo_hook) else None
        channels: list[Channel] = []
        if config.telegram.enabled:
            channels.append(
                TelegramChannel(app, config.telegram, config.media_dir, web_server, telegram_hook)
            )
        if config.zalo.enabled:
            channels.append(ZaloChannel(app, config.zalo, config.media_dir, web_server, zalo_hook))
        running = list(channels)

        def wake_all() -> None:
            for channel in running:
                channel.wake()

        app.engine.on_outbox = wake_all
        app.engine.active_channels = {c.name for c in running}
        stopping: asyncio.Future[None] = asyncio.ensure_future(_wait(stop))
        reminders = asyncio.create_task(draft_reminders(app))
        scheduler = Scheduler(app.services, on_outbox=wake_all)  # reminders, digests …
        await scheduler.start()
        tasks: dict[asyncio.Future[None], Channel] = {
            asyncio.create_task(_run(c), name=c.name): c for c in channels
        }
        status = 0
        try:
            if web_server is not None:
                await web_server.start()
            while tasks:
                done, _ = await asyncio.wait(
                    {stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED
                )
                if stopping in done:
                    break
                for task in done:
                    channel = tasks.pop(task)
                    running.remove(channel)
                    app.engine.active_channels = {c.name for c in running}
                    await channel.stop()
                    error = task.exception()
                    if isinstance(error, ChannelStopped):
                        log.error("%s", error)
                        status = error.exit_code
                        if running:
                            await _tell_admins(app, channel.name)
                    elif error is not None:
                        raise error
        finally:
            log.info("stopping")
            # every task ends here, before the store closes under it (a task cancelled in the
            # middle of a database call and left running would hang on the closed pool)
            leftovers = [stopping, reminders, *tasks]
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)
            await scheduler.stop()
            if web_server is not None:
                await web_server.stop()
            for channel in running:
                await channel.stop()
        return status


async def _wait(event: asyncio.Event) -> None:
    await event.wait()


async def _run(channel: Channel) -> None:
    await channel.start()
    await channel.run_until_stopped()


async def _tell_admins(app: App, stopped: str) -> None:
    """Admins (else officers) hear on the channels still running that one has stopped."""
    services = app.services
    members = [m for m in await app.store.members.all() if m.active]
    admins = [m for m in members if m.role == Role.ADMIN] or [
        m for m in members if m.role == Role.OFFICER
    ]
    day = services.clock.now().astimezone(services.settings.timezone).date().isoformat()
    text = services.texts(
        "notices.channel_stopped",
        channel=services.texts(f"channels.{stopped}"),
        code=stopped.upper(),
    )
    await app.engine.deliver(
        [
            Outgoing(f"channel-stopped:{stopped}:{day}:{m.id}", m.id, Reply(text), NOTICE_PRIORITY)
            for m in admins
        ]
    )
