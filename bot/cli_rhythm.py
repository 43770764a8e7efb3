"""`sitrep schedule list|run` and `sitrep periodic draft`: the rhythm by hand."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from bot.app import opened
from bot.config import Config
from bot.scheduler import JobRunner
from handlers.rhythm.calendar import parse_period
from handlers.rhythm.periodic import draft, label


class RhythmCliError(Exception):
    """A mistake on the command line; printed as one line, exit status 2."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = sub.add_parser("schedule", help="the scheduled jobs").add_subparsers(
        dest="schedule_command", required=True
    )
    schedule.add_parser("list", help="every job, its schedule and next run (local time)")
    run = schedule.add_parser("run", help="run one job now (for a missed day, or a test)")
    run.add_argument("name", help="the job's name (see `sitrep schedule list`)")
    run.add_argument(
        "--now",
        help="run it as if it were this time (ISO, local time unless a zone is given), "
        "e.g. 2026-12-04T08:00",
    )
    periodic = sub.add_parser("periodic", help="periodic reports").add_subparsers(
        dest="periodic_command", required=True
    )
    drafted = periodic.add_parser("draft", help="write a periodic report's draft (DOCX + XLSX)")
    drafted.add_argument("--unit", required=True, help="unit code")
    drafted.add_argument("--period", required=True, help="2026-Q4, 2026-H1 or 2026")
    drafted.add_argument("--out", required=True, type=Path, help="the DOCX file to write")


async def schedule(config: Config, args: argparse.Namespace) -> int:
    async with opened(config) as app:
        runner = JobRunner(app.services)
        tz = config.domain.timezone
        now = app.services.clock.now()
        if args.schedule_command == "list":
            last = await app.store.jobs.last_runs()
            for name, spec, at in runner.next_runs(now):
                next_run = f"{at.astimezone(tz):%Y-%m-%d %H:%M}" if at else "-"
                run = last.get(name)
                before = (
                    f"last {run.fire_time.astimezone(tz):%Y-%m-%d %H:%M} {run.status}"
                    if run
                    else "never run"
                )
                print(f"{name:<20} {spec:<14} next {next_run}  ({before})")
            if not config.domain.rhythm.enabled:
                print("(schedule.enabled is false: `sitrep run` does not run these)")
            return 0
        if args.name not in runner.jobs:
            raise RhythmCliError(f"no job {args.name!r}; the jobs are: {', '.join(runner.jobs)}")
        at = _moment(args.now, config) if args.now else now
        result = await runner.run(args.name, at, manual=True)
        assert result is not None
        print(
            f"{args.name} at {at.astimezone(tz):%Y-%m-%d %H:%M}: {result.status}: {result.summary}"
        )
        return 0 if result.status == "done" else 1


def _moment(text: str, config: Config) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RhythmCliError(f"--now {text!r} is not a time like 2026-12-04T08:00") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=config.domain.timezone)
    return moment.astimezone(UTC)


async def periodic(config: Config, args: argparse.Namespace) -> int:
    try:
        period = parse_period(args.period)
    except ValueError as exc:
        raise RhythmCliError(str(exc)) from exc
    if args.out.suffix.lower() != ".docx":
        raise RhythmCliError(f"--out {args.out} must be a .docx file")
    async with opened(config) as app:
        unit = await app.store.units.by_code(args.unit)
        if unit is None:
            raise RhythmCliError(f"unknown unit code {args.unit!r} (see `sitrep units list`)")
        now = app.services.clock.now()
        try:
            docx_file, xlsx_file, data = await draft(app.services, unit, period, args.out, now)
        except OSError as exc:
            raise RhythmCliError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
        await app.store.audit.write(
            None,
            "reports.periodic_draft",
            {"unit": unit.code, "period": period.key, "out": str(args.out)},
            now,
        )
        print(
            f"{label(app.services, period)} — {unit.name}: {data.reported}/{data.expected} "
            f"weekly reports, {len(data.urgent)} urgent"
        )
        print(f"written {docx_file} and {xlsx_file}")
    return 0
