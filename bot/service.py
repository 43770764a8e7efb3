"""`sitrep run` with a messenger token: the channels, the outbox senders, the web server and
the background jobs, started in order and stopped in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.app import draft_reminders, opened
from bot.channels.telegram import ChannelStopped, TelegramChannel
from bot.config import Config
from bot.web import WebServer
from handlers.clock import Clock

log = logging.getLogger(__name__)


async def serve(
    config: Config,
    webhook_url: str | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or ``stop``); returns the process exit status."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with opened(config, clock) as app:
        await app.engine.replay_unprocessed()
        web_server = WebServer(config.web) if webhook_url else None
        telegram = TelegramChannel(app, config.telegram, config.media_dir, web_server, webhook_url)
        app.engine.on_outbox = telegram.wake
        stopping = asyncio.create_task(stop.wait())
        reminders: asyncio.Task[None] | None = None
        status = 0
        try:
            if web_server is not None:
                await web_server.start()
            starting = asyncio.create_task(telegram.start())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()  # stopped while the Bot API could not be reached
                return 0
            starting.result()
            reminders = asyncio.create_task(draft_reminders(app))
            running = asyncio.create_task(telegram.run_until_stopped())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if running.done():
                running.result()
            else:
                running.cancel()
        except ChannelStopped as exc:
            log.error("%s", exc)
            status = exc.exit_code
        finally:
            log.info("stopping")
            stopping.cancel()
            if reminders is not None:
                reminders.cancel()
            if web_server is not None:
                await web_server.stop()
            await telegram.stop()
        return status
