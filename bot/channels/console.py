"""The terminal channel: one person types lines, the bot's replies are printed.

Buttons are shown as numbered lists. Messages the outbox holds for console chats (an urgent
alert to the demo leader, a draft reminder) are printed too, marked with whom they are for, so
one terminal shows the whole loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TextIO

from bot.app import App
from bot.channels.menu import numbered
from handlers.messages import IncomingMessage, Reply

log = logging.getLogger(__name__)

CHANNEL = "console"
PROMPT = "> "


class ConsoleChannel:
    def __init__(
        self,
        app: App,
        user_id: str,
        display_name: str,
        stdin: TextIO,
        stdout: TextIO,
        interactive: bool = True,
    ) -> None:
        self._app = app
        self._user_id = user_id
        self._display_name = display_name
        self._stdin = stdin
        self._stdout = stdout
        self._interactive = interactive

    def _print(self, text: str) -> None:
        self._stdout.write(text + "\n")
        self._stdout.flush()

    def _show(self, reply: Reply) -> None:
        texts = self._app.services.texts
        self._print(numbered(reply, texts))
        for file in reply.files:  # the terminal carries files by naming them
            self._print(texts("files.console", path=file.path, caption=file.caption).rstrip())

    async def run(self) -> None:
        """Read lines until end of input; each line is one message."""
        loop = asyncio.get_running_loop()
        await self.flush_outbox()
        while True:
            if self._interactive:
                self._stdout.write(PROMPT)
                self._stdout.flush()
            line = await loop.run_in_executor(None, self._stdin.readline)
            if not line:
                break
            text = line.rstrip("\n")
            if not self._interactive:
                self._print(f"{PROMPT}{text}")
            for reply in await self.send(text):
                self._show(reply)
            await self.flush_outbox()

    async def send(self, text: str) -> list[Reply]:
        msg = IncomingMessage(
            channel=CHANNEL,
            chat_id=self._user_id,
            user_id=self._user_id,
            display_name=self._display_name,
            message_id=uuid.uuid4().hex,
            sent_at=self._app.services.clock.now(),
            text=text,
        )
        return await self._app.engine.handle(msg)

    async def flush_outbox(self) -> None:
        """Print what the outbox holds for console chats, and mark it sent."""
        store = self._app.store
        clock = self._app.services.clock
        # what quiet hours hold waits here too
        for message in await store.messages.due(CHANNEL, clock.now()):
            reply = Reply.from_payload(message.payload)
            if message.chat_id == self._user_id:
                self._show(reply)
            else:
                member = await store.members.by_id(message.member_id) if message.member_id else None
                name = member.display_name if member else message.chat_id
                self._print(f"--- [{name}] ---")
                self._show(reply)
                self._print("---")
            await store.messages.mark(message.id, "sent", clock.now())
