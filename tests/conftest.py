"""Fixtures: every storage and conversation test runs on SQLite, and on PostgreSQL as well
when SITREP_TEST_DATABASE_URL is set."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import opened
from bot.config import Config, load_config
from handlers.clock import FixedClock
from tests.harness import ROOT, START, Harness, seed_units

PG_URL = os.environ.get("SITREP_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


async def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from storage.database import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sitrep.db'}"
    await _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Config:
    return load_config(
        {"SITREP_DATABASE_URL": database_url, "SITREP_GENERAL_MEDIA_DIR": str(tmp_path / "media")},
        ROOT / "config.toml",
    )


@pytest.fixture
async def harness(config: Config) -> AsyncIterator[Harness]:
    clock = FixedClock(START)
    async with opened(config, clock) as app:
        await seed_units(app)
        yield Harness(app, clock)


# The conversation suite runs over every channel: the terminal on each database, and the
# running service against the fake Telegram and Zalo servers (on SQLite).
CHATS = [("terminal", b) for b in BACKENDS] + [("telegram", "sqlite"), ("zalo", "sqlite")]


@pytest.fixture(params=CHATS, ids=[f"{c}-{b}" for c, b in CHATS])
async def chat(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness for one person chatting with the bot, over each channel in turn."""
    kind, backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'sitrep.db'}"
    else:
        await _reset_postgres(PG_URL)
        url = PG_URL
    if kind == "terminal":
        config = load_config(
            {"SITREP_DATABASE_URL": url, "SITREP_GENERAL_MEDIA_DIR": str(tmp_path / "media")},
            ROOT / "config.toml",
        )
        clock = FixedClock(START)
        async with opened(config, clock) as app:
            await seed_units(app)
            yield Harness(app, clock)
        return
    from tests.channel_harness import messenger_harness

    async with messenger_harness(kind, url, tmp_path) as messenger:
        yield messenger


@pytest.fixture(autouse=True)
async def _no_task_left_behind() -> AsyncIterator[None]:
    """A task a test leaves running is cancelled here; one that will not end (it would hang
    the event loop's close, and with it the whole suite) fails the test instead."""
    yield
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for task in left:
        task.cancel()
    if left:
        _, stuck = await asyncio.wait(left, timeout=5)
        assert not stuck, f"tasks that do not end when cancelled: {stuck}"
