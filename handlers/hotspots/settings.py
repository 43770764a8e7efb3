"""The hotspot settings (``[hotspots]`` in config.toml): weights, thresholds, windows, hours.

Built and validated by ``bot.hotspots_config``; frozen, like the other domain settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

LEVELS = ("watch", "warning", "hotspot")  # mildest first; "hotspot" is "điểm nóng"


@dataclass(frozen=True)
class Weights:
    """Points each signal adds to a hotspot's score (see ``scoring.Aggregate.signals``)."""

    report: float = 1.0  # each report, fading with age
    severity: float = 1.0  # each severity step above the mildest, per report
    urgent: float = 3.0  # an urgent report, on top of its severity steps
    people: float = 1.0  # x log2(1 + people / 10): grows slowly with the crowd
    villages: float = 2.0  # each village beyond the first
    reporters: float = 0.5  # each reporter beyond the first
    persistence: float = 1.5  # each week with reports beyond the first ("kéo dài")
    growth: float = 1.5  # x log2(1 + extra reports in the last 14 days over the 28 before)
    complaint: float = 2.0  # complaints and denunciations
    sensitive: float = 1.5  # land, religion, ethnicity, security


@dataclass(frozen=True)
class HotspotSettings:
    weights: Weights = field(default_factory=Weights)
    half_life_days: float = 21.0
    # A report joins a group whose last report is at most this old.
    window_days: int = 90
    # Word overlap (0..1) at which two texts on the same topic are about the same matter.
    similarity: float = 0.3
    # Score thresholds of theo dõi, cảnh báo, điểm nóng.
    thresholds: tuple[float, float, float] = (5.0, 9.0, 15.0)
    # A resolved hotspot (or urgent report) is reopened by new reports within this many days.
    reopen_days: int = 30
    escalate_urgent_hours: float = 4.0
    escalate_working_hours: float = 8.0
    working_days: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays, Monday = 1
    working_hours: tuple[tuple[time, time], ...] = (
        (time(7, 30), time(11, 30)),
        (time(13, 30), time(17, 0)),
    )
    sensitive_topics: frozenset[str] = frozenset(
        {"dat_dai", "ton_giao", "dan_toc", "an_ninh", "khieu_nai"}
    )
    complaint_topics: frozenset[str] = frozenset({"khieu_nai"})
    list_size: int = 10
    chart_dir: Path = Path("media/charts")

    def level(self, score: float) -> str | None:
        """The level a score reaches, or None below "theo dõi"."""
        reached = None
        for name, threshold in zip(LEVELS, self.thresholds, strict=True):
            if score >= threshold:
                reached = name
        return reached
