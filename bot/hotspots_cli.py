"""`sitrep hotspots`: list hotspots (table, json, csv) and explain one."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from bot.app import opened
from bot.config import Config
from handlers.clock import Clock
from handlers.hotspots.ranking import top_details
from handlers.hotspots.render import Details, details
from handlers.hotspots.settings import LEVELS
from handlers.services import Services
from storage.records import Unit

COLUMNS = ["id", "unit_code", "unit_name", "topic", "level", "score", "status", "reports", "title"]


class HotspotsError(Exception):
    """A wrong unit code or hotspot id; printed as one line."""


def add_parser(sub: Any) -> None:
    """Add `hotspots [--under CODE] [--level LEVEL] [--format F]` and `hotspots explain ID`."""
    parser = sub.add_parser("hotspots", help="list hotspots, or explain one")
    parser.add_argument("--under", help="only hotspots under this unit code")
    parser.add_argument(
        "--level", choices=LEVELS, default=LEVELS[0], help="at least this level (default: watch)"
    )
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
    parser.add_argument(
        "--days", type=int, default=30, help="with a report in the last DAYS days (default 30)"
    )
    parser.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    more = parser.add_subparsers(dest="hotspots_command")
    explain = more.add_parser("explain", help="why a hotspot has its score, and its history")
    explain.add_argument("id", type=int)


async def run(config: Config, args: argparse.Namespace, clock: Clock | None = None) -> int:
    async with opened(config, clock) as app:
        services = app.services
        now = services.clock.now()
        if args.hotspots_command == "explain":
            print(await explain(services, args.id, now))
            return 0
        scope = await _scope(services, args.under)
        found = await top_details(services, scope, args.days, None, now, limit=args.limit)
        wanted = LEVELS.index(args.level)
        hs = services.settings.hotspots
        found = [f for f in found if LEVELS.index(hs.level(f.score) or LEVELS[0]) >= wanted]
        units = await services.store.units.by_ids([f.hotspot.unit_id for f in found])
        rows = [_row(services, f, units.get(f.hotspot.unit_id)) for f in found]
        write(rows, args.format, sys.stdout)
    return 0


async def _scope(services: Services, code: str | None) -> Unit:
    if code is not None:
        unit = await services.store.units.by_code(code)
        if unit is None:
            raise HotspotsError(f"unknown unit code {code!r} (see `sitrep units list`)")
        return unit
    roots = await services.store.units.roots()
    if len(roots) == 1:
        return roots[0]
    # several trees: the whole database
    return Unit(0, "", "", services.settings.levels.keys[0], None, "/")


def _row(services: Services, found: Details, unit: Unit | None) -> dict[str, Any]:
    spot = found.hotspot
    return {
        "id": spot.id,
        "unit_code": unit.code if unit else "",
        "unit_name": unit.name if unit else "",
        "topic": spot.topic,
        "level": services.settings.hotspots.level(found.score),
        "score": found.score,
        "status": spot.status,
        "reports": found.report_ids,
        "signals": found.signals.points,
        "facts": found.signals.facts,
        "title": spot.title,
        "first_at": spot.first_at.isoformat(),
        "last_at": spot.last_at.isoformat(),
    }


def write(rows: list[dict[str, Any]], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        json.dump(rows, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow([*COLUMNS, "signals"])
        for row in rows:
            values = [row[c] for c in COLUMNS]
            values[COLUMNS.index("reports")] = " ".join(f"#{n}" for n in row["reports"])
            signals = " ".join(f"{k}={v}" for k, v in row["signals"].items())
            writer.writerow([*values, signals])
        return
    if not rows:
        out.write("No hotspots.\n")
        return
    out.write(f"{'id':>6}  {'unit':<24}  {'topic':<12}  {'level':<8}  {'score':>6}  status\n")
    for row in rows:
        unit = f"{row['unit_code']} {row['unit_name']}"[:24]
        out.write(
            f"{row['id']:>6}  {unit:<24}  {row['topic']:<12}  {row['level'] or '-':<8}  "
            f"{row['score']:>6.1f}  {row['status']}  ({len(row['reports'])} reports)\n"
        )


async def explain(services: Services, hotspot_id: int, now: datetime) -> str:
    """The score's signals, the facts behind them, the reports and the history, in English."""
    store = services.store
    spot = await store.hotspots.get(hotspot_id)
    if spot is None:
        raise HotspotsError(f"no hotspot with id {hotspot_id}")
    found = await details(services, spot, now)
    commune = await store.units.by_id(spot.unit_id)
    villages = await store.units.by_ids([e.village_id for e in found.events])
    level = services.settings.hotspots.level(found.score) or "below watch"
    lines = [
        f"Hotspot {spot.id}: {spot.topic} in {commune.code if commune else '?'} "
        f"{commune.name if commune else ''}",
        f"  {spot.title}",
        f"Level: {level}; score {found.score:.2f} now ({found.week_ago:.2f} a week ago); "
        f"status {spot.status}",
        "Signals (points):",
        *(
            f"  {name:<12} {points:6.2f}"
            for name, points in sorted(found.signals.points.items(), key=lambda kv: -kv[1])
        ),
        "Facts: " + ", ".join(f"{k} {v}" for k, v in found.signals.facts.items()),
        f"Reports ({len(found.events)}):",
    ]
    tz = services.settings.timezone
    for event in found.events:
        village = villages.get(event.village_id)
        people = f", {event.people} people" if event.people else ""
        urgent = ", urgent" if event.urgent else ""
        lines.append(
            f"  #{event.report_id}  {event.sent_at.astimezone(tz):%Y-%m-%d %H:%M}  "
            f"{village.name if village else event.village_id}  "
            f"severity {event.severity_rank}{urgent}{people}"
        )
    history = await store.hotspots.history("hotspot", spot.id)
    if history:
        lines.append("History:")
        for entry in history:
            who = entry.member_name or "system"
            note = f": {entry.note}" if entry.note else ""
            lines.append(
                f"  {entry.at.astimezone(tz):%Y-%m-%d %H:%M}  {who}  {entry.action} -> "
                f"{entry.status}{note}"
            )
    return "\n".join(lines)
