"""The `sitrep` command line, as an administrator uses it (SQLite in a temporary folder)."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.harness import ROOT


@pytest.fixture(autouse=True)
def _database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITREP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SITREP_CONFIG", str(ROOT / "config.toml"))
    monkeypatch.delenv("SITREP_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("SITREP_ZALO_TOKEN", raising=False)


def _run(
    capsys: pytest.CaptureFixture[str], *args: str, stdin: str | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        status = main(list(args))
    finally:
        sys.stdin = sys.__stdin__
    out, err = capsys.readouterr()
    return status, out, err


def test_run_on_an_empty_database_starts_a_labelled_demo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = _run(capsys, "run", stdin="/baocao\n1\n")
    assert status == 0
    assert "DEMO" in out and "Xã Đồng Văn" in out
    assert "  1. ✅ Bình thường, không có gì mới" in out
    assert "bình thường (#1)" in out


def test_an_urgent_report_in_the_terminal_shows_the_leaders_alert(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = "/khancap\nKhoang 50 nguoi keo len UBND xa\ndat dai\n"
    status, out, _ = _run(capsys, "run", stdin=script)
    assert status == 0
    assert "Đã gửi báo cáo khẩn #1 tới lãnh đạo Xã Đồng Văn" in out
    assert "--- [Lãnh đạo xã (demo)] ---" in out and "🚨 KHẨN" in out
    status, out, _ = _run(capsys, "chat", "--as", "leader", stdin="/xem 1\n/chuabaocao\n")
    assert "🚨 Báo cáo khẩn #1" in out
    assert "0/3 thôn đã báo cáo" in out


def test_units_invite_and_join(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, _ = _run(capsys, "units", "load", "--province", "tuyen quang")
    assert status == 0 and "124 communes" in out
    villages = tmp_path / "villages.csv"
    villages.write_text(
        "code,name,parent_code\n00721-01,Thôn Lũng Cú,00721\n00721-02,Thôn Sà Phìn,00721\n",
        encoding="utf-8",
    )
    status, out, _ = _run(capsys, "units", "import", str(villages))
    assert status == 0 and "2 added" in out
    status, out, _ = _run(capsys, "units", "list", "--under", "00721")
    assert "Thôn Sà Phìn" in out and "Xã Lũng Cú" not in out
    status, out, _ = _run(
        capsys, "invite", "--role", "reporter", "--unit", "00721-01", "--uses", "2"
    )
    assert status == 0
    code = out.strip().splitlines()[-1]
    assert len(code) == 8
    status, out, _ = _run(capsys, "run", stdin=f"/start {code}\n/baocao binh thuong\n")
    assert "Đã đăng ký: báo cáo viên" in out and "Thôn Lũng Cú" in out
    assert "bình thường (#1)" in out
    status, out, _ = _run(capsys, "reports", "export", "--format", "csv")
    assert status == 0 and "Thôn Lũng Cú" in out
    status, out, _ = _run(capsys, "members")
    assert "reporter" in out and "console:console-reporter" in out


def test_mistakes_get_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = _run(capsys, "invite", "--role", "leader", "--unit", "nope")
    assert status == 2 and "unknown unit code 'nope'" in err
    _run(capsys, "units", "load", "--province", "8")
    status, _, err = _run(capsys, "invite", "--role", "reporter", "--unit", "00721")
    assert status == 2 and "reporter belongs to a unit of level 'village'" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,parent_code\nA,,00721\nB,Thôn B,99999\n", encoding="utf-8")
    status, _, err = _run(capsys, "units", "import", str(bad))
    assert status == 1 and "line 2" in err and "line 3" in err
    status, _, err = _run(capsys, "reports", "export", "--format", "xlsx")
    assert status == 2


def test_a_bad_setting_stops_start_up_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITREP_GENERAL_TIMEZONE", "Nowhere/Land")
    status, _, err = _run(capsys, "run", stdin="")
    assert status == 2
    assert err.strip().splitlines() == [
        "sitrep: config error: general.timezone: unknown time zone 'Nowhere/Land'"
    ]


def test_python_dash_m_bot_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True
    )
    assert "units" in done.stdout and "invite" in done.stdout
