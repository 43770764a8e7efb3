"""Building report histories for the hotspot tests: reports stored as the chat stores them
(the same repository calls and the same hotspot hook), at chosen times."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

from handlers.hotspots.detection import report_stored
from handlers.weeks import Week
from storage.records import ItemDraft, Member, Report, Role
from tests.harness import START, Harness

_sources = itertools.count(1)

LAND = "Tranh chấp đất làm đường liên thôn, dân phản đối thu hồi đất nương, khoảng {n} người"
LAND_PLAIN = "Tranh chap dat lam duong lien thon, dan phan doi thu hoi dat nuong"


async def people(h: Harness) -> dict[str, Member]:
    """Reporters in each village, two leaders of Đồng Văn, one of Lũng Cú, a province officer."""
    return {
        "an": await h.join("an", Role.REPORTER, "721-01"),
        "binh": await h.join("binh", Role.REPORTER, "721-02"),
        "chi": await h.join("chi", Role.REPORTER, "721-03"),
        "dung": await h.join("dung", Role.REPORTER, "715-01"),
        "lan": await h.join("lan", Role.LEADER, "721"),
        "minh": await h.join("minh", Role.LEADER, "721"),
        "tuan": await h.join("tuan", Role.LEADER, "715"),
        "officer": await h.join("officer", Role.OFFICER, "08"),
    }


async def weekly(
    h: Harness,
    reporter: Member,
    topic: str,
    text: str,
    *,
    at: datetime,
    severity: str = "attention",
    count: int | None = None,
) -> Report:
    """A weekly report (or an addition to the village's report of that week) sent at ``at``."""
    h.clock.set(at)
    week = Week.of(at, h.app.services.settings.timezone).key
    submitted = await h.store.reports.submit_weekly(
        unit_id=reporter.unit.id,
        reporter_id=reporter.id,
        week=week,
        source=f"history:{next(_sources)}",
        sent_at=at,
        now=at,
        items=[ItemDraft(topic, text, severity, count)],
    )
    return await _stored(h, submitted.report_id)


async def urgent(
    h: Harness, reporter: Member, topic: str, text: str, *, at: datetime, count: int | None
) -> Report:
    h.clock.set(at)
    week = Week.of(at, h.app.services.settings.timezone).key
    submitted = await h.store.reports.submit_urgent(
        unit_id=reporter.unit.id,
        reporter_id=reporter.id,
        week=week,
        source=f"history:{next(_sources)}",
        sent_at=at,
        now=at,
        item=ItemDraft(topic, text, "urgent", count),
        place=None,
        denunciation=False,
    )
    return await _stored(h, submitted.report_id)


async def _stored(h: Harness, number: int) -> Report:
    report = await h.store.reports.get(number)
    assert report is not None
    await h.app.engine.deliver(await report_stored(h.app.services, report))
    return report


def weeks_ago(n: float) -> datetime:
    return START - timedelta(weeks=n)


ROUTINE = [
    ("kinh_te", "Giá phân bón tăng, bà con lo mùa vụ", "normal"),
    ("kinh_te", "Một số lao động đi làm ăn xa trở về sau Tết", "normal"),
    ("moi_truong", "Mưa lớn làm sạt một đoạn taluy nhỏ, đã dọn xong", "attention"),
    ("moi_truong", "Rác thải ở khu chợ phiên chưa được thu gom", "normal"),
    ("van_hoa", "Thôn tổ chức giao lưu văn nghệ mừng ngày hội đại đoàn kết", "normal"),
    ("an_sinh", "Hai hộ cận nghèo xin hỗ trợ sửa nhà", "attention"),
    ("an_ninh", "Mất trộm một con bò, đã báo công an xã", "attention"),
    ("dat_dai", "Một hộ hỏi thủ tục cấp sổ đỏ cho đất vườn", "normal"),
]


async def background(h: Harness, p: dict[str, Member], weeks: int = 8) -> None:
    """Ordinary weeks: mostly quiet, now and then an everyday matter, never the same twice."""
    chooser = random.Random(7)
    names = ["an", "binh", "chi", "dung"]
    for week in range(weeks, 0, -1):
        for n, name in enumerate(names):
            at = weeks_ago(week) + timedelta(hours=n)
            if chooser.random() < 0.6:
                await quiet(h, p[name], at=at)
                continue
            topic, text, severity = chooser.choice(ROUTINE)
            await weekly(h, p[name], topic, f"{text} (tuần {week})", at=at, severity=severity)


async def quiet(h: Harness, reporter: Member, *, at: datetime) -> None:
    h.clock.set(at)
    week = Week.of(at, h.app.services.settings.timezone).key
    await h.store.reports.submit_weekly(
        unit_id=reporter.unit.id,
        reporter_id=reporter.id,
        week=week,
        source=f"history:{next(_sources)}",
        sent_at=at,
        now=at,
        items=[],
    )
