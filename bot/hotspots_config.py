"""The ``[hotspots]`` section of config.toml, read into :class:`HotspotSettings`.

Each value may be overridden by ``SITREP_HOTSPOTS_<KEY>`` (weights by
``SITREP_HOTSPOTS_WEIGHTS_<NAME>``, thresholds by ``SITREP_HOTSPOTS_LEVELS_<NAME>``); lists
are written comma-separated. A bad value raises the given error naming the key.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields
from datetime import time
from pathlib import Path
from typing import Any

from handlers.hotspots.settings import LEVELS, HotspotSettings, Weights

PREFIX = "SITREP_HOTSPOTS_"
DEFAULTS = HotspotSettings()


def hotspot_settings(
    raw: Mapping[str, Any],
    env: Mapping[str, str],
    media_dir: str,
    topic_codes: Collection[str],
    error: Callable[[str], Exception],
) -> HotspotSettings:
    """Read ``[hotspots]``; topic codes must be among ``topic_codes``."""
    section = raw.get("hotspots", {})
    if not isinstance(section, dict):
        raise error("hotspots must be a table ([hotspots])")
    top = _Reader(section, env, "", error)
    weights_raw = section.get("weights", {})
    levels_raw = section.get("levels", {})
    for name, value in (("weights", weights_raw), ("levels", levels_raw)):
        if not isinstance(value, dict):
            raise error(f"hotspots.{name} must be a table ([hotspots.{name}])")
    weight_reader = _Reader(weights_raw, env, "weights.", error)
    known = {f.name for f in fields(Weights)}
    for name in weights_raw:
        if name not in known:
            raise error(f"hotspots.weights.{name}: no such weight (known: {', '.join(known)})")
    weights = Weights(
        **{
            f.name: weight_reader.number(f.name, getattr(DEFAULTS.weights, f.name), 0.0)
            for f in fields(Weights)
        }
    )
    level_reader = _Reader(levels_raw, env, "levels.", error)
    for name in levels_raw:
        if name not in LEVELS:
            raise error(f"hotspots.levels.{name}: no such level (known: {', '.join(LEVELS)})")
    thresholds = tuple(
        level_reader.number(name, default, 0.01)
        for name, default in zip(LEVELS, DEFAULTS.thresholds, strict=True)
    )
    if not thresholds[0] < thresholds[1] < thresholds[2]:
        raise error("hotspots.levels: watch < warning < hotspot is required")
    sensitive = top.codes("sensitive_topics", DEFAULTS.sensitive_topics, topic_codes)
    complaint = top.codes("complaint_topics", DEFAULTS.complaint_topics, topic_codes)
    days = top.value("working_days", list(DEFAULTS.working_days))
    if isinstance(days, str):
        days = [p.strip() for p in days.split(",") if p.strip()]
    try:
        working_days = tuple(sorted({int(d) for d in days}))
    except (TypeError, ValueError) as exc:
        raise error("hotspots.working_days must be a list of ISO weekdays (Monday = 1)") from exc
    if not working_days or any(d < 1 or d > 7 for d in working_days):
        raise error("hotspots.working_days must be ISO weekdays between 1 (Monday) and 7")
    return HotspotSettings(
        weights=weights,
        half_life_days=top.number("half_life_days", DEFAULTS.half_life_days, 0.1),
        window_days=int(top.number("window_days", DEFAULTS.window_days, 1)),
        similarity=top.number("similarity", DEFAULTS.similarity, 0.01, 1.0),
        thresholds=(thresholds[0], thresholds[1], thresholds[2]),
        reopen_days=int(top.number("reopen_days", DEFAULTS.reopen_days, 0)),
        escalate_urgent_hours=top.number("escalate_urgent_hours", 4.0, 0.01),
        escalate_working_hours=top.number("escalate_working_hours", 8.0, 0.01),
        working_days=working_days,
        working_hours=_hours(top.value("working_hours", ["07:30-11:30", "13:30-17:00"]), error),
        sensitive_topics=sensitive,
        complaint_topics=complaint,
        list_size=int(top.number("list_size", DEFAULTS.list_size, 1, 50)),
        chart_dir=Path(media_dir) / "charts",
    )


def _hours(value: Any, error: Callable[[str], Exception]) -> tuple[tuple[time, time], ...]:
    if isinstance(value, str):
        value = [p.strip() for p in value.split(",") if p.strip()]
    if not isinstance(value, list) or not value:
        raise error('hotspots.working_hours must be a list like ["07:30-11:30", "13:30-17:00"]')
    spans = []
    for entry in value:
        try:
            start, end = (time.fromisoformat(p.strip()) for p in str(entry).split("-"))
        except ValueError as exc:
            raise error(f"hotspots.working_hours: {entry!r} is not like 07:30-11:30") from exc
        if start >= end:
            raise error(f"hotspots.working_hours: {entry!r} ends before it starts")
        spans.append((start, end))
    spans.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        raise error("hotspots.working_hours: the spans overlap")
    return tuple(spans)


class _Reader:
    def __init__(
        self,
        section: Mapping[str, Any],
        env: Mapping[str, str],
        prefix: str,
        error: Callable[[str], Exception],
    ) -> None:
        self._section = section
        self._env = env
        self._prefix = prefix  # "weights." for [hotspots.weights]
        self._error = error

    def value(self, key: str, default: Any) -> Any:
        env_name = f"{PREFIX}{self._prefix.replace('.', '_').upper()}{key.upper()}"
        if env_name in self._env:
            return self._env[env_name]
        return self._section.get(key, default)

    def number(
        self, key: str, default: float, minimum: float, maximum: float | None = None
    ) -> float:
        value = self.value(key, default)
        name = f"hotspots.{self._prefix}{key}"
        if isinstance(value, bool):
            raise self._error(f"{name} must be a number, not {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise self._error(f"{name} must be a number, not {value!r}") from exc
        if number < minimum or (maximum is not None and number > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise self._error(f"{name} must be {bounds}, not {value!r}")
        return number

    def codes(self, key: str, default: Collection[str], known: Collection[str]) -> frozenset[str]:
        value = self.value(key, sorted(default))
        if isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        name = f"hotspots.{self._prefix}{key}"
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._error(f"{name} must be a list of topic codes")
        for code in value:
            if code not in known:
                raise self._error(f"{name}: {code!r} is not the code of a [[topics]] entry")
        return frozenset(value)
