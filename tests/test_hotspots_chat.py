"""/diemnong over the chat: names typed any way, periods, topics, the picture; and the CLI."""

import argparse
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot import hotspots_cli
from handlers.clock import FixedClock
from handlers.states import State
from tests.harness import START, Harness
from tests.hotspot_history import LAND, people, urgent, weekly, weeks_ago

PNG = b"\x89PNG\r\n\x1a\n"


async def _history(h: Harness) -> None:
    p = await people(h)
    for ago, name, crowd in ((3, "an", 20), (2, "binh", 30), (1, "chi", 40), (0.3, "an", 50)):
        await weekly(h, p[name], "dat_dai", LAND.format(n=crowd), at=weeks_ago(ago), count=crowd)
    await urgent(
        h,
        p["dung"],
        "ton_giao",
        "Một nhóm người lạ tụ tập truyền đạo trái phép ban đêm",
        at=weeks_ago(0.2),
        count=40,
    )
    h.clock.set(START)


async def test_a_unit_typed_any_way_or_by_code(harness: Harness) -> None:
    await _history(harness)
    for typed in ("Xã Đồng Văn", "dong van", "xa dong van", "DONG VAN", "721"):
        text = await harness.say("officer", f"/diemnong {typed}")
        assert text.startswith("📍 Xã Đồng Văn — 30 ngày qua\n1. 🔥 Điểm nóng · Đất đai"), typed
        assert "Xã Lũng Cú" not in text and "Tôn giáo" not in text
    # a village: the hotspots it reported to
    text = await harness.say("lan", "/diemnong pho cao")
    assert text.startswith("📍 Thôn Phố Cáo — 30 ngày qua\n1. 🔥 Điểm nóng · Đất đai")


async def test_an_unknown_name_offers_the_closest_ones(harness: Harness) -> None:
    await _history(harness)
    replies = await harness.send("officer", "/diemnong dong vn")
    assert replies[0].text == 'Không tìm thấy "dong vn" trong phạm vi. Có phải:'
    assert next(b.label for b in replies[0].flat_buttons()) == "Xã Đồng Văn"
    text = await harness.say("officer", "1")
    assert text.startswith("📍 Xã Đồng Văn — 30 ngày qua")
    text = await harness.say("officer", "/diemnong Hà Nội")
    assert (
        text
        == 'Không tìm thấy "Hà Nội" trong phạm vi Tỉnh Tuyên Quang. Gõ /diemnong để xem cả phạm vi.'
    )


async def test_periods_topics_and_an_empty_period(harness: Harness) -> None:
    await _history(harness)
    text = await harness.say("officer", "/diemnong thang ton giao")
    lines = text.splitlines()
    assert lines[0] == "📍 Tỉnh Tuyên Quang — 30 ngày qua · Tôn giáo"
    assert len(lines) == 2 and "Tôn giáo" in lines[1] and "(Xã Lũng Cú)" in lines[1]
    harness.clock.set(START + timedelta(days=10))
    assert await harness.say("officer", "/diemnong tuan") == (
        "Tỉnh Tuyên Quang — 7 ngày qua: không có điểm nóng nào."
    )
    assert "📍 Tỉnh Tuyên Quang — 90 ngày qua" in await harness.say("officer", "/diemnong quy")


async def test_open_acknowledge_from_the_list_and_the_picture(harness: Harness) -> None:
    await _history(harness)
    await harness.send("lan", "/diemnong")
    assert (await harness.store.conversations.get("test", "chat-lan")).state == State.HOTSPOT_LIST
    card = await harness.say("lan", "Mở 1")
    assert "Trạng thái: chưa tiếp nhận" in card
    assert await harness.say("lan", "tiep nhan") == "Đã tiếp nhận điểm nóng số 1 (Đất đai)."
    await harness.send("lan", "/diemnong")
    assert "đã tiếp nhận" in harness.last["lan"][0].text.splitlines()[1]
    replies = await harness.press("lan", "Biểu đồ")
    assert replies[0].text == "Điểm nóng — Xã Đồng Văn, 30 ngày qua"
    (picture,) = replies[0].files
    assert picture.kind == "photo"
    assert Path(picture.path).read_bytes()[:8] == PNG  # noqa: ASYNC240


async def test_cli_lists_hotspots_as_json_and_explains_one(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(harness)
    clock = FixedClock(START)
    args = argparse.Namespace(
        hotspots_command=None, under="08", level="warning", format="json", days=30, limit=50
    )
    assert await hotspots_cli.run(harness.app.config, args, clock) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["unit_code"], r["topic"], r["level"], r["status"]) for r in rows] == [
        ("721", "dat_dai", "hotspot", "new"),
        ("715", "ton_giao", "warning", "new"),
    ]
    assert rows[0]["reports"] == [1, 2, 3, 4] and rows[0]["signals"]["villages"] > 0
    args = argparse.Namespace(hotspots_command="explain", id=rows[0]["id"])
    assert await hotspots_cli.run(harness.app.config, args, clock) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hotspot 1: dat_dai in 721 Xã Đồng Văn")
    assert "villages" in out and "#4" in out and "system  alert -> new" in out


def test_csv_and_table_formats() -> None:
    row = {
        "id": 3,
        "unit_code": "721",
        "unit_name": "Xã Đồng Văn",
        "topic": "dat_dai",
        "level": "warning",
        "score": 9.5,
        "status": "handling",
        "reports": [4, 7],
        "signals": {"reports": 2.0},
        "title": "Tranh chấp đất",
    }
    out = io.StringIO()
    hotspots_cli.write([row], "csv", out)
    assert out.getvalue().splitlines()[1] == (
        "3,721,Xã Đồng Văn,dat_dai,warning,9.5,handling,#4 #7,Tranh chấp đất,reports=2.0"
    )
    out = io.StringIO()
    hotspots_cli.write([row], "table", out)
    assert "721 Xã Đồng Văn" in out.getvalue() and "(2 reports)" in out.getvalue()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SITREP_HOTSPOTS_HALF_LIFE_DAYS": "soon"}, "hotspots.half_life_days must be a number"),
        ({"SITREP_HOTSPOTS_LEVELS_WARNING": "2"}, "hotspots.levels: watch < warning < hotspot"),
        ({"SITREP_HOTSPOTS_WEIGHTS_URGENT": "-1"}, "hotspots.weights.urgent must be >= 0.0"),
        ({"SITREP_HOTSPOTS_SENSITIVE_TOPICS": "dat_dai,xyz"}, "hotspots.sensitive_topics: 'xyz'"),
        ({"SITREP_HOTSPOTS_WORKING_HOURS": "17:00-07:30"}, "hotspots.working_hours: '17:00-07:30'"),
    ],
)
def test_a_bad_hotspot_setting_is_one_line_naming_the_key(env: dict, message: str) -> None:
    from bot.config import ConfigError, load_config
    from tests.harness import ROOT

    with pytest.raises(ConfigError) as caught:
        load_config(env, ROOT / "config.toml")
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    settings = load_config({"SITREP_HOTSPOTS_WEIGHTS_URGENT": "5"}, ROOT / "config.toml")
    assert settings.domain.hotspots.weights.urgent == 5
