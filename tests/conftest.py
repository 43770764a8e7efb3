"""Fixtures: every storage and conversation test runs on SQLite, and on PostgreSQL as well
when SITREP_TEST_DATABASE_URL is set."""

from __future__ import annotations

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
