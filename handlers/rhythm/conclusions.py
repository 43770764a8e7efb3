"""/ketluan: after the giao ban, the leader records its conclusions and assignments (which
village, what, by when); each village's members receive the ones that concern them."""

from __future__ import annotations

import re
from datetime import date

from handlers.errors import UserError
from handlers.matching import fold
from handlers.messages import Button, Outgoing, Reply
from handlers.rhythm.calendar import meeting_day, meeting_time, month_key
from handlers.rhythm.send import BULK_PRIORITY
from handlers.states import State
from handlers.turn import Turn
from storage.records import Role
from storage.repositories.meetings import Meeting

ALL, NO_DUE, MORE, DONE = "v:all", "nodue", "more", "done"
_DATE = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2,4}))?")
MIN_TEXT = 3


async def begin(turn: Turn) -> None:
    """/ketluan [text] or /ketluan xong N."""
    words = fold(turn.text).split()
    if len(words) == 2 and words[0] in ("xong", "done") and words[1].isdigit():
        closed = await turn.services.store.meetings.close_conclusion(
            int(words[1]), turn.me.unit.id, turn.now
        )
        if not closed:
            raise UserError("conclusions.not_found", number=words[1])
        turn.say(turn.t("conclusions.closed", number=words[1]))
        return
    meeting = await _meeting(turn)
    open_ones = await turn.services.store.meetings.conclusions(
        unit_id=turn.me.unit.id, open_only=True
    )
    turn.go(State.CONCLUDE_TEXT, meeting_id=meeting.id, recorded=0, open=len(open_ones))
    turn.data["month"] = meeting.month
    if turn.text:
        await text(turn)
        return
    await prompt_text(turn)


async def _meeting(turn: Turn) -> Meeting:
    """The commune's latest giao ban that has begun (made for this month if none)."""
    store = turn.services.store
    commune = turn.me.unit
    found = await store.meetings.latest(commune.id, before=turn.now)
    if found is not None:
        return found
    settings = turn.services.settings
    local = turn.now.astimezone(settings.timezone).date()
    day = meeting_day(settings.rhythm, local.year, local.month)
    return await store.meetings.ensure(
        commune.id, month_key(day), meeting_time(settings, day), turn.now
    )


def _month(turn: Turn) -> str:
    return str(int(turn.data["month"].split("-")[1]))


async def prompt_text(turn: Turn) -> None:
    key = "conclusions.ask_text" if not turn.data.get("recorded") else "conclusions.ask_next"
    text = turn.t(key, month=_month(turn))
    if turn.data.get("open") and not turn.data.get("recorded"):
        text += "\n" + turn.t("conclusions.open_hint", n=turn.data["open"])
    turn.say(text)


async def text(turn: Turn) -> None:
    if len(turn.text) < MIN_TEXT:
        turn.unclear()
        return
    turn.go(State.CONCLUDE_VILLAGE, text=turn.text)
    await prompt_village(turn)


async def _village_buttons(turn: Turn) -> list[Button]:
    villages = await turn.services.store.units.subtree(
        turn.me.unit, turn.services.settings.levels.reporter
    )
    buttons = []
    for village in villages:
        words = fold(village.name).split()
        aliases = (" ".join(words[1:]),) if len(words) > 1 else ()
        buttons.append(Button(village.name, f"v:{village.id}", aliases))
    buttons.append(Button(turn.t("buttons.whole_commune"), ALL, ("ca xa", "tat ca", "chung")))
    return buttons


async def prompt_village(turn: Turn) -> None:
    buttons = await _village_buttons(turn)
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    turn.say(turn.t("conclusions.ask_village"), rows)


async def village(turn: Turn) -> None:
    if turn.choice is None or not turn.choice.data.startswith("v:"):
        turn.unclear()
        return
    chosen = turn.choice.data[2:]
    turn.go(
        State.CONCLUDE_DUE,
        village_id=None if chosen == "all" else int(chosen),
        village_name=None if chosen == "all" else turn.choice.label,
    )
    await prompt_due(turn)


async def prompt_due(turn: Turn) -> None:
    turn.say(
        turn.t("conclusions.ask_due"),
        [[Button(turn.t("buttons.no_due"), NO_DUE, ("khong", "khong co han", "khong han"))]],
    )


def parse_due(text: str, today: date) -> date | None:
    """ "15/12", "15-12-2026", "ngay 15/12": a day today or later (this year or next)."""
    found = _DATE.search(text)
    if found is None:
        return None
    year = int(found[3]) if found[3] else today.year
    if year < 100:
        year += 2000
    try:
        day = date(year, int(found[2]), int(found[1]))
    except ValueError:
        return None
    if not found[3] and day < today:
        day = day.replace(year=day.year + 1)
    return day if day >= today else None


async def due(turn: Turn) -> None:
    """When it is due; then store it and send it to the villages it concerns."""
    today = turn.now.astimezone(turn.services.settings.timezone).date()
    due_on: date | None
    if turn.msg.button is None and _DATE.search(turn.text):
        due_on = parse_due(turn.text, today)
        if due_on is None:
            turn.unclear()
            return
    elif turn.choice is not None and turn.choice.data == NO_DUE:
        due_on = None
    else:
        turn.unclear()
        return
    services = turn.services
    store = services.store
    meeting = await store.meetings.get(int(turn.data["meeting_id"]))
    if meeting is None:
        raise UserError("briefing.not_found")
    village_id = turn.data.get("village_id")
    conclusion = await store.meetings.add_conclusion(
        meeting, village_id, turn.data["text"], due_on, turn.me.id, turn.now
    )
    commune = turn.me.unit
    where = (
        await store.rhythm.recipients("", [Role.REPORTER], unit_ids=[village_id])
        if village_id is not None
        else await store.rhythm.recipients(commune.path, [Role.REPORTER])
    )
    due_text = turn.t("conclusions.due", date=f"{due_on:%d/%m}") if due_on else ""
    notice = turn.t(
        "conclusions.notice",
        month=_month(turn),
        scope=commune.name,
        text=conclusion.text,
        village=conclusion.village_name or turn.t("conclusions.everyone"),
        due=due_text,
        number=conclusion.id,
    )
    sent = 0
    for head in where:
        if head.member.active:
            sent += 1
            turn.outgoing.append(
                Outgoing(
                    f"conclusion:{conclusion.id}:{head.member.id}",
                    head.member.id,
                    Reply(notice),
                    BULK_PRIORITY,
                )
            )
    turn.data["recorded"] = int(turn.data.get("recorded", 0)) + 1
    for key in ("text", "village_id", "village_name"):
        turn.data.pop(key, None)
    turn.state = State.CONCLUDE_MORE
    turn.say(
        turn.t(
            "conclusions.stored",
            number=conclusion.id,
            text=conclusion.text,
            village=conclusion.village_name or turn.t("conclusions.everyone"),
            due=due_text,
            n=sent,
        ),
        [
            [
                Button(turn.t("buttons.add_conclusion"), MORE, ("them", "tiep")),
                Button(turn.t("buttons.done"), DONE, ("xong", "het")),
            ]
        ],
    )


async def prompt_more(turn: Turn) -> None:
    turn.say(
        turn.t("conclusions.ask_more"),
        [
            [
                Button(turn.t("buttons.add_conclusion"), MORE, ("them", "tiep")),
                Button(turn.t("buttons.done"), DONE, ("xong", "het")),
            ]
        ],
    )


async def more(turn: Turn) -> None:
    if turn.choice is not None and turn.choice.data == DONE:
        turn.say(turn.t("conclusions.finished", n=turn.data.get("recorded", 0)), edit=True)
        turn.finish()
        return
    if turn.choice is not None and turn.choice.data == MORE:
        turn.state = State.CONCLUDE_TEXT
        await prompt_text(turn)
        return
    if len(turn.text.split()) >= 2:  # the next conclusion typed straight away
        turn.state = State.CONCLUDE_TEXT
        await text(turn)
        return
    turn.unclear()


STEPS = {
    State.CONCLUDE_TEXT: text,
    State.CONCLUDE_VILLAGE: village,
    State.CONCLUDE_DUE: due,
    State.CONCLUDE_MORE: more,
}
PROMPTS = {
    State.CONCLUDE_TEXT: prompt_text,
    State.CONCLUDE_VILLAGE: prompt_village,
    State.CONCLUDE_DUE: prompt_due,
    State.CONCLUDE_MORE: prompt_more,
}
