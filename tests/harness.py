"""An in-process chat harness: ``await h.send("an", "/baocao")`` returns the bot's replies.

Messages go through the real engine and a real database, exactly as a channel hands them in.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import App
from handlers.clock import FixedClock
from handlers.invitations import issue
from handlers.messages import Attachment, Content, IncomingMessage, Reply
from storage.records import Member, Role
from storage.repositories.units import NewUnit
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
# Wednesday 25 November 2026, 09:00 in Vietnam: ISO week 48 (23/11–29/11).
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


class Harness:
    def __init__(
        self, app: App, clock: FixedClock, channel: str = "test", first_id: int = 1
    ) -> None:
        self.app = app
        self.clock = clock
        self.channel = channel
        self.last: dict[str, list[Reply]] = {}
        self._ids = itertools.count(first_id)

    @property
    def store(self) -> Store:
        return self.app.store

    def chat_of(self, user: str) -> str:
        """The chat id of ``user`` on this channel."""
        return f"chat-{user}"

    def user_of(self, user: str) -> str:
        """The platform user id of ``user`` on this channel."""
        return f"user-{user}"

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
        msg = IncomingMessage(
            channel=self.channel,
            chat_id=self.chat_of(user),
            user_id=self.user_of(user),
            display_name=user.capitalize(),
            message_id=message_id or f"m{next(self._ids)}",
            sent_at=self.clock.now(),
            content=content,
            text=text,
            button=button,
            attachments=attachments,
            is_group=group,
        )
        replies = await self.app.engine.handle(msg)
        self.last[user] = replies
        return replies

    async def say(self, user: str, text: str = "", **kwargs: Any) -> str:
        """Send and return all reply texts joined: handy for assertions."""
        return "\n".join(r.text for r in await self.send(user, text, **kwargs))

    async def press(self, user: str, label: str) -> list[Reply]:
        """Press the button whose label contains ``label`` on the last replies to ``user``."""
        for reply in reversed(self.last.get(user, [])):
            for button in reply.flat_buttons():
                if label in button.label:
                    return await self.send(user, button=button.data)
        raise AssertionError(f"no button {label!r} in {self.last.get(user)}")

    async def invite(self, role: Role, unit_code: str, uses: int = 1) -> str:
        unit = await self.store.units.by_code(unit_code)
        assert unit is not None, unit_code
        issued = await issue(
            self.store,
            self.app.services.settings,
            role=role,
            unit=unit,
            uses=uses,
            valid_for=timedelta(days=7),
            now=self.clock.now(),
        )
        return issued.code

    async def join(self, user: str, role: Role, unit_code: str) -> Member:
        code = await self.invite(role, unit_code)
        text = await self.say(user, f"/start {code}")
        assert "Đã đăng ký" in text, text
        member = await self.store.members.by_identity(self.channel, self.user_of(user))
        assert member is not None
        return member

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    async def outbox(self) -> list[tuple[str, str, str]]:
        """(idempotency key, chat id, text) of every message waiting to be sent."""
        rows = await self.store.messages.pending(self.channel, limit=10_000)
        return [(r.idem_key, r.chat_id, r.payload["text"]) for r in rows]


async def seed_units(app: App) -> None:
    """Tuyên Quang > Xã Đồng Văn (3 villages) and Xã Lũng Cú (1 village)."""
    await app.store.units.upsert_many(
        [
            NewUnit("08", "Tỉnh Tuyên Quang", "province", None, "tinh tuyen quang"),
            NewUnit("721", "Xã Đồng Văn", "commune", "08", "xa dong van"),
            NewUnit("715", "Xã Lũng Cú", "commune", "08", "xa lung cu"),
            NewUnit("721-01", "Thôn Lũng Cú", "village", "721", "thon lung cu"),
            NewUnit("721-02", "Thôn Sà Phìn", "village", "721", "thon sa phin"),
            NewUnit("721-03", "Thôn Phố Cáo", "village", "721", "thon pho cao"),
            NewUnit("715-01", "Thôn Thèn Pả", "village", "715", "thon then pa"),
        ]
    )
