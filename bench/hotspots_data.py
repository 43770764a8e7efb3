"""A synthetic province for the hotspot bench, bulk-loaded with core inserts (executemany).

Reports: one weekly report per village and week (most of them quiet) and, to reach the total,
ad-hoc (đột xuất) reports, mostly mild. Their hotspots are built in memory with the service's
own scoring and grouping (``handlers.hotspots.scoring``), as the incremental update would have
built them report by report, then inserted with their links.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.hotspots.detection import title_of
from handlers.hotspots.scoring import Aggregate, Event, keywords, merge_keywords, overlap
from handlers.hotspots.settings import HotspotSettings
from handlers.settings import DomainSettings
from handlers.weeks import Week
from storage.models import (
    HotspotReportRow,
    HotspotRow,
    MemberRow,
    ReportItemRow,
    ReportRow,
    UnitRow,
)

CHUNK = 5000
REPORT_COLUMNS = (
    "id", "kind", "unit_id", "reporter_id", "week", "weekly_key", "source", "is_normal",
    "severity", "people", "is_denunciation", "place", "status", "sent_at", "stored_at",
    "updated_at", "escalation",
)  # fmt: skip
ITEM_COLUMNS = (
    "id", "report_id", "reporter_id", "kind", "topic", "severity", "people", "text", "source",
    "sent_at", "stored_at",
)  # fmt: skip
# topic -> (share of issues, matters: "subject" texts)
TOPICS: dict[str, tuple[int, list[str]]] = {
    "kinh_te": (20, ["Giá phân bón tăng cao", "Lao động đi làm ăn xa", "Giá lợn hơi giảm mạnh",
                     "Thiếu vốn sản xuất vụ mới", "Hàng nông sản khó tiêu thụ"]),
    "moi_truong": (12, ["Sạt lở taluy đường liên thôn", "Rác thải khu chợ phiên",
                        "Nước suối đục do khai thác cát", "Mưa đá làm hỏng mái nhà"]),
    "an_sinh": (12, ["Hộ cận nghèo xin hỗ trợ sửa nhà", "Chậm chi trả trợ cấp người cao tuổi",
                     "Học sinh bỏ học đi làm"]),
    "van_hoa": (8, ["Giao lưu văn nghệ ngày hội", "Tổ chức đám cưới linh đình kéo dài"]),
    "an_ninh": (10, ["Mất trộm gia súc", "Thanh niên tụ tập đua xe ban đêm",
                     "Người lạ qua lại biên giới"]),
    "dat_dai": (12, ["Hỏi thủ tục cấp sổ đỏ đất vườn", "Tranh chấp ranh giới nương rẫy",
                     "Phản đối mức bồi thường giải phóng mặt bằng"]),
    "khieu_nai": (6, ["Kiến nghị sửa đường vào bản", "Phản ánh cán bộ thôn thu tiền sai"]),
    "du_luan": (5, ["Bàn tán tin đồn trên mạng xã hội", "Lo ngại giá điện tăng"]),
    "ton_giao": (3, ["Sinh hoạt tôn giáo tại gia", "Người lạ đến truyền đạo"]),
    "dan_toc": (2, ["Mâu thuẫn giữa hai dòng họ"]),
    "thoi_su": (3, ["Quan tâm bầu cử", "Theo dõi tin bão lũ"]),
    "khac": (7, ["Việc khác trong thôn"]),
}  # fmt: skip
PLACES = ["ở đầu bản", "gần trường học", "khu chợ phiên", "dưới chân núi", "ven suối", ""]
PLANTED = [
    ("dat_dai", "Hàng trăm hộ phản đối thu hồi đất làm thủy điện, kéo lên trụ sở xã"),
    ("ton_giao", "Nhóm người lạ tổ chức truyền đạo trái phép, tụ tập đông người ban đêm"),
    ("an_ninh", "Hai dòng họ xô xát vì tranh chấp mốc giới, có người bị thương"),
]


@dataclass
class Sizes:
    communes: int = 120
    villages: int = 1500
    reports: int = 1_000_000
    years: float = 3.0
    seed: int = 2026


@dataclass
class _Group:
    id: int
    commune: int
    topic: str
    title: str
    keywords: dict[str, int]
    aggregate: Aggregate = field(default_factory=Aggregate)
    urgent: bool = False


@dataclass
class Province:
    province_id: int
    commune_ids: list[int]
    village_commune: dict[int, int]  # village id -> commune id
    reporter_of: dict[int, int]  # village id -> member id
    planted: list[int] = field(default_factory=list)  # hotspot ids of the planted ones
    counts: dict[str, int] = field(default_factory=dict)


async def load(
    engine: AsyncEngine, sizes: Sizes, settings: DomainSettings, now: datetime
) -> Province:
    """Write the units, members, reports and hotspots; returns what the bench asks about."""
    rng = random.Random(sizes.seed)
    tz = settings.timezone
    hs = settings.hotspots
    province = await _units_and_members(engine, sizes, now)
    start = now - timedelta(days=365 * sizes.years)
    weeks = int((now - start).days // 7)
    villages = list(province.village_commune)
    topics = list(TOPICS)
    shares = [TOPICS[t][0] for t in topics]
    cache: dict[str, set[str]] = {}
    groups: dict[tuple[int, str], list[_Group]] = {}
    all_groups: list[_Group] = []
    reports: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    weekly_total = min(len(villages) * weeks, int(sizes.reports * 0.3))
    report_id = 0
    counts = {"weekly": 0, "adhoc": 0, "issues": 0, "planted": 0}

    async def flush(force: bool = False) -> None:
        if force or len(reports) >= CHUNK:
            async with engine.begin() as conn:
                for table, rows in ((ReportRow, reports), (ReportItemRow, items)):
                    if rows:
                        await conn.execute(insert(table.__table__), rows)
            reports.clear()
            items.clear()

    def stream() -> Iterator[tuple[datetime, int, bool]]:
        """(time, village, weekly?) in time order, day by day."""
        per_week_adhoc = (sizes.reports - weekly_total) / max(1, weeks)
        weekly_share = weekly_total / max(1, len(villages) * weeks)
        for week in range(weeks):
            monday = start + timedelta(weeks=week)
            batch = [
                (monday + timedelta(hours=rng.uniform(0, 160)), v, True)
                for v in villages
                if rng.random() < weekly_share
            ]
            adhoc = int(per_week_adhoc) + (rng.random() < per_week_adhoc % 1)
            batch += [
                (monday + timedelta(hours=rng.uniform(0, 167)), rng.choice(villages), False)
                for _ in range(adhoc)
            ]
            yield from sorted(batch)

    def planted_stream() -> Iterator[tuple[datetime, int, str, str, int]]:
        """Three hotspots in the last three weeks: many villages of one commune each."""
        for n, (topic, text) in enumerate(PLANTED):
            commune = province.commune_ids[(n * 37 + 11) % len(province.commune_ids)]
            its = [v for v, c in province.village_commune.items() if c == commune]
            for k in range(24):
                at = now - timedelta(hours=rng.uniform(2, 21 * 24))
                yield at, rng.choice(its), topic, f"{text} ({k % 4 + 1})", 80 + 20 * k

    seen_weekly: set[tuple[int, str]] = set()
    events = list(stream())
    planted = {(at, v): (t, txt, ppl) for at, v, t, txt, ppl in planted_stream()}
    merged: list[tuple[datetime, int, bool, tuple[datetime, int] | None]] = [
        (at, v, w, None) for at, v, w in events
    ]
    merged += [(key[0], key[1], False, key) for key in planted]
    merged.sort(key=lambda entry: entry[0])
    for at, village, is_weekly, planted_key in merged:
        week = Week.of(at, tz).key
        if is_weekly and (village, week) in seen_weekly:
            continue
        report_id += 1
        commune = province.village_commune[village]
        reporter = province.reporter_of[village]
        quiet = is_weekly and rng.random() < 0.6
        people = None
        if planted_key is not None:
            topic, text, people = planted[planted_key]
            severity = "urgent" if rng.random() < 0.3 else "attention"
            counts["planted"] += 1
        elif not quiet:
            topic = rng.choices(topics, shares)[0]
            matter = rng.choice(TOPICS[topic][1])
            text = f"{matter} {rng.choice(PLACES)}".strip()
            roll = rng.random()
            severity = "urgent" if roll < 0.01 else "attention" if roll < 0.25 else "normal"
            if rng.random() < 0.3:
                people = rng.choice([3, 5, 10, 20, 30, 50])
        kind = "weekly" if is_weekly else "urgent"
        counts["weekly" if is_weekly else "adhoc"] += 1
        if is_weekly:
            seen_weekly.add((village, week))
        weekly_key = f"{village}:{week}" if is_weekly else None
        level = "normal" if quiet else severity
        reports.append(
            dict(zip(REPORT_COLUMNS, (
                report_id, kind, village, reporter, week, weekly_key, f"bench:{report_id}",
                quiet, level, people, False, None, "new", at, at, at, 0,
            ), strict=True))
        )  # fmt: skip
        items.append(
            dict(zip(ITEM_COLUMNS, (
                report_id, report_id, reporter, "normal" if quiet else "issue",
                None if quiet else topic, None if quiet else severity, people,
                "" if quiet else text, f"bench:{report_id}:0", at, at,
            ), strict=True))
        )  # fmt: skip
        if not quiet:
            counts["issues"] += 1
            event = Event(
                report_id,
                report_id,
                village,
                reporter,
                settings.severity_rank(severity),
                severity == "urgent",
                people,
                topic in hs.complaint_topics,
                at,
                week,
            )
            words = cache.get(text)
            if words is None:
                words = cache[text] = keywords(text, _topic_words(settings, topic))
            group = _join(groups, all_groups, commune, topic, text, words, at, hs)
            group.aggregate.add(event, hs)
            group.keywords = merge_keywords(group.keywords, words)
            group.urgent = group.urgent or event.urgent
            if planted_key is not None and group.id not in province.planted:
                province.planted.append(group.id)
            links.append(
                {
                    "hotspot_id": group.id,
                    "report_id": report_id,
                    "item_id": report_id,
                    "event": event.to_json(),
                    "sent_at": at,
                }
            )
        await flush()
    await flush(force=True)
    await _hotspots(engine, all_groups, links, province, hs, now)
    counts["hotspots"] = len(all_groups)
    province.counts = counts
    return province


def _topic_words(settings: DomainSettings, topic: str) -> set[str]:
    from handlers.matching import fold

    found = settings.topic(topic)
    return set(fold(f"{found.name} {found.short}").split())


def _join(
    groups: dict[tuple[int, str], list[_Group]],
    all_groups: list[_Group],
    commune: int,
    topic: str,
    text: str,
    words: set[str],
    at: datetime,
    hs: HotspotSettings,
) -> _Group:
    """The same choice as the service's (detection._closest); old groups are let go."""
    edge = at - timedelta(days=hs.window_days)
    candidates = [
        g
        for g in groups.get((commune, topic), [])
        if g.aggregate.last_at is not None and g.aggregate.last_at >= edge
    ]
    best = None
    if candidates and not words:
        best = max(candidates, key=lambda g: g.aggregate.reports)
    elif candidates:
        similarity, _, best = max(
            ((overlap(words, g.keywords), g.aggregate.reports, g) for g in candidates),
            key=lambda s: (s[0], s[1], s[2].id),
        )
        if similarity < hs.similarity:
            best = None
    if best is None:
        best = _Group(len(all_groups) + 1, commune, topic, title_of(text), {})
        all_groups.append(best)
        candidates.append(best)
    groups[(commune, topic)] = candidates
    return best


async def _hotspots(
    engine: AsyncEngine,
    all_groups: list[_Group],
    links: list[dict[str, Any]],
    province: Province,
    hs: HotspotSettings,
    now: datetime,
) -> None:
    paths = {c: f"/{province.province_id}/{c}/" for c in province.commune_ids}
    rows = []
    for g in all_groups:
        agg = g.aggregate
        signals = agg.signals(now, g.topic, hs)
        level = hs.level(signals.score)
        rows.append(
            {
                "id": g.id,
                "unit_id": g.commune,
                "unit_path": paths[g.commune],
                "topic": g.topic,
                "title": g.title,
                "keywords": g.keywords,
                "state": agg.to_json(),
                "signals": {"points": signals.points, "facts": signals.facts},
                "score": signals.score,
                "level": level,
                "peak_level": level,
                "reports": agg.reports,
                "urgent": g.urgent,
                "status": "new",
                "cycle": 0,
                "first_at": agg.first_at,
                "last_at": agg.last_at,
                "scored_at": now,
                "escalation": 0,
                "created_at": agg.first_at,
                "updated_at": now,
            }
        )
    async with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(insert(HotspotRow.__table__), rows[start : start + CHUNK])
        for start in range(0, len(links), CHUNK):
            await conn.execute(insert(HotspotReportRow.__table__), links[start : start + CHUNK])


async def _units_and_members(engine: AsyncEngine, sizes: Sizes, now: datetime) -> Province:
    units: list[dict[str, Any]] = [
        {
            "id": 1,
            "code": "B08",
            "name": "Tỉnh Bench",
            "level": "province",
            "parent_id": None,
            "path": "/1/",
            "search_name": "tinh bench",
        }
    ]
    communes = list(range(2, 2 + sizes.communes))
    for n, c in enumerate(communes, start=1):
        units.append(
            {
                "id": c,
                "code": f"B{n:03d}",
                "name": f"Xã Bench {n}",
                "level": "commune",
                "parent_id": 1,
                "path": f"/1/{c}/",
                "search_name": f"xa bench {n}",
            }
        )
    village_commune = {}
    next_id = 2 + sizes.communes
    for n in range(sizes.villages):
        c = communes[n % len(communes)]
        v = next_id + n
        village_commune[v] = c
        units.append(
            {
                "id": v,
                "code": f"B{c - 1:03d}-{n:04d}",
                "name": f"Thôn Bench {n}",
                "level": "village",
                "parent_id": c,
                "path": f"/1/{c}/{v}/",
                "search_name": f"thon bench {n}",
            }
        )
    members = [
        {
            "id": n,
            "display_name": f"Reporter {v}",
            "role": "reporter",
            "unit_id": v,
            "active": True,
            "created_at": now,
        }
        for n, v in enumerate(village_commune, start=1)
    ]
    base = len(members)
    members += [
        {
            "id": base + n,
            "display_name": f"Leader {c}",
            "role": "leader",
            "unit_id": c,
            "active": True,
            "created_at": now,
        }
        for n, c in enumerate(communes, start=1)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(UnitRow.__table__), units)
        await conn.execute(insert(MemberRow.__table__), members)
    reporter_of = {v: n for n, v in enumerate(village_commune, start=1)}
    return Province(1, communes, village_commune, reporter_of)


def utc_now() -> datetime:
    return datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
