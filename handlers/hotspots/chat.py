"""/diemnong, /xuly and the hotspot buttons ("hs:<action>:<target>") wherever they are pressed.

Targets are "h<id>" for a hotspot and "r<number>" for a report. A button pressed on an old
message or an alert works at any time: the engine routes the "hs:" prefix here.
"""

from __future__ import annotations

import logging

from handlers import registration
from handlers.errors import UserError
from handlers.hotspots import chart, lifecycle
from handlers.hotspots.places import find_unit, parse
from handlers.hotspots.ranking import top_details
from handlers.hotspots.render import (
    card_text,
    case_name,
    details,
    history_lines,
    list_line,
    status_label,
    topic_label,
)
from handlers.matching import fold
from handlers.messages import Button
from handlers.queries import render_report
from handlers.states import State
from handlers.turn import Turn
from storage.records import ReportKind, Role, Unit
from storage.repositories.hotspots import OPEN, REPORT

log = logging.getLogger(__name__)

PREFIX = "hs:"
ACK_WORDS = {"tiepnhan", "nhan", "ack"}  # "/xuly 12 tiep nhan", typed without diacritics
ROW = 4  # "Mở" buttons per row


async def command(turn: Turn) -> None:
    """/diemnong [unit] [tuan|thang|quy] [topic]: the top hotspots in scope."""
    query = parse(turn.services, turn.text)
    scope = turn.me.unit
    if query.place:
        found = await find_unit(turn.services, turn.me, query.place)
        if found.unit is None:
            if not found.choices:
                raise UserError("hotspots.unknown_unit", query=turn.text, scope=scope.name)
            topic = query.topic or ""
            rows = [
                [Button(u.name, f"{PREFIX}list:{u.id}:{query.days}:{topic}")] for u in found.choices
            ]
            turn.say(turn.t("hotspots.closest", query=query.place), rows)
            turn.go(State.HOTSPOT_LIST)
            return
        scope = found.unit
    await show_list(turn, scope, query.days, query.topic, query.chart)


async def case_command(turn: Turn) -> None:
    """/xuly 123: an urgent report's handling, with the buttons to act on it;
    /xuly 123 tiepnhan acknowledges it at once (the alert's button, typed or pressed)."""
    number, _, rest = turn.text.strip().lstrip("#").partition(" ")
    if not number.isdigit():
        raise UserError("hotspots.case_usage")
    if fold(rest).replace(" ", "") in ACK_WORDS:
        turn.choice = Button("", f"{PREFIX}{lifecycle.ACK}:r{number}")
        await press(turn)
        return
    case = await lifecycle.target(turn.services, turn.me, REPORT, int(number))
    await show_card(turn, case)


async def show_list(
    turn: Turn, scope: Unit, days: int, topic: str | None, with_chart: bool = False
) -> None:
    services = turn.services
    levels = services.settings.levels.keys
    leader_level = services.settings.levels.leader
    found = await top_details(services, scope, days, topic, turn.now)
    await turn.services.store.audit.write(
        turn.me.id,
        "reports.read",
        {"query": "hotspots", "scope": scope.code, "days": days, "topic": topic},
        turn.now,
    )
    period = turn.t("hotspots.period", days=days)
    if topic:
        period += f" · {topic_label(services, topic)}"
    if not found:
        turn.say(turn.t("hotspots.empty", scope=scope.name, period=period))
        turn.finish()
        return
    wide = levels.index(scope.level) < levels.index(leader_level)
    communes = await services.store.units.by_ids([f.hotspot.unit_id for f in found])
    lines = [turn.t("hotspots.head", scope=scope.name, period=period)]
    for n, item in enumerate(found, start=1):
        place = communes.get(item.hotspot.unit_id) if wide else None
        lines.append(list_line(services, n, item, place, turn.now))
    opens = [
        Button(turn.t("hotspots.buttons.open_n", n=n), f"{PREFIX}open:h{f.hotspot.id}")
        for n, f in enumerate(found, start=1)
    ]
    rows = [opens[i : i + ROW] for i in range(0, len(opens), ROW)]
    rows.append(
        [
            Button(
                turn.t("hotspots.buttons.chart"),
                f"{PREFIX}chart:{scope.id}:{days}:{topic or ''}",
                ("bieu do",),
            )
        ]
    )
    turn.say("\n".join(lines), rows)
    turn.go(State.HOTSPOT_LIST)
    if with_chart:
        await _chart(turn, scope, days, topic)


async def show_card(turn: Turn, case: lifecycle.Target) -> None:
    services = turn.services
    if case.hotspot is not None:
        text = await card_text(services, await details(services, case.hotspot, turn.now), case.unit)
    else:
        assert case.report is not None
        history = await services.store.hotspots.history(REPORT, case.id)
        lines = [render_report(turn, case.report)]  # with its status
        if case.report.kind != ReportKind.URGENT:
            lines.append(
                turn.t("hotspots.card.status", status=status_label(services.texts, case.status))
            )
        lines.extend(history_lines(services, history[-8:]))
        text = "\n".join(lines)
    await services.store.audit.write(
        turn.me.id, "reports.read", {"query": "case", "case": case.key}, turn.now
    )
    buttons = []
    if case.status in OPEN:
        buttons.append(Button(turn.t("hotspots.buttons.ack"), f"{PREFIX}ack:{case.key}"))
    if case.status in lifecycle.ACTIVE:
        buttons.append(Button(turn.t("hotspots.buttons.handle"), f"{PREFIX}handle:{case.key}"))
        buttons.append(Button(turn.t("hotspots.buttons.resolve"), f"{PREFIX}resolve:{case.key}"))
    turn.say(text, [buttons] if buttons else None)
    if buttons:
        turn.go(State.HOTSPOT_LIST)


async def press(turn: Turn) -> None:
    """A hotspot button: open, acknowledge, handle, resolve, a list or a chart."""
    if turn.choice is None:
        return
    parts = turn.choice.data.removeprefix(PREFIX).split(":")
    action = parts[0]
    services = turn.services
    if action in ("list", "chart") and len(parts) == 4 and parts[1].isdigit():
        unit = await services.store.units.by_id(int(parts[1]))
        if unit is None or not (turn.me.role == Role.ADMIN or turn.me.unit.contains(unit)):
            raise UserError("hotspots.unknown_unit", query=parts[1], scope=turn.me.unit.name)
        days = int(parts[2]) if parts[2].isdigit() else 30
        topic = parts[3] or None
        if action == "list":
            await show_list(turn, unit, days, topic)
        else:
            await _chart(turn, unit, days, topic)
        return
    key = lifecycle.parse_key(parts[1]) if len(parts) == 2 else None
    if key is None or action not in ("open", lifecycle.ACK, lifecycle.HANDLE, lifecycle.RESOLVE):
        log.warning("unknown hotspot button %r", turn.choice.data)
        turn.say(turn.t("errors.stale_button"))
        return
    case = await lifecycle.target(services, turn.me, *key)
    if action == "open":
        await show_card(turn, case)
    elif action == lifecycle.ACK:
        outcome = await lifecycle.act(services, turn.me, case, action, "", turn.now)
        turn.say(outcome.text)
        turn.outgoing.extend(outcome.outgoing)
    elif case.status not in lifecycle.ACTIVE:
        name = case_name(services, case.kind, case.id, case.topic)
        turn.say(
            turn.t(
                "hotspots.done.unchanged",
                case=name,
                status=status_label(turn.services.texts, case.status),
            )
        )
    else:
        turn.go(State.HOTSPOT_NOTE, case=case.key, action=action)
        await prompt_note(turn)


async def choose(turn: Turn) -> None:
    """A number or label typed while a list or card is shown."""
    if turn.choice is not None and turn.choice.data.startswith(PREFIX):
        await press(turn)
        return
    turn.finish()
    await registration.idle(turn)


async def prompt_note(turn: Turn) -> None:
    key = lifecycle.parse_key(turn.data.get("case", ""))
    if key is None:
        turn.finish()
        return
    name = case_name(turn.services, key[0], key[1])
    turn.say(turn.t(f"hotspots.ask.{turn.data['action']}", case=name))


async def note(turn: Turn) -> None:
    """The note of "being handled" (who, what) or of the resolution; required."""
    key = lifecycle.parse_key(turn.data.get("case", ""))
    if key is None:
        turn.finish()
        return
    if not turn.text:
        turn.say(turn.t("hotspots.note_required"))
        return
    case = await lifecycle.target(turn.services, turn.me, *key)
    outcome = await lifecycle.act(
        turn.services, turn.me, case, turn.data["action"], turn.text, turn.now
    )
    turn.say(outcome.text)
    turn.outgoing.extend(outcome.outgoing)
    turn.finish()


async def _chart(turn: Turn, scope: Unit, days: int, topic: str | None) -> None:
    reply = await chart.chart_reply(turn.services, scope, days, topic, turn.now)
    turn.replies.append(reply)


STEPS = {State.HOTSPOT_LIST: choose, State.HOTSPOT_NOTE: note}
PROMPTS = {State.HOTSPOT_NOTE: prompt_note}
