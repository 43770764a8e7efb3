"""Hotspot bench: a synthetic province, then the questions leaders ask and the cost of a report.

Run from the repository root::

    python -m bench.hotspots [--reports N] [--communes C] [--villages V] [--years Y]
                             [--no-postgres] [--runs R]

For each database (a fresh SQLite file, then PostgreSQL database ``bench_h6`` with its
``public`` schema dropped and recreated): bulk-load the province (see bench/hotspots_data.py),
then measure (a) "top hotspots of the province, last 30 days" as /diemnong answers it,
(b) the same for one commune, (c) storing one more report with its hotspot update, and
(c') the hotspot update alone; and check that the planted hotspots are at the top.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from bench.hotspots_data import Sizes, load, utc_now
from bot.app import App, opened
from bot.config import load_config
from handlers.clock import FixedClock
from handlers.hotspots.detection import report_stored
from handlers.hotspots.ranking import top_details
from handlers.weeks import Week
from storage.database import create_engine, is_sqlite
from storage.records import ItemDraft

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_h6"
PG_DATABASE = "bench_h6"
TARGET_QUERY_MS = 300.0
TARGET_UPDATE_MS = 10.0


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms"


def _postgres_ready() -> bool:
    """Is the server up? Creates the database ``bench_h6`` if it is missing."""
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode != 0:
        return False
    query = f"select 1 from pg_database where datname = '{PG_DATABASE}'"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres"]
    exists = subprocess.run([*psql, "-tAc", query], capture_output=True, text=True, check=False)
    if exists.stdout.strip() != "1":
        subprocess.run([*psql, "-c", f"create database {PG_DATABASE}"], check=True)
    return True


async def _reset_postgres() -> None:
    engine = create_engine(PG_URL)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _after_load(app: App) -> None:
    """Statistics for the planner; PostgreSQL's sequences past the ids written by hand."""
    async with app.store.engine.begin() as conn:
        if is_sqlite(app.config.database_url):
            await conn.execute(text("ANALYZE"))
            return
        for table in ("units", "members", "reports", "report_items", "hotspots", "hotspot_reports"):
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        await conn.execute(text("ANALYZE"))


async def run(url: str, label: str, sizes: Sizes, runs: int) -> dict[str, float]:
    now = utc_now()
    config = load_config({"SITREP_DATABASE_URL": url}, ROOT / "config.toml")
    clock = FixedClock(now)
    async with opened(config, clock) as app:
        services = app.services
        started = time.perf_counter()
        province = await load(app.store.engine, sizes, services.settings, now)
        await _after_load(app)
        loaded = time.perf_counter() - started
        counts = province.counts
        print(
            f"\n== {label}: loaded in {loaded:.0f} s — {counts['weekly']:,} weekly + "
            f"{counts['adhoc']:,} ad-hoc reports, {counts['issues']:,} issues, "
            f"{counts['hotspots']:,} hotspots ({counts['planted']} planted reports)"
        )
        scope = await app.store.units.by_id(province.province_id)
        assert scope is not None
        results: dict[str, float] = {}

        province_ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            found = await top_details(services, scope, 30, None, now)
            province_ms.append((time.perf_counter() - t0) * 1000)
        ranks = [n for n, f in enumerate(found, start=1) if f.hotspot.id in province.planted]
        print(f"(a) province, top {len(found)} of 30 days:  {_ms(province_ms)}")
        print(
            f"    planted hotspots at ranks {ranks} (of {len(province.planted)} planted); "
            f"top scores {[round(f.score, 1) for f in found[:5]]}"
        )
        commune = await app.store.units.by_id(province.commune_ids[11])
        assert commune is not None
        commune_ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await top_details(services, commune, 30, None, now)
            commune_ms.append((time.perf_counter() - t0) * 1000)
        print(f"(b) one commune, 30 days:               {_ms(commune_ms)}")

        rng = random.Random(1)
        store_ms, update_ms = [], []
        villages = list(province.village_commune)
        for n in range(runs * 5):
            village = rng.choice(villages)
            t0 = time.perf_counter()
            submitted = await app.store.reports.submit_urgent(
                unit_id=village,
                reporter_id=province.reporter_of[village],
                week=Week.of(now, services.settings.timezone).key,
                source=f"bench-more:{n}",
                sent_at=now,
                now=now,
                item=ItemDraft(
                    rng.choice(["dat_dai", "an_ninh", "kinh_te"]),
                    "Tranh chấp ranh giới nương rẫy giữa hai hộ",
                    "attention",
                    20,
                ),
                place=None,
                denunciation=False,
            )
            report = await app.store.reports.get(submitted.report_id)
            assert report is not None
            t1 = time.perf_counter()
            await report_stored(services, report)
            t2 = time.perf_counter()
            store_ms.append((t2 - t0) * 1000)
            update_ms.append((t2 - t1) * 1000)
            clock.advance(timedelta(seconds=1))
        print(f"(c) one more report, stored + hotspot:  {_ms(store_ms)}")
        print(f"(c') its hotspot update alone:          {_ms(update_ms)}")
        results = {
            "province": statistics.median(province_ms),
            "commune": statistics.median(commune_ms),
            "update": statistics.median(update_ms),
            "store": statistics.median(store_ms),
            "planted_top": float(set(ranks) == set(range(1, len(province.planted) + 1))),
        }
        print(
            f"    targets: province {results['province'] / TARGET_QUERY_MS:.2f} of 300 ms; "
            f"update {results['update'] / TARGET_UPDATE_MS:.2f} of 10 ms; planted at the "
            f"top: {'yes' if results['planted_top'] else 'NO'}"
        )
        return results


async def main_async(args: argparse.Namespace) -> None:
    sizes = Sizes(args.communes, args.villages, args.reports, args.years)
    folder = Path(tempfile.mkdtemp(prefix="bench-hotspots-"))
    try:
        await run(f"sqlite:///{folder / 'bench.db'}", "SQLite", sizes, args.runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not args.postgres:
        return
    await _reset_postgres()
    await run(PG_URL, "PostgreSQL", sizes, args.runs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotspots", description=__doc__)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--communes", type=int, default=120)
    parser.add_argument("--villages", type=int, default=1500)
    parser.add_argument("--years", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=20, help="repetitions of each measure")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.postgres = not args.no_postgres and _postgres_ready()
    if not args.no_postgres and not args.postgres:
        print("PostgreSQL is not running: only SQLite is measured")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
