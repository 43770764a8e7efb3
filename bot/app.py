"""The composition root: config -> storage -> services -> engine -> channels -> background jobs.

One async lifespan (:func:`running`) opens everything and closes it in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.config import Config
from handlers.clock import Clock, SystemClock
from handlers.drafts import remind_stale_drafts
from handlers.engine import Engine
from handlers.services import Services
from handlers.texts import Texts
from storage.store import Store

log = logging.getLogger(__name__)

DRAFT_CHECK_SECONDS = 600


@dataclass(frozen=True)
class App:
    config: Config
    services: Services
    engine: Engine

    @property
    def store(self) -> Store:
        return self.services.store


@contextlib.asynccontextmanager
async def opened(config: Config, clock: Clock | None = None) -> AsyncIterator[App]:
    """Open the store (migrating it) and build the services and the engine."""
    severity_order = [s.code for s in config.domain.severities]
    store = await Store.open(config.database_url, severity_order)
    try:
        services = Services(
            store=store,
            settings=config.domain,
            texts=Texts.load(),
            clock=clock or SystemClock(),
        )
        yield App(config, services, Engine(services))
    finally:
        await store.close()


async def draft_reminders(app: App, every: float = DRAFT_CHECK_SECONDS) -> None:
    """Every few minutes, remind the owners of drafts untouched for a day (once each)."""
    while True:
        try:
            reminders = await remind_stale_drafts(app.services)
            await app.engine.deliver(reminders)
        except Exception:
            log.exception("draft reminder run failed; trying again in %.0f s", every)
        await asyncio.sleep(every)
