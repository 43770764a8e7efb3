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
        telegram = TelegramChannel(app, config.telegram, config.media_dir, web_server)
        app.engine.on_outbox = telegram.wake
        try:
            await telegram.start(webhook_url)
            if web_server is not None:
                await web_server.start()
        except ChannelStopped as exc:
            log.error("%s", exc)
            await telegram.stop()
            return exc.exit_code
        reminders = asyncio.create_task(draft_reminders(app))
        running = asyncio.create_task(telegram.run_until_stopped())
        stopping = asyncio.create_task(stop.wait())
        status = 0
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if running.done() and not running.cancelled():
                error = running.exception()
                if isinstance(error, ChannelStopped):
                    log.error("%s", error)
                    status = error.exit_code
                elif error is not None:
                    log.error("the Telegram channel failed", exc_info=error)
                    status = 1
        finally:
            log.info("stopping")
            stopping.cancel()
            reminders.cancel()
            running.cancel()
            if web_server is not None:
                await web_server.stop()
            await telegram.stop()
        return status
