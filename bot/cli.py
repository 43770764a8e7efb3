"""The `sitrep` command line: run the service, chat in the terminal, manage units and codes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bot import cli_rhythm, hotspots_cli
from bot.app import App, draft_reminders, opened
from bot.channels.console import ConsoleChannel
from bot.config import Config, ConfigError, load_config
from bot.demo import create_demo, demo_member, is_empty
from bot.service import serve
from handlers.export import ExportError, export_reports
from handlers.invitations import InvitationError, issue, parse_duration
from handlers.units import ImportFailed, UnitError, import_csv, load_province, tree_lines
from storage.database import DatabaseError
from storage.records import Role

log = logging.getLogger("sitrep")


class CliError(Exception):
    """A mistake on the command line; printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sitrep", description="Nắm tình hình — situation reports")
    parser.add_argument(
        "--config", type=Path, help="config file (default: $SITREP_CONFIG or ./config.toml)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run the service (the terminal chat when no messenger token is set)"
    )
    run.add_argument(
        "--webhook",
        metavar="URL",
        help="receive Telegram updates at this public https URL instead of polling",
    )
    run.add_argument(
        "--zalo-webhook",
        metavar="URL",
        help="receive Zalo messages at this public https URL instead of polling",
    )
    chat = sub.add_parser("chat", help="chat in the terminal as a demo member")
    chat.add_argument("--as", dest="role", choices=["reporter", "leader"], default="reporter")

    units = sub.add_parser("units", help="load, import and list units").add_subparsers(
        dest="units_command", required=True
    )
    load = units.add_parser("load", help="load a province and its communes from the official list")
    load.add_argument(
        "--province", required=True, help="official code or name, e.g. 8 or 'Tuyên Quang'"
    )
    imp = units.add_parser(
        "import", help="add or update units from a CSV file (code,name,parent_code)"
    )
    imp.add_argument("file", type=Path)
    lst = units.add_parser("list", help="print the unit tree")
    lst.add_argument("--under", help="only the units under this code")

    invite = sub.add_parser("invite", help="make a one-time invitation code")
    invite.add_argument("--role", required=True, choices=[r.value for r in Role])
    invite.add_argument("--unit", required=True, help="unit code")
    invite.add_argument(
        "--uses", type=int, default=1, help="how many people may use it (default 1)"
    )
    invite.add_argument(
        "--expires", default=None, help="validity, e.g. 7d, 12h (default from config)"
    )
    invite.add_argument("--member", type=int, help="link another messenger to this member id")

    reports = sub.add_parser("reports", help="export reports").add_subparsers(
        dest="reports_command", required=True
    )
    export = reports.add_parser("export", help="write reports as csv, xlsx or json")
    export.add_argument("--format", required=True, choices=["csv", "xlsx", "json"])
    export.add_argument("--under", help="only reports of units under this code")
    export.add_argument(
        "--since", type=date.fromisoformat, help="only reports sent since YYYY-MM-DD"
    )
    export.add_argument("--out", type=Path, help="output file (required for xlsx)")

    sub.add_parser("members", help="list members")
    cli_rhythm.add_parsers(sub)  # schedule list|run, periodic draft
    hotspots_cli.add_parser(sub)  # hotspots [--under CODE] [--level L] [--format F], explain ID
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(os.environ, args.config)
    except ConfigError as exc:
        print(f"sitrep: config error: {exc}", file=sys.stderr)
        return 2
    # in the terminal chat, log lines would mix with the conversation
    chatting = args.command == "chat" or (args.command == "run" and not config.telegram.enabled)
    _setup_logging(config, quiet=chatting)
    handler = COMMANDS[args.command]
    try:
        return asyncio.run(handler(config, args))
    except (
        CliError,
        UnitError,
        InvitationError,
        ExportError,
        DatabaseError,
        cli_rhythm.RhythmCliError,
        hotspots_cli.HotspotsError,
    ) as exc:
        print(f"sitrep: {exc}", file=sys.stderr)
        return 2
    except ImportFailed as exc:
        print("sitrep: nothing was imported:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _setup_logging(config: Config, quiet: bool) -> None:
    """Logs go to stderr; while chatting in the terminal only warnings, unless a file is set."""
    handlers: list[logging.Handler] = []
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.WARNING if quiet else config.log_level)
    handlers.append(stderr)
    if config.log_file:
        handlers.append(logging.FileHandler(config.log_file, encoding="utf-8"))
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )


async def _run(config: Config, args: argparse.Namespace) -> int:
    telegram_hook = args.webhook or config.telegram.webhook_url or None
    zalo_hook = args.zalo_webhook or config.zalo.webhook_url or None
    if telegram_hook and not config.telegram.enabled:
        raise CliError("--webhook needs a Telegram token: set SITREP_TELEGRAM_TOKEN")
    if zalo_hook and not config.zalo.enabled:
        raise CliError("--zalo-webhook needs a Zalo token: set SITREP_ZALO_TOKEN")
    if telegram_hook and zalo_hook and urlparse(telegram_hook).path == urlparse(zalo_hook).path:
        raise CliError("the Telegram and Zalo webhooks need different paths")
    if config.telegram.enabled or config.zalo.enabled:
        return await serve(config, telegram_hook, zalo_webhook_url=zalo_hook)
    return await _chat(config, Role.REPORTER)


async def _chat_command(config: Config, args: argparse.Namespace) -> int:
    return await _chat(config, Role(args.role))


async def _chat(config: Config, role: Role) -> int:
    async with opened(config) as app:
        await app.engine.replay_unprocessed()
        member = await _console_member(app, role)
        user_id = f"console-{role.value}"
        if member is None:
            print(
                "This database was not created empty, so it has no demo members.\n"
                "Make a code with `sitrep invite --role ... --unit ...` and type /start CODE here."
            )
        else:
            print(
                f"Chatting as {member.display_name} — {member.unit.name}. Type /trogiup for help."
            )
        print("Ctrl-D to quit.")
        channel = ConsoleChannel(
            app,
            user_id=user_id,
            display_name=member.display_name if member else "Console",
            stdin=sys.stdin,
            stdout=sys.stdout,
            interactive=sys.stdin.isatty(),
        )
        reminders = asyncio.create_task(draft_reminders(app))
        try:
            await channel.run()
        finally:
            reminders.cancel()  # and wait for it: the store closes next
            await asyncio.gather(reminders, return_exceptions=True)
    return 0


async def _console_member(app: App, role: Role):  # type: ignore[no-untyped-def]
    if await is_empty(app.store):
        demo = await create_demo(app.store, app.config.domain, app.services.clock.now())
        print(
            f"*** DEMO: this database was empty, so a demo was created: {demo.commune} "
            f"(official unit) with sample villages {', '.join(demo.villages)}, a demo village "
            "head and a demo commune leader. Try /baocao or /khancap; "
            "`sitrep chat --as leader` shows the leader's side. ***"
        )
    return await demo_member(app.store, role)


async def _units(config: Config, args: argparse.Namespace) -> int:
    async with opened(config) as app:
        if args.units_command == "load":
            result = await load_province(app.store, config.domain, args.province)
            print(
                f"{result.province.name} ({result.province.code}): {result.communes} communes "
                f"({result.added} added, {result.updated} updated)"
            )
        elif args.units_command == "import":
            if not args.file.is_file():
                raise CliError(f"no such file: {args.file}")
            imported = await import_csv(app.store, config.domain, args.file)
            print(f"{args.file}: {imported.added} added, {imported.updated} updated")
        else:
            lines = await tree_lines(app.store, config.domain, args.under)
            print(
                "\n".join(lines)
                if lines
                else "No units yet: run `sitrep units load --province ...`"
            )
    return 0


async def _invite(config: Config, args: argparse.Namespace) -> int:
    async with opened(config) as app:
        unit = await app.store.units.by_code(args.unit)
        if unit is None:
            raise CliError(f"unknown unit code {args.unit!r} (see `sitrep units list`)")
        if args.member is not None:
            member = await app.store.members.by_id(args.member)
            if member is None:
                raise CliError(f"no member with id {args.member}")
            if member.role.value != args.role or member.unit.id != unit.id:
                raise CliError(
                    f"member {member.id} is {member.role.value} of {member.unit.code}; "
                    "use that role and unit to link another messenger"
                )
        expires = parse_duration(args.expires or f"{config.domain.invitation_days}d")
        issued = await issue(
            app.store,
            config.domain,
            role=Role(args.role),
            unit=unit,
            uses=args.uses,
            valid_for=expires,
            now=app.services.clock.now(),
            member_id=args.member,
        )
        local = issued.expires_at.astimezone(config.domain.timezone)
        print(f"Invitation: {issued.role.value} of {unit.name} ({unit.code})")
        print(f"Uses: {issued.uses}; valid until {local:%Y-%m-%d %H:%M %Z}")
        print("The person sends: /start CODE")
        print(issued.code)
    return 0


async def _reports(config: Config, args: argparse.Namespace) -> int:
    async with opened(config) as app:
        count = await export_reports(
            app.services,
            args.format,
            under=args.under,
            since=args.since,
            out=args.out,
            stdout=sys.stdout,
        )
        if args.out is not None:
            print(f"{count} reports written to {args.out}", file=sys.stderr)
    return 0


async def _members(config: Config, args: argparse.Namespace) -> int:
    async with opened(config) as app:
        for member in await app.store.members.all():
            identities = await app.store.members.identities(member.id)
            channels = ", ".join(f"{i.channel}:{i.user_id}" for i in identities)
            print(
                f"{member.id:>5}  {member.role.value:<8}  {member.unit.code:<14}  "
                f"{member.display_name}  [{channels}]"
            )
    return 0


COMMANDS: dict[str, Callable[[Config, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "run": _run,
    "chat": _chat_command,
    "units": _units,
    "invite": _invite,
    "reports": _reports,
    "members": _members,
    "schedule": cli_rhythm.schedule,
    "periodic": cli_rhythm.periodic,
    "hotspots": hotspots_cli.run,
}
