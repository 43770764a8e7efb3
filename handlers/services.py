"""What every handler receives: storage, settings, texts and the clock, built once in bot/app.py."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.clock import Clock
from handlers.settings import DomainSettings
from handlers.texts import Texts
from storage.store import Store


@dataclass(frozen=True)
class Services:
    store: Store
    settings: DomainSettings
    texts: Texts
    clock: Clock
