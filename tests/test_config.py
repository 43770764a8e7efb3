"""config.toml, environment overrides, and one clear line for a bad value."""

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.harness import ROOT

CONFIG = ROOT / "config.toml"


def test_defaults() -> None:
    config = load_config({}, CONFIG)
    assert config.database_url == "sqlite+aiosqlite:///sitrep.db"
    assert str(config.domain.timezone) == "Asia/Ho_Chi_Minh"
    assert config.domain.topic("dat_dai").short == "Đất đai"
    assert config.domain.urgent_severity.code == "urgent"
    assert not config.telegram.enabled
    assert config.telegram.api_url == "https://api.telegram.org"


def test_environment_overrides_every_key() -> None:
    config = load_config(
        {
            "SITREP_DATABASE_URL": "postgresql://postgres@127.0.0.1/test",
            "SITREP_GENERAL_TIMEZONE": "Asia/Bangkok",
            "SITREP_REPORTS_MAX_TEXT_CHARS": "2000",
            "SITREP_TELEGRAM_TOKEN": "123:abc",
            "SITREP_TELEGRAM_API_URL": "http://127.0.0.1:9/",
        },
        CONFIG,
    )
    assert config.database_url == "postgresql+asyncpg://postgres@127.0.0.1/test"
    assert str(config.domain.timezone) == "Asia/Bangkok"
    assert config.domain.max_text_chars == 2000
    assert config.telegram.enabled and config.telegram.api_url == "http://127.0.0.1:9"
    zalo = load_config({"SITREP_ZALO_TOKEN": "1:x", "SITREP_ZALO_RATE_PER_SECOND": "5"}, CONFIG)
    assert zalo.zalo.enabled and zalo.zalo.max_text == 2000
    assert zalo.zalo.limits.per_second == 5


def test_sitrep_config_names_another_file(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(
        CONFIG.read_text(encoding="utf-8").replace("sitrep.db", "other.db"), encoding="utf-8"
    )
    assert load_config({"SITREP_CONFIG": str(other)}).database_url.endswith("other.db")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SITREP_GENERAL_TIMEZONE": "Mars/Base"}, "general.timezone"),
        ({"SITREP_DATABASE_URL": "mysql://x/y"}, "database.url"),
        ({"SITREP_REPORTS_MAX_TEXT_CHARS": "lots"}, "reports.max_text_chars"),
        ({"SITREP_INVITATIONS_MAX_FAILED_CODES": "0"}, "invitations.max_failed_codes"),
        ({"SITREP_UNITS_LEADER_LEVEL": "hamlet"}, "units.leader_level"),
        ({"SITREP_GENERAL_LOG_LEVEL": "LOUD"}, "general.log_level"),
        ({"SITREP_OUTBOX_ALERT_CHANNEL": "sms"}, "outbox.alert_channel"),
        ({"SITREP_ZALO_API_URL": "bot-api.zapps.me"}, "zalo.api_url"),
    ],
)
def test_a_bad_value_names_its_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(env, CONFIG)


def test_secrets_are_refused_in_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        CONFIG.read_text(encoding="utf-8").replace("[telegram]\n", '[telegram]\ntoken = "1:x"\n'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="SITREP_TELEGRAM_TOKEN"):
        load_config({}, bad)


def test_missing_file_and_broken_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config({}, tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[general\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config({}, broken)
