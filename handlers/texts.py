"""Every user-facing sentence, loaded from ``texts.vi.toml`` beside this module."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

TEXTS_FILE = Path(__file__).with_name("texts.vi.toml")


class Texts:
    """Vietnamese texts by dotted key: ``texts("weekly.ask_topics", week="48")``."""

    def __init__(self, entries: dict[str, str]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, path: Path = TEXTS_FILE) -> Texts:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        entries: dict[str, str] = {}

        def walk(prefix: str, node: dict[str, Any]) -> None:
            for key, value in node.items():
                name = f"{prefix}{key}"
                if isinstance(value, dict):
                    walk(f"{name}.", value)
                else:
                    entries[name] = str(value)

        walk("", raw)
        return cls(entries)

    def keys(self) -> set[str]:
        return set(self._entries)

    def __call__(self, key: str, **values: Any) -> str:
        template = self._entries[key]
        return template.format(**values) if values else template
