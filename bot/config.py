"""Configuration: ``config.toml`` read once into frozen objects, with environment overrides.

Every key can be overridden by ``SITREP_<SECTION>_<KEY>``; ``SITREP_CONFIG`` names another
file. Secrets (tokens) are read only from the environment. This is the only module that reads
the environment; a bad value raises :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.hotspots_config import hotspot_settings
from bot.outbox import Limits
from bot.schedule_config import rhythm_settings
from handlers.rhythm.jobs import defaults as job_defaults
from handlers.settings import DomainSettings, Levels, Severity, Topic
from storage.database import DatabaseError, normalize_url

DEFAULT_CONFIG = Path("config.toml")
ENV_PREFIX = "SITREP_"
# Keys that may only come from the environment.
SECRETS = {
    ("telegram", "token"),
    ("telegram", "webhook_secret"),
    ("zalo", "token"),
    ("zalo", "webhook_secret"),
}


class ConfigError(Exception):
    """A missing or invalid setting; the message names the key."""


@dataclass(frozen=True)
class ChannelSettings:
    """A messenger: its token (environment only), server, webhook and sending limits."""

    token: str
    api_url: str
    webhook_url: str = ""
    webhook_secret: str = ""
    poll_timeout: int = 30
    max_file_mb: int = 20
    max_text: int = 4096
    request_timeout: float = 10.0
    limits: Limits = field(default_factory=Limits)

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class WebSettings:
    """The HTTP server that receives webhooks."""

    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True)
class Config:
    source: Path
    database_url: str
    media_dir: Path
    log_level: str
    log_file: str
    telegram: ChannelSettings
    zalo: ChannelSettings
    web: WebSettings
    domain: DomainSettings


def load_config(env: Mapping[str, str], path: Path | None = None) -> Config:
    """Read the config file named by ``path``, ``SITREP_CONFIG`` or ./config.toml."""
    source = path or Path(env.get(f"{ENV_PREFIX}CONFIG", DEFAULT_CONFIG))
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {source} not found (set SITREP_CONFIG)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {source} is not valid TOML: {exc}") from exc
    for section, key in SECRETS:
        if raw.get(section, {}).get(key):
            raise ConfigError(
                f"{section}.{key} must not be written in {source}: "
                f"set {ENV_PREFIX}{section.upper()}_{key.upper()} in the environment"
            )
    settings = _Settings(raw, env)
    return Config(
        source=source,
        database_url=settings.database_url(),
        media_dir=Path(settings.text("general", "media_dir", "./media")),
        log_level=settings.choice(
            "general", "log_level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")
        ),
        log_file=settings.text("general", "log_file", ""),
        telegram=settings.channel("telegram", "https://api.telegram.org", max_text=4096),
        zalo=settings.channel("zalo", "https://bot-api.zaloplatforms.com", max_text=2000),
        web=WebSettings(
            host=settings.text("web", "host", "127.0.0.1"),
            port=settings.integer("web", "port", 8080),
        ),
        domain=settings.domain(),
    )


class _Settings:
    """Typed access to the file's values, each overridable from the environment."""

    def __init__(self, raw: dict[str, Any], env: Mapping[str, str]) -> None:
        self._raw = raw
        self._env = env

    def _value(self, section: str, key: str, default: Any) -> tuple[Any, bool]:
        env_name = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
        if env_name in self._env:
            return self._env[env_name], True
        return self._raw.get(section, {}).get(key, default), False

    def text(self, section: str, key: str, default: str) -> str:
        value, _ = self._value(section, key, default)
        if not isinstance(value, str):
            raise ConfigError(f"{section}.{key} must be a string, not {value!r}")
        return value.strip()

    def integer(self, section: str, key: str, default: int, minimum: int = 1) -> int:
        value, from_env = self._value(section, key, default)
        if from_env:
            try:
                value = int(value)
            except ValueError as exc:
                raise ConfigError(f"{section}.{key} must be a whole number, not {value!r}") from exc
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"{section}.{key} must be a whole number >= {minimum}, not {value!r}")
        return value

    def number(self, section: str, key: str, default: float) -> float:
        value, _ = self._value(section, key, default)
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{section}.{key} must be a number, not {value!r}") from exc
        if number <= 0:
            raise ConfigError(f"{section}.{key} must be above 0, not {value!r}")
        return number

    def channel(self, section: str, default_url: str, max_text: int) -> ChannelSettings:
        url = self.text(section, "api_url", default_url).rstrip("/")
        webhook = self.text(section, "webhook_url", "")
        for key, value in (("api_url", url), ("webhook_url", webhook)):
            if value and not value.startswith(("http://", "https://")):
                raise ConfigError(f"{section}.{key} must start with http:// or https://")
        return ChannelSettings(
            token=self.text(section, "token", ""),
            api_url=url,
            webhook_url=webhook,
            webhook_secret=self.text(section, "webhook_secret", ""),
            poll_timeout=self.integer(section, "poll_timeout", 30),
            max_file_mb=self.integer(section, "max_file_mb", 20),
            max_text=max_text,
            request_timeout=self.number(section, "request_timeout", 10),
            limits=Limits(
                per_second=self.number(section, "rate_per_second", 30),
                chat_per_second=self.number(section, "rate_chat_per_second", 1),
                group_per_minute=self.number(section, "rate_group_per_minute", 20),
                margin=self.number("outbox", "rate_margin_seconds", 0.01),
                concurrency=self.integer("outbox", "concurrency", 16),
                max_attempts=self.integer("outbox", "max_attempts", 12),
                backoff=self.number("outbox", "backoff_seconds", 1),
                backoff_cap=self.number("outbox", "backoff_cap_seconds", 300),
            ),
        )

    def names(self, section: str, key: str, default: list[str]) -> list[str]:
        value, from_env = self._value(section, key, default)
        if from_env:
            value = [part.strip() for part in value.split(",")]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            raise ConfigError(f"{section}.{key} must be a non-empty list of names")
        return value

    def choice(self, section: str, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(section, key, default).upper()
        if value not in allowed:
            raise ConfigError(f"{section}.{key} must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def database_url(self) -> str:
        url = self.text("database", "url", "sqlite:///sitrep.db")
        try:
            return normalize_url(url)
        except DatabaseError as exc:
            raise ConfigError(f"database.url: {exc}") from exc

    def domain(self) -> DomainSettings:
        tz_name = self.text("general", "timezone", "Asia/Ho_Chi_Minh")
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"general.timezone: unknown time zone {tz_name!r}") from exc
        return DomainSettings(
            timezone=timezone,
            topics=self._topics(),
            severities=self._severities(),
            levels=self._levels(),
            max_text_chars=self.integer("reports", "max_text_chars", 4000, minimum=100),
            draft_reminder_hours=self.integer("reports", "draft_reminder_hours", 24),
            recent_reports=self.integer("reports", "recent_reports", 5),
            invitation_days=self.integer("invitations", "expiry_days", 7),
            max_failed_codes=self.integer("invitations", "max_failed_codes", 5),
            lockout_minutes=self.integer("invitations", "lockout_minutes", 60),
            rhythm=rhythm_settings(
                self._raw,
                self._env,
                self.text("general", "media_dir", "./media"),
                job_defaults(),
                ConfigError,
            ),
            alert_channel=self._alert_channel(),
            hotspots=hotspot_settings(
                self._raw,
                self._env,
                self.text("general", "media_dir", "./media"),
                {t.code for t in self._topics()},
                ConfigError,
            ),
        )

    def _alert_channel(self) -> str:
        value = self.text("outbox", "alert_channel", "last_used").lower()
        if value not in ("last_used", "telegram", "zalo"):
            raise ConfigError(
                f"outbox.alert_channel must be last_used, telegram or zalo, not {value!r}"
            )
        return value

    def _levels(self) -> Levels:
        keys = self.names("units", "levels", ["province", "commune", "village"])
        names = self.names("units", "level_names", keys)
        if len(names) != len(keys):
            raise ConfigError("units.level_names must name each of units.levels")
        if len(set(keys)) != len(keys):
            raise ConfigError("units.levels must not repeat a level")
        leader = self.text("units", "leader_level", "commune")
        reporter = self.text("units", "reporter_level", "village")
        for key, value in (("leader_level", leader), ("reporter_level", reporter)):
            if value not in keys:
                raise ConfigError(f"units.{key} {value!r} is not one of units.levels")
        if keys.index(leader) >= keys.index(reporter):
            raise ConfigError("units.leader_level must be above units.reporter_level")
        return Levels(tuple(keys), tuple(names), leader, reporter)

    def _topics(self) -> tuple[Topic, ...]:
        raw = self._raw.get("topics")
        if not isinstance(raw, list) or not raw:
            raise ConfigError("topics: at least one [[topics]] entry is needed")
        topics = []
        for index, entry in enumerate(raw, start=1):
            code, name = entry.get("code"), entry.get("name")
            if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
                raise ConfigError(f"topics #{index}: code and name are required")
            short = entry.get("short", name)
            topics.append(Topic(code, name, short, bool(entry.get("denunciation", False))))
        if len({t.code for t in topics}) != len(topics):
            raise ConfigError("topics: two topics share a code")
        return tuple(topics)

    def _severities(self) -> tuple[Severity, ...]:
        raw = self._raw.get("severities")
        if not isinstance(raw, list) or len(raw) < 2:
            raise ConfigError("severities: at least two [[severities]] entries are needed")
        severities = []
        for index, entry in enumerate(raw, start=1):
            code, name = entry.get("code"), entry.get("name")
            if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
                raise ConfigError(f"severities #{index}: code and name are required")
            severities.append(Severity(code, name, bool(entry.get("urgent", False))))
        if sum(s.urgent for s in severities) != 1:
            raise ConfigError("severities: exactly one severity must be marked urgent = true")
        return tuple(severities)
