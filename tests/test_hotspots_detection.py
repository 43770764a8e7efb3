"""Detection: realistic histories, the planted hotspot first and explained, loud vs persistent."""

from datetime import timedelta
from pathlib import Path

from handlers.hotspots.jobs import reage_hotspots
from handlers.hotspots.scoring import Aggregate, Event
from tests.harness import START, Harness
from tests.hotspot_history import LAND, LAND_PLAIN, background, people, urgent, weekly, weeks_ago


async def _planted_land_dispute(h: Harness, p: dict) -> list[int]:
    """The same land matter from three villages of Đồng Văn over four weeks, growing."""
    numbers = []
    plan = [(4, "an", 20), (3, "binh", 30), (2, "an", 40), (1, "chi", 50), (0.5, "binh", 60)]
    for ago, name, crowd in plan:
        text = LAND_PLAIN if name == "chi" else LAND.format(n=crowd)  # one typed without accents
        report = await weekly(h, p[name], "dat_dai", text, at=weeks_ago(ago), count=crowd)
        numbers.append(report.id)
    return numbers


async def test_planted_hotspot_ranks_first_with_its_explanation(harness: Harness) -> None:
    p = await people(harness)
    await background(harness, p)
    numbers = await _planted_land_dispute(harness, p)
    harness.clock.set(START)
    text = await harness.say("lan", "/diemnong")
    lines = text.splitlines()
    assert lines[0] == "📍 Xã Đồng Văn — 30 ngày qua"
    assert lines[1].startswith("1. 🔥 Điểm nóng · Đất đai — Tranh chấp đất làm đường liên thôn")
    assert "3 thôn, 5 báo cáo trong 4 tuần" in lines[1] and "tới 60 người" in lines[1]
    assert "chưa tiếp nhận" in lines[1]
    # everyday matters of the commune are not hotspots
    assert not any(("🔥" in line or "⚠️" in line) for line in lines[2:]), text
    card = await harness.say("lan", "1")  # typed: opens the first
    assert "Đất đai, Xã Đồng Văn" in card
    assert "Báo cáo: " + ", ".join(f"#{n}" for n in sorted(numbers)) in card
    assert "Thôn: Thôn Lũng Cú, Thôn Phố Cáo, Thôn Sà Phìn" in card
    score_line = next(line for line in card.splitlines() if line.startswith("Điểm "))
    for signal in ("số báo cáo", "nhiều thôn", "kéo dài", "đông người", "lĩnh vực nhạy cảm"):
        assert signal in score_line, score_line


async def test_one_loud_report_does_not_outrank_a_persistent_issue(harness: Harness) -> None:
    p = await people(harness)
    await background(harness, p, weeks=4)
    await _planted_land_dispute(harness, p)
    loud = await urgent(
        harness,
        p["dung"],
        "an_ninh",
        "Hai nhóm thanh niên đánh nhau, khoảng 300 người xem",
        at=START - timedelta(hours=3),
        count=300,
    )
    harness.clock.set(START)
    text = await harness.say("officer", "/diemnong")
    lines = text.splitlines()
    assert lines[0] == "📍 Tỉnh Tuyên Quang — 30 ngày qua"
    assert "Đất đai" in lines[1] and "(Xã Đồng Văn)" in lines[1]
    assert "An ninh, trật tự" in lines[2] and "(Xã Lũng Cú)" in lines[2]
    assert f"#{loud.id}" in lines[2] and "⚠️ Cảnh báo" in lines[2]


async def test_same_matter_groups_across_villages_other_matters_apart(harness: Harness) -> None:
    p = await people(harness)
    await weekly(harness, p["an"], "dat_dai", LAND.format(n=20), at=weeks_ago(2))
    await weekly(harness, p["chi"], "dat_dai", LAND_PLAIN, at=weeks_ago(1))
    await weekly(
        harness, p["binh"], "dat_dai", "Hai hộ lấn chiếm ranh giới vườn cà phê", at=weeks_ago(1)
    )
    # the same words in another commune are another hotspot
    await weekly(harness, p["dung"], "dat_dai", LAND.format(n=5), at=weeks_ago(1))
    first = await harness.store.hotspots.get(1)
    assert first is not None and first.reports == 2
    assert sorted(first.state["villages"]) == sorted([str(p["an"].unit.id), str(p["chi"].unit.id)])
    others = [await harness.store.hotspots.get(n) for n in (2, 3)]
    assert [o.reports for o in others if o] == [1, 1]


async def test_incremental_scores_equal_a_recomputation(harness: Harness) -> None:
    p = await people(harness)
    await background(harness, p, weeks=6)
    await _planted_land_dispute(harness, p)
    settings = harness.app.services.settings.hotspots
    for number in range(1, 12):
        spot = await harness.store.hotspots.get(number)
        if spot is None:
            break
        events = [Event.from_json(e) for _, e in await harness.store.hotspots.events(number)]
        again = Aggregate.of(events, settings).signals(START, spot.topic, settings)
        kept = Aggregate.from_json(spot.state).signals(START, spot.topic, settings)
        assert abs(again.score - kept.score) < 0.01, (number, again, kept)
        assert again.facts == kept.facts


async def test_daily_reageing_fades_old_hotspots(harness: Harness) -> None:
    p = await people(harness)
    await _planted_land_dispute(harness, p)
    spot = await harness.store.hotspots.get(1)
    assert spot is not None and spot.level == "hotspot"
    assert await reage_hotspots(harness.app.services, START + timedelta(days=1)) == 1
    assert await reage_hotspots(harness.app.services, START + timedelta(days=1)) == 0
    await reage_hotspots(harness.app.services, START + timedelta(days=80))
    faded = await harness.store.hotspots.get(1)
    assert faded is not None and faded.level is None and faded.score < spot.score / 4
    harness.clock.set(START + timedelta(days=80))
    assert "không có điểm nóng nào" in await harness.say("lan", "/diemnong quy")


async def test_the_weekly_digest_lists_the_open_hotspot(harness: Harness) -> None:
    from handlers.rhythm.digest import build, render
    from handlers.weeks import Week

    p = await people(harness)
    await background(harness, p, weeks=4)
    await _planted_land_dispute(harness, p)
    services = harness.app.services
    week = Week.of(START - timedelta(days=7), services.settings.timezone)
    digest = await build(services, p["lan"].unit, week)
    assert digest is not None
    text = render(services, digest)
    head = next(i for i, line in enumerate(text.splitlines()) if line.startswith("Điểm nóng"))
    first = text.splitlines()[head + 1]
    assert "1. 🔥 Điểm nóng · Đất đai — Tranh chấp đất làm đường liên thôn" in first


async def test_the_periodic_draft_lists_the_hotspots_of_the_quarter(
    harness: Harness, tmp_path: Path
) -> None:
    from docx import Document

    from handlers.rhythm.calendar import parse_period
    from handlers.rhythm.periodic import draft

    p = await people(harness)
    await _planted_land_dispute(harness, p)
    services = harness.app.services
    docx_file, _, data = await draft(
        services, p["lan"].unit, parse_period("2026-Q4"), tmp_path / "q4.docx", START
    )
    assert len(data.hotspots) == 1
    paragraphs = [para.text for para in Document(str(docx_file)).paragraphs]
    section = paragraphs.index("IV. Điểm nóng và kết quả xử lý")
    assert "🔥 Điểm nóng · Đất đai — Tranh chấp đất làm đường" in paragraphs[section + 1]
