"""The domain settings the conversations need: topics, severities, unit levels, limits.

Built from ``config.toml`` by ``bot.config``; frozen, so nothing changes them at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from handlers.hotspots.settings import HotspotSettings
from handlers.rhythm.settings import RhythmSettings


@dataclass(frozen=True)
class Topic:
    """A sector (lĩnh vực) of the plan. ``denunciation`` topics may carry a tố cáo."""

    code: str
    name: str
    short: str
    denunciation: bool = False


@dataclass(frozen=True)
class Severity:
    code: str
    name: str
    urgent: bool = False


@dataclass(frozen=True)
class Levels:
    """The names of the levels of the unit tree, top down, and which level does what."""

    keys: tuple[str, ...]
    names: tuple[str, ...]
    leader: str
    reporter: str

    def below(self, level: str) -> str | None:
        index = self.keys.index(level)
        return self.keys[index + 1] if index + 1 < len(self.keys) else None

    def name(self, level: str) -> str:
        return self.names[self.keys.index(level)]


@dataclass(frozen=True)
class DomainSettings:
    timezone: ZoneInfo
    topics: tuple[Topic, ...]
    severities: tuple[Severity, ...]
    levels: Levels
    max_text_chars: int = 4000
    draft_reminder_hours: int = 24
    recent_reports: int = 5
    invitation_days: int = 7
    max_failed_codes: int = 5
    lockout_minutes: int = 60
    rhythm: RhythmSettings = field(default_factory=RhythmSettings)  # [schedule]
    hotspots: HotspotSettings = field(default_factory=HotspotSettings)  # [hotspots]
    # Where alerts and reminders go for a member with several messengers: "last_used", or
    # a channel name ("telegram", "zalo") preferred whenever the member has it.
    alert_channel: str = "last_used"

    def topic(self, code: str) -> Topic:
        for topic in self.topics:
            if topic.code == code:
                return topic
        raise KeyError(code)

    def severity(self, code: str) -> Severity:
        for severity in self.severities:
            if severity.code == code:
                return severity
        raise KeyError(code)

    @property
    def urgent_severity(self) -> Severity:
        return next(s for s in self.severities if s.urgent)

    def severity_rank(self, code: str) -> int:
        return [s.code for s in self.severities].index(code)
