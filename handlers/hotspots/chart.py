"""The /diemnong picture: a heat table of scores by unit and topic, and each hotspot's score
over the last 8 weeks (PNG, matplotlib's Agg renderer, drawn off the event loop)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from matplotlib.figure import Figure

from handlers.hotspots.ranking import top_details
from handlers.hotspots.render import score_at, topic_label
from handlers.messages import OutgoingFile, Reply
from handlers.services import Services
from storage.records import Unit

log = logging.getLogger(__name__)

WEEKS = 8
LINES = 5


@dataclass(frozen=True)
class ChartData:
    title: str
    rows: list[str]  # unit names
    columns: list[str]  # topic labels
    cells: list[list[float]]  # rows x columns: the highest score
    weeks: list[str]  # "dd/mm" of each week's end
    lines: list[tuple[str, list[float]]]  # (label, score at each week's end)
    heat_title: str
    line_title: str


async def chart_reply(
    services: Services, scope: Unit, days: int, topic: str | None, now: datetime
) -> Reply:
    """The picture of the scope's hotspots as a reply with a photo, or words if none."""
    texts = services.texts
    levels = services.settings.levels.keys
    found = await top_details(services, scope, days, topic, now)
    if not found:
        return Reply(texts("hotspots.chart.none", scope=scope.name))
    wide = levels.index(scope.level) < levels.index(services.settings.levels.leader)
    units = await services.store.units.by_ids(
        [f.hotspot.unit_id for f in found]
        if wide
        else [e.village_id for f in found for e in f.events]
    )
    cells: dict[tuple[str, str], float] = {}
    for item in found:
        column = topic_label(services, item.hotspot.topic)
        places = [item.hotspot.unit_id] if wide else sorted({e.village_id for e in item.events})
        for place in places:
            name = units[place].name if place in units else str(place)
            cells[(name, column)] = max(cells.get((name, column), 0.0), item.score)
    rows = sorted({r for r, _ in cells})
    columns = sorted({c for _, c in cells})
    ends = [now - timedelta(weeks=WEEKS - 1 - n) for n in range(WEEKS)]
    tz = services.settings.timezone
    lines = [
        (
            f"{n}. {topic_label(services, f.hotspot.topic)}",
            [score_at(f.events, end, f.hotspot.topic, services) for end in ends],
        )
        for n, f in enumerate(found[:LINES], start=1)
    ]
    period = texts("hotspots.period", days=days)
    data = ChartData(
        title=texts("hotspots.chart.title", scope=scope.name, period=period),
        rows=rows,
        columns=columns,
        cells=[[cells.get((r, c), 0.0) for c in columns] for r in rows],
        weeks=[f"{end.astimezone(tz):%d/%m}" for end in ends],
        lines=lines,
        heat_title=texts("hotspots.chart.heat"),
        line_title=texts("hotspots.chart.lines"),
    )
    path = services.settings.hotspots.chart_dir / (
        f"diemnong-{scope.code}-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}.png"
    )
    await asyncio.to_thread(draw, data, path)
    log.info("hotspot chart for %s written to %s", scope.code, path)
    caption = data.title
    return Reply(caption, files=(OutgoingFile(str(path), "photo", caption),))


def draw(data: ChartData, path: Path) -> None:
    """Write the PNG (blocking: call it in a thread)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = max(2.5, 0.45 * len(data.rows) + 1.5)
    figure = Figure(figsize=(9, height + 3.5), dpi=100)
    heat, line = figure.subplots(2, 1, height_ratios=[height, 3.5])
    figure.suptitle(data.title, fontsize=12)
    image = heat.imshow(data.cells, cmap="YlOrRd", aspect="auto", vmin=0)
    heat.set_xticks(range(len(data.columns)), data.columns, rotation=20, ha="right", fontsize=8)
    heat.set_yticks(range(len(data.rows)), data.rows, fontsize=8)
    for y, row in enumerate(data.cells):
        for x, value in enumerate(row):
            if value > 0:
                heat.text(x, y, f"{value:.0f}", ha="center", va="center", fontsize=8)
    heat.set_title(data.heat_title, fontsize=10)
    figure.colorbar(image, ax=heat, fraction=0.03)
    for label, scores in data.lines:
        line.plot(data.weeks, scores, marker="o", label=label)
    line.set_title(data.line_title, fontsize=10)
    line.tick_params(labelsize=8)
    line.set_ylim(bottom=0)
    if data.lines:
        line.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, format="png")
