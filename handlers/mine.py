"""/cuatoi: a reporter's recent reports, each of which can be added to."""

from __future__ import annotations

from handlers import drafting
from handlers.messages import Button
from handlers.states import State
from handlers.turn import Turn
from handlers.weeks import Week, local_time

DONE = "done"


async def begin(turn: Turn) -> None:
    """List my recent reports with a button to add to each."""
    services = turn.services
    reports = await services.store.reports.recent_by_reporter(
        turn.me.id, services.settings.recent_reports
    )
    await services.store.audit.write(
        turn.me.id, "reports.read", {"query": "mine", "count": len(reports)}, turn.now
    )
    if not reports:
        turn.say(turn.t("mine.none"))
        return
    lines = [turn.t("mine.head")]
    buttons = []
    tz = services.settings.timezone
    for report in reports:
        topics = ", ".join(services.settings.topic(t).short for t in report.topics)
        if report.kind.value == "urgent":
            what = turn.t("mine.urgent", time=local_time(report.sent_at, tz))
        else:
            what = turn.t("mine.weekly", week=Week.parse(report.week).number)
        lines.append(f"#{report.id} · {what} · {topics or turn.t('report.normal_short')}")
        buttons.append([Button(turn.t("buttons.add_to", number=report.id), f"add:{report.id}")])
    turn.say("\n".join(lines), buttons)
    turn.go(State.MINE_PICK, reports=[r.id for r in reports])


async def pick(turn: Turn) -> None:
    if turn.choice is None:
        digits = turn.text.lstrip("#")
        if digits.isdigit() and int(digits) in turn.data["reports"]:
            number = int(digits)
        else:
            turn.unclear()
            return
    else:
        number = int(turn.choice.data.split(":")[1])
    turn.go(State.MINE_ADD, report_id=number)
    await prompt_add(turn)


async def prompt_add(turn: Turn) -> None:
    turn.say(
        turn.t("mine.ask_addition", number=turn.data["report_id"]),
        [[Button(turn.t("buttons.done"), DONE, ("xong", "het", "ok"))]],
    )


async def prompt_pick(turn: Turn) -> None:
    await begin(turn)


async def add(turn: Turn) -> None:
    """Text, a photo, a voice note or a place joins the chosen report."""
    if turn.choice is not None and turn.choice.data == DONE:
        turn.say(turn.t("mine.done", number=turn.data["report_id"]))
        turn.finish()
        return
    number = turn.data["report_id"]
    await turn.services.store.reports.add_to(
        number,
        reporter_id=turn.me.id,
        source=f"{turn.msg.channel}:{turn.msg.message_id}",
        text=turn.text,
        attachments=drafting.attachments_of(turn),
        sent_at=turn.msg.sent_at,
        now=turn.now,
    )
    turn.say(turn.t("report.added_more", number=number))


STEPS = {State.MINE_PICK: pick, State.MINE_ADD: add}
PROMPTS = {State.MINE_PICK: prompt_pick, State.MINE_ADD: prompt_add}
