"""The chat harness over a real messenger: the service runs (``serve``) against the fake
Telegram or Zalo server, and the test chats as users of that platform.

``MessengerHarness`` has the same methods as the in-process :class:`Harness`, so one
conversation test runs over the terminal, Telegram and Zalo. A message goes to the fake
server as a user would send it; the harness waits until the service has stored and handled it
and the platform has received every answer, then returns the answers as the core wrote them
(the outbox rows of that message), after checking that each reached the user's chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import opened
from bot.config import Config, load_config
from bot.service import serve
from handlers.clock import FixedClock
from handlers.messages import Attachment, Content, Reply
from storage.models import InboxRow, OutboxRow
from storage.records import Member, Role
from tests.fake_telegram import FakeBotApi
from tests.fake_zalo import TOKEN as ZALO_TOKEN
from tests.fake_zalo import FakeZaloApi
from tests.harness import ROOT, START, Harness, seed_units

TELEGRAM_TOKEN = "123456:TEST-token"


class RunningClock(FixedClock):
    """Starts at a fixed time and then runs with real time (so that retries come due);
    tests still move it by hand."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=time.monotonic() - self._started)


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class Driver(Protocol):
    """How a user acts on one platform; each method returns the platform's message id."""

    channel: str

    def user_id(self, user: str) -> str: ...

    def chat_id(self, user: str) -> str: ...

    def post(self, user: str, text: str, content: Content, group: bool) -> str: ...

    def press(self, user: str, label: str, replies: list[Reply]) -> str: ...

    def received(self, chat_id: str) -> list[str]: ...


class TelegramDriver:
    channel = "telegram"

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self._ids: dict[str, int] = {}

    def user_id(self, user: str) -> str:
        return str(self._ids.setdefault(user, 7000 + len(self._ids)))

    def chat_id(self, user: str) -> str:
        return self.user_id(user)

    def post(self, user: str, text: str, content: Content, group: bool) -> str:
        uid = int(self.user_id(user))
        chat = -1001234567890 if group else None
        if content == Content.PHOTO:
            update = self.api.send_photo(uid, PNG, text or None, chat_id=chat)
        elif content == Content.STICKER:
            update = self.api.send_sticker(uid, chat_id=chat)
        elif content == Content.TEXT:
            update = self.api.send_text(uid, text, chat_id=chat, first_name=user.capitalize())
        else:
            raise NotImplementedError(f"no Telegram message of kind {content}")
        return str(update["update_id"])

    def press(self, user: str, label: str, replies: list[Reply]) -> str:
        return str(self.api.tap(int(self.user_id(user)), label)["update_id"])

    def received(self, chat_id: str) -> list[str]:
        return [
            c.text or ""
            for c in self.api.calls
            if str(c.params.get("chat_id")) == chat_id
            and c.method in ("sendMessage", "editMessageText", "sendPhoto", "sendDocument")
        ]


class ZaloDriver:
    """Zalo has no buttons: a press is the number of the choice, typed."""

    channel = "zalo"

    def __init__(self, api: FakeZaloApi) -> None:
        self.api = api
        self._ids: dict[str, str] = {}

    def user_id(self, user: str) -> str:
        return self._ids.setdefault(user, f"{0x5A1000 + len(self._ids):020x}")

    def chat_id(self, user: str) -> str:
        return self.user_id(user)

    def post(self, user: str, text: str, content: Content, group: bool) -> str:
        uid = self.user_id(user)
        chat = f"g{uid}" if group else None
        if content == Content.PHOTO:
            event = self.api.send_image(uid, caption=text, data=PNG, chat_id=chat)
        elif content == Content.STICKER:
            event = self.api.send_sticker(uid, chat_id=chat)
        elif content == Content.UNSUPPORTED:
            event = self.api.send_unsupported(uid, chat_id=chat)
        elif content == Content.TEXT:
            event = self.api.send_text(
                uid, text, chat_id=chat, group=group, display_name=user.capitalize()
            )
        else:
            raise NotImplementedError(f"no Zalo message of kind {content}")
        return str(event["message"]["message_id"])

    def press(self, user: str, label: str, replies: list[Reply]) -> str:
        for reply in reversed(replies):
            buttons = reply.flat_buttons()
            choices = [b for b in buttons if not b.data.startswith("/")]
            for button in buttons:
                if label in button.label:
                    typed = (
                        button.data
                        if button.data.startswith("/")
                        else str(choices.index(button) + 1)
                    )
                    return self.post(user, typed, Content.TEXT, False)
        raise AssertionError(f"no choice {label!r} in {replies}")

    def received(self, chat_id: str) -> list[str]:
        return self.api.sent_texts(chat_id)


class MessengerHarness(Harness):
    def __init__(self, app: Any, clock: FixedClock, driver: Driver) -> None:
        super().__init__(app, clock, channel=driver.channel)
        self.driver = driver
        self._users: dict[str, str] = {}

    def chat_of(self, user: str) -> str:
        chat = self.driver.chat_id(user)
        self._users[chat] = user
        return chat

    def user_of(self, user: str) -> str:
        return self.driver.user_id(user)

    async def send(
        self,
        user: str,
        text: str = "",
        *,
        button: str | None = None,
        content: Content = Content.TEXT,
        attachments: tuple[Attachment, ...] = (),
        group: bool = False,
        message_id: str | None = None,
    ) -> list[Reply]:
        if button is not None or message_id is not None:
            raise NotImplementedError("raw button data and message ids are for the terminal")
        self.chat_of(user)
        platform_id = self.driver.post(user, text, content, group)
        return await self._answers(user, platform_id, group)

    async def press(self, user: str, label: str) -> list[Reply]:
        platform_id = self.driver.press(user, label, self.last.get(user, []))
        return await self._answers(user, platform_id, False)

    async def _answers(self, user: str, platform_id: str, group: bool) -> list[Reply]:
        inbox_id = await self._handled(platform_id)
        rows = await self._sent()
        replies = [  # rows are in the order they were written
            Reply.from_payload(r.payload)
            for r in rows
            if r.idem_key.startswith(f"reply:{inbox_id}:")
        ]
        chat = f"g{self.driver.user_id(user)}" if group else self.chat_of(user)
        if group and self.channel == "telegram":
            chat = "-1001234567890"
        received = self.driver.received(chat)
        for reply in replies:
            first_line = reply.text.splitlines()[0] if reply.text else ""
            assert any(first_line in got for got in received), (
                f"{self.channel}: {first_line!r} did not reach {user}'s chat"
            )
        if not group:
            self.last[user] = replies
        return replies

    async def _handled(self, platform_id: str, within: float = 15.0) -> int:
        async with asyncio.timeout(within):
            while True:
                async with self.store.engine.connect() as conn:
                    row = (
                        await conn.execute(
                            select(InboxRow.id, InboxRow.processed_at).where(
                                InboxRow.channel == self.channel,
                                InboxRow.platform_id == platform_id,
                            )
                        )
                    ).first()
                if row is not None and row[1] is not None:
                    return int(row[0])
                await asyncio.sleep(0.01)

    async def _sent(self, within: float = 15.0) -> list[OutboxRow]:
        """Every outbox row of this channel, once none is waiting to be sent."""
        async with asyncio.timeout(within):
            while True:
                async with AsyncSession(self.store.engine) as session:
                    rows = list(
                        await session.scalars(
                            select(OutboxRow)
                            .where(OutboxRow.channel == self.channel)
                            .order_by(OutboxRow.id)
                        )
                    )
                if all(r.status != "pending" for r in rows):
                    return rows
                await asyncio.sleep(0.01)

    async def join(self, user: str, role: Role, unit_code: str) -> Member:
        code = await self.invite(role, unit_code)
        text = await self.say(user, f"/start {code}")
        assert "Đã đăng ký" in text, text
        member = await self.store.members.by_identity(self.channel, self.user_of(user))
        assert member is not None
        return member

    async def outbox(self) -> list[tuple[str, str, str]]:
        """(idempotency key, chat, text) of every message to other people (alerts, notices),
        once delivered; chats named like the terminal's (``chat-<user>``)."""
        rows = await self._sent()
        return [
            (r.idem_key, f"chat-{self._users.get(r.chat_id, r.chat_id)}", r.payload["text"])
            for r in rows
            if not r.idem_key.startswith(("reply:", "clear:"))
        ]


def messenger_config(
    kind: str, database_url: str, tmp_path: Path, api_url: str, **env: str
) -> Config:
    values = {
        "SITREP_DATABASE_URL": database_url,
        "SITREP_GENERAL_MEDIA_DIR": str(tmp_path / "media"),
        "SITREP_OUTBOX_BACKOFF_SECONDS": "0.05",
        "SITREP_OUTBOX_BACKOFF_CAP_SECONDS": "0.5",
        **env,
    }
    if kind == "telegram":
        values |= {
            "SITREP_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "SITREP_TELEGRAM_API_URL": api_url,
            "SITREP_TELEGRAM_POLL_TIMEOUT": "1",
            "SITREP_TELEGRAM_RATE_CHAT_PER_SECOND": "100",
            "SITREP_TELEGRAM_RATE_PER_SECOND": "1000",
        }
    else:
        values |= {
            "SITREP_ZALO_TOKEN": ZALO_TOKEN,
            "SITREP_ZALO_API_URL": api_url,
            "SITREP_ZALO_POLL_TIMEOUT": "1",
            # the conversations, not the pacing, are under test here (tests/test_zalo.py
            # and the benchmark keep the real pace)
            "SITREP_ZALO_RATE_CHAT_PER_SECOND": "100",
            "SITREP_ZALO_RATE_PER_SECOND": "1000",
        }
    return load_config(values, ROOT / "config.toml")


@contextlib.asynccontextmanager
async def messenger_harness(
    kind: str, database_url: str, tmp_path: Path
) -> AsyncIterator[MessengerHarness]:
    """The service running against a fake ``kind`` server, and a harness to chat through it."""
    clock = RunningClock(START)
    fake: FakeBotApi | FakeZaloApi
    driver: Driver
    if kind == "telegram":
        fake = FakeBotApi(TELEGRAM_TOKEN, enforce_limits=False)
        driver = TelegramDriver(fake)
    else:
        fake = FakeZaloApi(ZALO_TOKEN)
        driver = ZaloDriver(fake)
    fake.now = lambda: clock.now().timestamp()
    async with fake:
        config = messenger_config(kind, database_url, tmp_path, fake.url)
        async with opened(config, clock) as app:
            await seed_units(app)
            stop = asyncio.Event()
            service = asyncio.create_task(serve(config, stop=stop, clock=clock))
            try:
                await _wait_polling(fake, service)
                yield MessengerHarness(app, clock, driver)
            finally:
                stop.set()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(service, 15)


async def _wait_polling(fake: FakeBotApi | FakeZaloApi, service: asyncio.Task[int]) -> None:
    async with asyncio.timeout(15):
        while not fake.polling:
            if service.done():
                raise AssertionError(f"the service stopped: {service.result()}")
            await asyncio.sleep(0.01)
