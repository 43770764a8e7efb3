"""What the messenger channels (Telegram, Zalo) share: their long-running tasks (the outbox
sender, the poller), one task per incoming update handled in its chat's order, the stop order,
and the notice to leaders when a member has blocked the bot."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Any

from bot.app import App
from bot.channels.stopped import ChannelStopped
from bot.config import ChannelSettings
from bot.outbox import OutboxSender, Transport
from handlers.locks import KeyedLocks
from handlers.notices import unreachable_notices
from storage.records import Member

log = logging.getLogger(__name__)


class MessengerChannel(ABC):
    name: str  # the channel key in the database ("telegram")
    label: str  # for people and logs ("Telegram")
    sender: OutboxSender  # made by the subclass with :meth:`_sender`

    def __init__(self, app: App) -> None:
        self._app = app
        self._chats = KeyedLocks()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runners: list[asyncio.Task[None]] = []
        self._stopping = False

    def _sender(self, transport: Transport, settings: ChannelSettings) -> OutboxSender:
        services = self._app.services
        return OutboxSender(
            self._app.store,
            transport,
            settings.limits,
            services.clock,
            self._unreachable,
            texts=services.texts,
        )

    @abstractmethod
    async def _handle(self, inbox_id: int, raw: dict[str, Any]) -> None:
        """One stored update, in its chat's order."""

    @abstractmethod
    async def _close(self) -> None:
        """Release the platform client, after everything else has stopped."""

    def _run(self, coroutine: Any, role: str) -> None:
        """Start a long-running task ("sender", "poller")."""
        self._runners.append(asyncio.create_task(coroutine, name=f"{self.name}-{role}"))

    async def run_until_stopped(self) -> None:
        """Wait while the channel works; raises :class:`ChannelStopped` when it cannot go on."""
        while not self._stopping:
            done, _ = await asyncio.wait(self._runners, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.cancelled():
                    continue
                error = task.exception()
                if error is not None:
                    raise error
            if self.sender.unauthorized:
                raise ChannelStopped(
                    f"{self.label} refused the bot token (401) while running: the {self.label} "
                    f"channel stops; check SITREP_{self.name.upper()}_TOKEN",
                    2,
                )
            self._runners = [t for t in self._runners if not t.done()]
            if not self._runners:
                return

    async def stop(self) -> None:
        """Stop taking updates, let the ones in hand finish, stop sending, close."""
        self._stopping = True
        for task in self._runners:
            if task.get_name() == f"{self.name}-poller":
                task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        self.sender.stop()
        await asyncio.gather(*self._runners, return_exceptions=True)
        await self._close()

    def wake(self) -> None:
        self.sender.wake()

    def _schedule(self, inbox_id: int, raw: dict[str, Any]) -> None:
        task = asyncio.create_task(self._handle(inbox_id, raw))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _unreachable(self, members: list[Member]) -> None:
        notices = await unreachable_notices(self._app.services, members, self.name)
        for member in members:
            log.warning(
                "member %d (%s) blocked the bot on %s", member.id, member.display_name, self.label
            )
        await self._app.engine.deliver(notices)
