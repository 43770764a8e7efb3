"""The database: URL normalisation, engine creation and schema migrations at start-up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}


class DatabaseError(Exception):
    """The database cannot be used: bad URL, or a schema newer than this code."""


def normalize_url(url: str) -> str:
    """Turn the plain URLs people type into the async driver URLs SQLAlchemy needs."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"not a database URL: {url!r}") from exc
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg", "postgresql+psycopg"):
        raise DatabaseError(f"unsupported database driver {parsed.drivername!r}")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and foreign keys."""
    url = normalize_url(url)
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        kwargs["connect_args"] = {"timeout": 30}
        # SQLite has one writer at a time: connections competing for the lock sleep in its
        # busy handler. One shared connection queues the work in asyncio instead, which is
        # much faster for many short transactions.
        kwargs["pool_size"] = 1
        kwargs["max_overflow"] = 0
        kwargs["pool_timeout"] = 60
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        _set_sqlite_pragmas(engine)
    return engine


def _set_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection) -> None:
    cfg = _alembic_config()
    script = ScriptDirectory.from_config(cfg)
    current = set(MigrationContext.configure(connection).get_current_heads())
    known = {rev.revision for rev in script.walk_revisions()}
    heads = set(script.get_heads())
    unknown = current - known
    if unknown:
        raise DatabaseError(
            f"the database is at schema revision {', '.join(sorted(unknown))}, newer than this "
            f"code (latest known: {', '.join(sorted(heads))}); upgrade sitrep first"
        )
    if current != heads:
        log.info(
            "migrating database schema from %s to %s",
            ", ".join(sorted(current)) or "nothing",
            ", ".join(sorted(heads)),
        )
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")


async def migrate(engine: AsyncEngine) -> None:
    """Apply every Alembic revision the database does not have yet."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
