"""Loading official provinces, importing villages from CSV, and listing the tree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, opened
from bot.config import Config
from handlers.clock import FixedClock
from handlers.units import (
    ImportFailed,
    UnitError,
    find_province,
    import_csv,
    load_province,
    tree_lines,
)
from tests.harness import START, Harness


@pytest.fixture
async def app(config: Config) -> AsyncIterator[App]:
    """An empty database: no units at all."""
    async with opened(config, FixedClock(START)) as opened_app:
        yield opened_app


def write_csv(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "units.csv"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


async def test_load_tuyen_quang_gives_its_124_communes(app: App) -> None:
    settings = app.services.settings
    result = await load_province(app.store, settings, "tuyen quang")

    assert result.communes == 124
    assert (result.added, result.updated) == (125, 0)
    province = result.province
    assert (province.code, province.name, province.level) == ("08", "Tỉnh Tuyên Quang", "province")
    communes = await app.store.units.subtree(province, "commune")
    assert len(communes) == 124
    dong_van = await app.store.units.by_code("00721")
    assert dong_van is not None
    assert (dong_van.name, dong_van.level, dong_van.parent_id) == (
        "Xã Đồng Văn",
        "commune",
        province.id,
    )
    assert province.contains(dong_van)


async def test_loading_twice_adds_nothing(app: App) -> None:
    settings = app.services.settings
    await load_province(app.store, settings, "08")
    again = await load_province(app.store, settings, "Tỉnh Tuyên Quang")

    assert (again.added, again.updated, again.communes) == (0, 0, 124)
    assert await app.store.units.count() == 125


async def test_a_city_keeps_its_own_name(app: App) -> None:
    result = await load_province(app.store, app.services.settings, "TP Ha Noi")
    assert (result.province.code, result.province.name) == ("01", "Thành phố Hà Nội")


@pytest.mark.parametrize(
    "query",
    ["8", "08", "Tuyên Quang", "tuyen quang", "Tỉnh Tuyên Quang", " TINH TUYEN QUANG "],
)
def test_province_typed_any_way(query: str) -> None:
    assert int(find_province(query).code) == 8


@pytest.mark.parametrize("query", ["TP Hà Nội", "Ha Noi", "thanh pho ha noi", "Hà Nội"])
def test_city_typed_any_way(query: str) -> None:
    assert int(find_province(query).code) == 1


async def test_unknown_province_suggests_close_names(app: App) -> None:
    with pytest.raises(UnitError) as raised:
        await load_province(app.store, app.services.settings, "Tuyen Qung")
    message = str(raised.value)
    assert "Tuyen Qung" in message
    assert "Tỉnh Tuyên Quang" in message
    assert message.count(",") <= 4  # at most five suggestions
    with pytest.raises(UnitError, match="99"):
        await load_province(app.store, app.services.settings, "99")
    assert await app.store.units.count() == 0


def test_a_merged_province_points_to_its_new_province() -> None:
    with pytest.raises(UnitError) as raised:
        find_province("Hà Giang")
    assert "part of Tỉnh Tuyên Quang (08)" in str(raised.value)


async def test_import_villages_with_a_parent_later_in_the_file(app: App, tmp_path: Path) -> None:
    settings = app.services.settings
    await load_province(app.store, settings, "08")
    path = write_csv(
        tmp_path,
        "code,name,parent_code\r\n"
        " 00721-01 , Thôn Lũng Cú ,00721\r\n"
        "00721-02,Thôn Sà Phìn,00721\r\n"
        "\r\n"
        "99001-01,Thôn Mới,99001\r\n"
        "99001,Xã Thử Nghiệm,08\r\n",
        bom=True,
    )
    result = await import_csv(app.store, settings, path)

    assert (result.added, result.updated) == (4, 0)
    village = await app.store.units.by_code("00721-01")
    commune = await app.store.units.by_code("00721")
    assert village is not None and commune is not None
    assert (village.name, village.level, village.parent_id) == (
        "Thôn Lũng Cú",
        "village",
        commune.id,
    )
    new_commune = await app.store.units.by_code("99001")
    new_village = await app.store.units.by_code("99001-01")
    assert new_commune is not None and new_village is not None
    assert new_commune.level == "commune"
    assert (new_village.level, new_village.parent_id) == ("village", new_commune.id)
    assert new_commune.contains(new_village)

    # The same file again with one name corrected: one update, nothing duplicated.
    path.write_text(path.read_text(encoding="utf-8").replace("Sà Phìn", "Sà Phìn A"), "utf-8")
    again = await import_csv(app.store, settings, path)
    assert (again.added, again.updated, again.unchanged) == (0, 1, 3)
    assert await app.store.units.count() == 125 + 4


async def test_a_bad_file_reports_every_line_and_writes_nothing(app: App, tmp_path: Path) -> None:
    settings = app.services.settings
    await load_province(app.store, settings, "08")
    before = await app.store.units.count()
    path = write_csv(
        tmp_path,
        "code,name,parent_code\n"
        "00721-01,Thôn Lũng Cú,00721\n"  # 2: fine on its own
        "00721-02,Thôn Sà Phìn,00999\n"  # 3: unknown parent
        "00721-01,Thôn Lũng Cú 2,00721\n"  # 4: code again
        "00721-03,,00721\n"  # 5: empty name
        "00721-04,Thôn Bốn\n"  # 6: two columns
        "00721-05,Xóm dưới thôn,00721-01\n"  # 7: below the last level
        "00721-06,Thôn Sáu,721\n"  # 8: unknown parent, leading zeros lost
        "A,Vòng A,B\n"  # 9: A and B are each other's parents
        "B,Vòng B,A\n"  # 10
        "00721-07,Thôn Bảy,\n",  # 11: no parent
    )
    with pytest.raises(ImportFailed) as raised:
        await import_csv(app.store, settings, path)

    errors = raised.value.errors
    for line in (3, 4, 5, 6, 7, 8, 9, 10, 11):
        assert any(e.startswith(f"line {line}: ") for e in errors), (line, errors)
    assert not any(e.startswith("line 2:") for e in errors)
    assert "line 3: unknown parent code 00999" in errors
    assert any("line 8:" in e and "00721" in e for e in errors)
    assert await app.store.units.count() == before
    assert await app.store.units.by_code("00721-01") is None


async def test_a_wrong_header_is_line_1(app: App, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "ma,ten,ma_cha\n00721-01,Thôn Lũng Cú,00721\n")
    with pytest.raises(ImportFailed) as raised:
        await import_csv(app.store, app.services.settings, path)
    assert len(raised.value.errors) == 1
    assert raised.value.errors[0].startswith("line 1: ")


async def test_tree_lines_indent_by_level_and_sort_by_name(harness: Harness) -> None:
    settings = harness.app.services.settings
    lines = await tree_lines(harness.store, settings, None)
    assert lines == [
        "08  Tỉnh Tuyên Quang (Tỉnh/Thành phố)",
        "  721  Xã Đồng Văn (Xã/Phường/Đặc khu)",
        "    721-01  Thôn Lũng Cú (Thôn/Tổ dân phố)",
        "    721-03  Thôn Phố Cáo (Thôn/Tổ dân phố)",
        "    721-02  Thôn Sà Phìn (Thôn/Tổ dân phố)",
        "  715  Xã Lũng Cú (Xã/Phường/Đặc khu)",
        "    715-01  Thôn Thèn Pả (Thôn/Tổ dân phố)",
    ]
    assert await tree_lines(harness.store, settings, "715") == [
        "715  Xã Lũng Cú (Xã/Phường/Đặc khu)",
        "  715-01  Thôn Thèn Pả (Thôn/Tổ dân phố)",
    ]
    with pytest.raises(UnitError, match="999"):
        await tree_lines(harness.store, settings, "999")
