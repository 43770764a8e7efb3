"""Exporting reports filed through the chat as CSV, JSON and an Excel workbook."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from handlers.export import ExportError, export_reports
from handlers.messages import Attachment, Content
from storage.records import Role
from tests.harness import Harness

HIDDEN = "(giữ bí mật)"


async def chat(harness: Harness, user: str, *lines: str) -> str:
    return "\n".join([await harness.say(user, line) for line in lines])


async def file_reports(harness: Harness) -> None:
    """#1 An's week at Lũng Cú (quiet, then a land dispute added), #2 Bình's quiet week at
    Sà Phìn, #3 An's urgent complaint (a denunciation) with one addition and a photo."""
    await harness.join("an", Role.REPORTER, "721-01")
    await harness.join("binh", Role.REPORTER, "721-02")
    assert "bình thường" in await chat(harness, "an", "/baocao", "1")
    harness.advance(minutes=10)
    text = await chat(
        harness,
        "an",
        "/baocao",
        "2",
        "dat dai",
        "tiep",
        "Tranh chap dat giua 2 ho, khoang 30 nguoi",
        "2",
        "gui",
    )
    assert "#1" in text, text
    harness.advance(minutes=10)
    assert "#2" in await chat(harness, "binh", "/baocao", "1")
    harness.advance(minutes=10)
    text = await chat(harness, "an", "/khancap", "Khoang 50 nguoi keo len UBND xa", "khieu nai")
    assert "#3" in text, text
    harness.advance(minutes=5)
    photo = (Attachment("photo", "photos/keo-len-ubnd.jpg"),)
    text = await harness.say("an", "Da co cong an xa den", content=Content.PHOTO, attachments=photo)
    assert "#3" in text, text
    await chat(harness, "an", "/huy")


async def export(
    harness: Harness,
    fmt: str,
    *,
    under: str | None = None,
    since: date | None = None,
    out: Path | None = None,
) -> tuple[int, str]:
    stdout = io.StringIO()
    count = await export_reports(
        harness.app.services, fmt, under=under, since=since, out=out, stdout=stdout
    )
    return count, stdout.getvalue()


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_has_one_row_per_entry_oldest_first(harness: Harness) -> None:
    await file_reports(harness)
    count, text = await export(harness, "csv")

    assert count == 3
    rows = table(text)
    assert [(r["Số"], r["Mục"]) for r in rows] == [
        ("1", "Bình thường"),
        ("1", "Việc"),
        ("2", "Bình thường"),
        ("3", "Việc"),
        ("3", "Bổ sung"),
    ]
    land = rows[1]
    assert land["Loại"] == "Tuần"
    assert land["Tuần"] == "2026-W48"
    assert land["Gửi lúc"] == "2026-11-25 09:10"  # local time of the entry
    assert land["Lưu lúc"] == "2026-11-25 09:00"  # the week's report was first stored then
    assert land["Xã/Phường"] == "Xã Đồng Văn"
    assert (land["Mã đơn vị"], land["Đơn vị"]) == ("721-01", "Thôn Lũng Cú")
    assert land["Người báo"] == "An"
    assert land["Lĩnh vực"] == "Đất đai, giải phóng mặt bằng"
    assert land["Mức độ"] == "Cần chú ý"
    assert land["Số người"] == "30"
    assert land["Nội dung"] == "Tranh chap dat giua 2 ho, khoang 30 nguoi"
    assert land["Tố cáo"] == ""
    assert land["Đính kèm"] == "0"
    assert rows[2]["Người báo"] == "Binh"
    urgent = rows[3]
    assert urgent["Loại"] == "Khẩn"
    assert urgent["Lĩnh vực"] == "Khiếu nại, tố cáo, kiến nghị, phản ánh"
    assert (urgent["Mức độ"], urgent["Số người"]) == ("Khẩn cấp", "50")
    assert urgent["Tố cáo"] == "Có"
    addition = rows[4]
    assert (addition["Gửi lúc"], addition["Đính kèm"]) == ("2026-11-25 09:35", "1")
    assert addition["Nội dung"] == "Da co cong an xa den"


async def test_the_reporter_of_a_denunciation_is_never_named(harness: Harness) -> None:
    await file_reports(harness)
    _, text = await export(harness, "csv")
    for row in table(text):
        if row["Số"] == "3":
            assert row["Người báo"] == HIDDEN
            assert "An" not in row.values()
        else:
            assert row["Người báo"] in ("An", "Binh")

    _, text = await export(harness, "json")
    by_number = {r["number"]: r for r in json.loads(text)}
    assert by_number[1]["reporter"] == "An"
    assert by_number[3]["reporter"] == HIDDEN
    assert by_number[3]["is_denunciation"] is True
    assert "An" not in by_number[3].values()


async def test_json_has_one_object_per_report(harness: Harness) -> None:
    await file_reports(harness)
    count, text = await export(harness, "json")

    assert "Xã Đồng Văn" in text  # not \u-escaped
    reports: list[dict[str, Any]] = json.loads(text)
    assert count == len(reports) == 3
    first = reports[0]
    assert {k: first[k] for k in ("number", "kind", "week", "unit_code", "commune")} == {
        "number": 1,
        "kind": "weekly",
        "week": "2026-W48",
        "unit_code": "721-01",
        "commune": "Xã Đồng Văn",
    }
    assert first["sent_at"] == "2026-11-25T09:00:00+07:00"
    assert first["status"] == "new"
    assert [i["entry"] for i in first["items"]] == ["normal", "issue"]
    land = first["items"][1]
    assert (land["topic"], land["topic_name"]) == ("dat_dai", "Đất đai, giải phóng mặt bằng")
    assert (land["severity"], land["people"], land["attachments"]) == ("attention", 30, 0)
    assert reports[2]["kind"] == "urgent"
    assert reports[2]["items"][1] | {"sent_at": ""} == {
        "entry": "addition",
        "sent_at": "",
        "topic": None,
        "topic_name": None,
        "severity": None,
        "people": None,
        "text": "Da co cong an xa den",
        "attachments": 1,
    }


async def test_under_and_since_choose_the_reports(harness: Harness, tmp_path: Path) -> None:
    await file_reports(harness)
    assert (await export(harness, "csv", under="715"))[0] == 0
    assert table((await export(harness, "csv", under="715"))[1]) == []
    assert (await export(harness, "csv", under="721-02"))[0] == 1
    assert (await export(harness, "json", under="08"))[0] == 3

    harness.advance(days=7)  # Wednesday 2 December, week 49
    assert "#4" in await chat(harness, "binh", "/baocao", "1")
    count, text = await export(harness, "json", since=date(2026, 12, 2))
    assert count == 1
    assert json.loads(text)[0]["week"] == "2026-W49"
    assert (await export(harness, "json", since=date(2026, 12, 3)))[0] == 0
    assert (await export(harness, "json", since=date(2026, 11, 25)))[0] == 4

    out = tmp_path / "bao-cao.csv"
    count, text = await export(harness, "csv", since=date(2026, 12, 1), out=out)
    assert (count, text) == (1, "")
    assert [r["Số"] for r in table(out.read_text(encoding="utf-8"))] == ["4"]

    with pytest.raises(ExportError, match="999"):
        await export(harness, "csv", under="999")


async def test_every_export_is_audited(harness: Harness) -> None:
    await file_reports(harness)
    await export(harness, "json", under="721", since=date(2026, 11, 1))
    entries = await harness.store.audit.entries("reports.export")
    assert entries[-1] == (
        None,
        "reports.export",
        {"format": "json", "under": "721", "since": "2026-11-01", "count": 3},
    )


async def test_xlsx_has_the_reports_and_the_counts(harness: Harness, tmp_path: Path) -> None:
    await file_reports(harness)
    with pytest.raises(ExportError, match="--out"):
        await export(harness, "xlsx")
    with pytest.raises(ExportError, match="pdf"):
        await export(harness, "pdf", out=tmp_path / "x.pdf")

    out = tmp_path / "bao-cao.xlsx"
    count, text = await export(harness, "xlsx", out=out)
    assert (count, text) == (3, "")

    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Báo cáo", "Theo thôn và lĩnh vực"]
    sheet = book["Báo cáo"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "Số" and sheet["A1"].font.bold
    assert sheet.max_row == 1 + 5
    header = [c.value for c in sheet[1]]
    assert header[header.index("Người báo")] == "Người báo"
    reporters = [row[header.index("Người báo")] for row in sheet.iter_rows(2, values_only=True)]
    assert reporters == ["An", "An", "Binh", HIDDEN, HIDDEN]

    counts = book["Theo thôn và lĩnh vực"]
    top = [c.value for c in counts[1]]
    assert top[:2] == ["Mã đơn vị", "Đơn vị"]
    assert top[-1] == "Tổng"
    assert len(top) == 2 + len(harness.app.services.settings.topics) + 1
    rows = {
        row[0]: dict(zip(top, row, strict=True)) for row in counts.iter_rows(2, values_only=True)
    }
    assert set(rows) == {"721-01", "721-02"}
    an = rows["721-01"]
    assert (an["Đất đai"], an["Khiếu nại, tố cáo"], an["An ninh, trật tự"], an["Tổng"]) == (
        1,
        1,
        0,
        2,
    )
    assert rows["721-02"]["Tổng"] == 0
