"""The schedule from outside: config errors, `sitrep schedule` and `sitrep periodic draft`,
files through the outbox (and to Telegram's fake Bot API), and the PostgreSQL lock."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document

from bot.app import opened
from bot.cli import main
from bot.config import Config, ConfigError, load_config
from bot.outbox import DeliveryError, Failure, Limits, OutboxSender
from bot.scheduler import Leadership
from handlers.clock import FixedClock
from handlers.messages import OutgoingFile, Reply
from storage.records import Role
from storage.repositories.messages import OutboxEntry
from storage.store import Store
from tests.fake_telegram import FakeBotApi
from tests.harness import ROOT, START, Harness, seed_units
from tests.telegram_harness import TelegramChat, join, running_service, telegram_config


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("SITREP_SCHEDULE_JOBS_DIGEST", "fun 07:30", "schedule.jobs.digest"),
        ("SITREP_SCHEDULE_JOBS_REMIND_FIRST", "fri 25:00", "schedule.jobs.remind_first"),
        ("SITREP_SCHEDULE_BRIEFING_DAY", "31", "schedule.briefing_day"),
        ("SITREP_SCHEDULE_HALF_YEAR_DEADLINE", "08-15", "schedule.half_year_deadline"),
        ("SITREP_SCHEDULE_ANNUAL_DEADLINE", "02-30", "schedule.annual_deadline"),
        ("SITREP_SCHEDULE_QUARTERLY_DEADLINE_DAY", "31", "schedule.quarterly_deadline_day"),
        ("SITREP_SCHEDULE_QUIET_HOURS", "21:00", "schedule.quiet_hours"),
        ("SITREP_SCHEDULE_HOLIDAYS", "2026-13-01", "schedule.holidays"),
        ("SITREP_GENERAL_TIMEZONE", "Asia/Hanoi_City", "general.timezone"),
    ],
)
def test_a_bad_schedule_stops_start_up_naming_the_key(key: str, value: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config({key: value}, ROOT / "config.toml")


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_schedule_and_periodic_draft(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITREP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SITREP_CONFIG", str(ROOT / "config.toml"))
    monkeypatch.setenv("SITREP_GENERAL_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.delenv("SITREP_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("SITREP_ZALO_TOKEN", raising=False)
    sys.stdin = io.StringIO("/baocao binh thuong\n")
    try:
        assert main(["run"]) == 0  # the demo: a commune, three villages, one report
    finally:
        sys.stdin = sys.__stdin__
    capsys.readouterr()
    status, out, _ = _cli(capsys, "schedule", "list")
    assert status == 0
    assert "remind_first" in out and "fri 08:00" in out and "never run" in out
    status, out, _ = _cli(capsys, "schedule", "run", "remind_first", "--now", "2026-12-04T08:00")
    assert status == 0 and "remind_first at 2026-12-04 08:00: done" in out
    status, out, _ = _cli(capsys, "schedule", "list")
    assert "last 2026-12-04 08:00 done" in out
    status, _, err = _cli(capsys, "schedule", "run", "nope")
    assert status == 2 and "no job 'nope'" in err
    out_file = tmp_path / "q4.docx"
    status, out, _ = _cli(
        capsys,
        "periodic",
        "draft",
        "--unit",
        "00721",
        "--period",
        "2026-Q4",
        "--out",
        str(out_file),
    )
    assert status == 0 and "quý IV năm 2026" in out
    text = "\n".join(p.text for p in Document(str(out_file)).paragraphs)
    assert "I. Tình hình chung" in text and "V. Giao ban đã tổ chức" in text
    assert out_file.with_suffix(".xlsx").is_file()
    status, _, err = _cli(
        capsys, "periodic", "draft", "--unit", "00721", "--period", "2026-Q5", "--out", "x.docx"
    )
    assert status == 2 and "2026-Q5" in err


class _Transport:
    """A platform that records what it was given and fails once where told."""

    channel = "test"
    max_text = 4096

    def __init__(self, carries_files: bool, fail_on: str | None = None) -> None:
        self.carries_files = carries_files
        self.sent: list[str] = []
        self._fail_on = fail_on

    def is_group(self, chat_id: str) -> bool:
        return False

    async def send_text(
        self, chat_id: str, text: str, buttons: list[list[list[str]]], edit: str | None
    ) -> str:
        self.sent.append(text)
        return str(len(self.sent))

    async def send_file(self, chat_id: str, file: OutgoingFile) -> str:
        name = Path(file.path).name
        if name == self._fail_on:
            self._fail_on = None
            raise DeliveryError(Failure.TRANSIENT, "dropped")
        self.sent.append(f"{file.kind}:{name}")
        return str(len(self.sent))

    async def clear_buttons(self, chat_id: str, message_id: str) -> None:
        return None


@pytest.fixture
async def store(config: Config) -> AsyncIterator[Store]:
    async with opened(config, FixedClock(START)) as app:
        yield app.store


async def test_files_follow_the_text_and_a_crash_never_resends_a_part(
    store: Store, tmp_path: Path
) -> None:
    files = []
    for name in ("a.xlsx", "b.png"):
        (tmp_path / name).write_bytes(b"x")
        files.append(OutgoingFile(str(tmp_path / name), "photo" if "png" in name else "document"))
    reply = Reply("Tong hop", files=tuple(files))
    clock = FixedClock(START)
    await store.messages.enqueue([OutboxEntry("k1", "test", "c1", None, reply.to_payload())], START)
    transport = _Transport(True, fail_on="b.png")
    fast = Limits(chat_per_second=1000, backoff=0.01, backoff_cap=0.01)
    sender = OutboxSender(store, transport, fast, clock)
    with contextlib.suppress(TimeoutError):  # the retry waits for the clock to move
        await sender.drain(0.5)
    assert transport.sent == ["Tong hop", "document:a.xlsx"]
    clock.advance(timedelta(seconds=5))
    await sender.drain(5)
    assert transport.sent == ["Tong hop", "document:a.xlsx", "photo:b.png"]
    # a channel without files says where they are, in one line
    await store.messages.enqueue([OutboxEntry("k2", "test", "c2", None, reply.to_payload())], START)
    plain = _Transport(False)
    await OutboxSender(store, plain, fast, clock).drain(5)
    assert plain.sent[0] == "Tong hop" and "a.xlsx, b.png" in plain.sent[1]
    assert len(plain.sent) == 2


async def test_only_one_process_holds_the_scheduler_lock(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        # SQLite serves one process: it always runs the jobs
        store = await Store.open(database_url, ["normal", "attention", "urgent"])
        try:
            assert await Leadership(store.engine).acquire() is True
        finally:
            await store.close()
        return
    first = await Store.open(database_url, ["normal", "attention", "urgent"])
    second = await Store.open(database_url, ["normal", "attention", "urgent"])
    a, b = Leadership(first.engine), Leadership(second.engine)
    try:
        assert await a.acquire() is True
        assert await b.acquire() is False
        await a.release()
        assert await b.acquire() is True
    finally:
        await a.release()
        await b.release()
        await first.close()
        await second.close()


async def test_telegram_uploads_the_digest_files(database_url: str, tmp_path: Path) -> None:
    async with FakeBotApi(private_per_second=100) as api:
        config = telegram_config(
            database_url, tmp_path, api, SITREP_TELEGRAM_RATE_CHAT_PER_SECOND="100"
        )
        async with opened(config) as app:
            await seed_units(app)
        async with running_service(config):
            await api.wait_until(lambda: api.polling, timeout=10)
            store = await Store.open(config.database_url, ["normal", "attention", "urgent"])
            try:
                chat = TelegramChat(api, store)
                await join(chat, store, 2001, Role.LEADER, "721")
                (tmp_path / "w.xlsx").write_bytes(b"PK-sheet")
                (tmp_path / "c.png").write_bytes(b"\x89PNG-chart")
                reply = Reply(
                    "Tong hop tuan",
                    files=(
                        OutgoingFile(str(tmp_path / "w.xlsx"), "document", "So lieu"),
                        OutgoingFile(str(tmp_path / "c.png"), "photo", "Bieu do"),
                    ),
                )
                entry = OutboxEntry("digest:test", "telegram", "2001", None, reply.to_payload())
                await store.messages.enqueue([entry], START)
                await api.wait_until(lambda: bool(api.calls_to("sendPhoto")), timeout=10)
            finally:
                await store.close()
        document = api.calls_to("sendDocument")[0]
        assert document.params["caption"] == "So lieu"
        assert document.params["document"].content == b"PK-sheet"
        assert api.calls_to("sendPhoto")[0].params["caption"] == "Bieu do"


async def test_harness_runs_the_quiet_week_command_only_for_reporters(harness: Harness) -> None:
    await harness.join("lan", Role.LEADER, "721")
    assert "dành cho trưởng thôn" in await harness.say("lan", "/binhthuong")
