"""The service running for real (`serve`) against the fake Bot API server, and helpers to chat.

The test talks only to the fake server (as Telegram users would) and reads the database the
service writes; nothing inside the service is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.config import Config, load_config
from bot.service import serve
from storage.models import InboxRow, OutboxRow
from storage.records import Role
from storage.store import Store
from tests.fake_telegram import FakeBotApi
from tests.harness import ROOT

TOKEN = "123456:TEST-token"


def telegram_config(database_url: str, tmp_path: Path, api: FakeBotApi, **env: str) -> Config:
    values = {
        "SITREP_DATABASE_URL": database_url,
        "SITREP_GENERAL_MEDIA_DIR": str(tmp_path / "media"),
        "SITREP_TELEGRAM_TOKEN": TOKEN,
        "SITREP_TELEGRAM_API_URL": api.url,
        "SITREP_TELEGRAM_POLL_TIMEOUT": "1",
        "SITREP_OUTBOX_BACKOFF_SECONDS": "0.05",
        "SITREP_OUTBOX_BACKOFF_CAP_SECONDS": "0.5",
        **env,
    }
    return load_config(values, ROOT / "config.toml")


class TelegramChat:
    """Chat with the running service as Telegram users, through the fake server."""

    def __init__(self, api: FakeBotApi, store: Store) -> None:
        self.api = api
        self.store = store

    async def settled(self, update_id: int | None = None, within: float = 10.0) -> None:
        """Wait until the update is handled and nothing is waiting in the outbox."""
        async with asyncio.timeout(within):
            while True:
                async with self.store.engine.connect() as conn:
                    unhandled = 0
                    if update_id is not None:
                        row = (
                            await conn.execute(
                                select(InboxRow.processed_at).where(
                                    InboxRow.channel == "telegram",
                                    InboxRow.platform_id == str(update_id),
                                )
                            )
                        ).first()
                        unhandled = 1 if row is None or row[0] is None else 0
                    pending = (
                        await conn.execute(
                            select(OutboxRow.id).where(OutboxRow.status == "pending").limit(1)
                        )
                    ).first()
                if not unhandled and pending is None:
                    return
                await asyncio.sleep(0.02)

    async def say(self, user_id: int, text: str) -> list[dict[str, Any]]:
        """Type a message; return what the bot sent or edited in that chat in answer."""
        before = len(self.api.calls)
        update = self.api.send_text(user_id, text)
        await self.settled(update["update_id"])
        return self._since(before, user_id)

    async def press(self, user_id: int, label: str) -> list[dict[str, Any]]:
        """Press the button whose label contains ``label`` on the newest keyboard in the chat."""
        before = len(self.api.calls)
        update = self.api.tap(user_id, label)
        await self.settled(update["update_id"])
        return self._since(before, user_id)

    def _since(self, index: int, chat_id: int) -> list[dict[str, Any]]:
        return [
            {"method": c.method, **c.params}
            for c in self.api.calls[index:]
            if str(c.params.get("chat_id")) == str(chat_id)
            and c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
        ]


@contextlib.asynccontextmanager
async def running_service(
    config: Config, webhook_url: str | None = None
) -> AsyncIterator[asyncio.Task[int]]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, webhook_url, stop=stop))
    try:
        yield task
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


async def join(chat: TelegramChat, store: Store, user_id: int, role: Role, unit_code: str) -> None:
    from datetime import timedelta

    from handlers.clock import SystemClock
    from handlers.invitations import issue

    config = load_config({}, ROOT / "config.toml")
    unit = await store.units.by_code(unit_code)
    assert unit is not None
    issued = await issue(
        store,
        config.domain,
        role=role,
        unit=unit,
        uses=1,
        valid_for=timedelta(days=1),
        now=SystemClock().now(),
    )
    sent = await chat.say(user_id, f"/start {issued.code}")
    assert any("Đã đăng ký" in m.get("text", "") for m in sent), sent
