"""/baocao: the weekly report of a village, in as few messages as the week needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers import drafting
from handlers.hotspots.detection import report_stored
from handlers.matching import match_many, parse_count, people_in
from handlers.messages import Button
from handlers.states import State
from handlers.turn import Turn
from storage.records import ItemDraft

NORMAL, ISSUE, NEXT = "normal", "issue", "next"
SEND, EDIT, CANCEL, ADD, YES, NO, UNKNOWN = "send", "edit", "cancel", "add", "yes", "no", "unknown"


async def begin(turn: Turn) -> None:
    """Open this week's report for the reporter's village."""
    turn.data = {**turn.data, **drafting.start_draft(turn, "weekly"), "items": [], "selected": []}
    turn.state = State.WEEKLY_STATUS
    if turn.text:  # "/baocao binh thuong" or "/baocao <what happened>"
        turn.choice = _status_choice(turn, turn.text)
        await status(turn)
        return
    await prompt_status(turn)


def _status_buttons(turn: Turn) -> list[list[Button]]:
    return [
        [
            Button(turn.t("buttons.normal"), NORMAL, ("binh thuong", "khong co gi", "on", "ok")),
            Button(turn.t("buttons.issue"), ISSUE, ("co viec", "co")),
        ]
    ]


def _status_choice(turn: Turn, text: str) -> Button | None:
    found = match_many(text, [b for row in _status_buttons(turn) for b in row])
    return found[0] if found and len(found) == 1 else None


async def prompt_status(turn: Turn) -> None:
    existing = await turn.services.store.reports.weekly_id(turn.data["unit_id"], turn.data["week"])
    text = turn.t("weekly.ask_status", week=turn.data["week_label"], unit=turn.data["unit_name"])
    if existing is not None:
        text += "\n" + turn.t("weekly.already", number=existing)
    turn.say(text, _status_buttons(turn))


async def status(turn: Turn) -> None:
    """Quiet week (one tap, done) or something to report."""
    if turn.choice is not None and turn.choice.data == NORMAL:
        await _submit(turn)
        return
    if turn.choice is None and len(turn.text.split()) < 4:
        turn.unclear()
        return
    if turn.choice is None:
        # They told us what happened straight away: keep it as the first topic's description.
        turn.data["pending_text"] = turn.text
    turn.state = State.WEEKLY_TOPICS
    await prompt_topics(turn)


def _topic_buttons(turn: Turn) -> list[list[Button]]:
    selected = set(turn.data["selected"])
    buttons = [
        Button(("✔ " if t.code in selected else "") + t.short, f"t:{t.code}")
        for t in turn.services.settings.topics
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([Button(turn.t("buttons.next"), NEXT, ("tiep", "xong", "tiep tuc", "ok"))])
    return rows


async def prompt_topics(turn: Turn, edit: bool = False) -> None:
    if turn.data["selected"]:
        names = ", ".join(turn.services.settings.topic(c).short for c in turn.data["selected"])
        turn.say(turn.t("weekly.topics_chosen", topics=names), _topic_buttons(turn), edit=edit)
    else:
        turn.say(turn.t("weekly.ask_topics"), _topic_buttons(turn), edit=edit)


async def topics(turn: Turn) -> None:
    """Tick one or more topics (buttons, numbers or names), then Tiếp."""
    if await _absorb_files(turn):
        return
    chosen = [turn.choice] if turn.choice is not None else match_many(turn.text, turn.pending())
    if not chosen:
        if len(turn.text.split()) >= 4 and not turn.data.get("pending_text"):
            turn.data["pending_text"] = turn.text
            turn.say(turn.t("weekly.topic_for_text"))
            return
        turn.unclear()
        return
    go_on = False
    for button in chosen:
        if button.data == NEXT:
            go_on = True
        elif button.data.startswith("t:"):
            code = button.data[2:]
            selected: list[str] = turn.data["selected"]
            if code in selected and len(chosen) == 1:
                selected.remove(code)
            elif code not in selected:
                selected.append(code)
    if not go_on:
        await prompt_topics(turn, edit=True)
        return
    if not turn.data["selected"]:
        turn.say(turn.t("weekly.pick_one"))
        return
    items: list[dict[str, Any]] = turn.data["items"]
    known = {item["topic"] for item in items}
    items.extend(_new_item(code) for code in turn.data["selected"] if code not in known)
    items[:] = [item for item in items if item["topic"] in turn.data["selected"]]
    pending = turn.data.pop("pending_text", None)
    if pending and items and items[0]["text"] is None:
        _set_text(turn, items[0], pending)
    await advance(turn)


def _new_item(topic: str) -> dict[str, Any]:
    return {
        "topic": topic,
        "text": None,
        "people": None,
        "people_asked": False,
        "denunciation": None,
        "severity": None,
        "attachments": [],
    }


def _set_text(turn: Turn, item: dict[str, Any], text: str) -> None:
    item["text"] = text
    item["people"] = people_in(text)
    item["people_asked"] = item["people"] is not None
    topic = turn.services.settings.topic(item["topic"])
    if topic.denunciation and drafting.is_denunciation_text(text):
        item["denunciation"] = True


async def advance(turn: Turn) -> None:
    """Ask the first thing still missing, or show the summary."""
    settings = turn.services.settings
    for index, item in enumerate(turn.data["items"]):
        turn.data["current"] = index
        if item["text"] is None:
            turn.state = State.WEEKLY_TEXT
        elif not item["people_asked"]:
            turn.state = State.WEEKLY_PEOPLE
        elif settings.topic(item["topic"]).denunciation and item["denunciation"] is None:
            turn.state = State.WEEKLY_DENUNCIATION
        elif item["severity"] is None:
            turn.state = State.WEEKLY_SEVERITY
        else:
            continue
        await PROMPTS[turn.state](turn)
        return
    turn.state = State.WEEKLY_CONFIRM
    await prompt_confirm(turn)


def _current(turn: Turn) -> dict[str, Any]:
    item: dict[str, Any] = turn.data["items"][turn.data["current"]]
    return item


def _topic_name(turn: Turn) -> str:
    return turn.services.settings.topic(_current(turn)["topic"]).short


async def _absorb_files(turn: Turn) -> bool:
    """Photos, voice notes and places sent alone join the current topic (or wait for one)."""
    files = drafting.attachments_of(turn)
    if not files:
        return False
    if turn.data.get("items") and "current" in turn.data:
        _current(turn)["attachments"].extend(files)
    else:
        turn.data.setdefault("loose_files", []).extend(files)
    if turn.text:
        return False
    turn.say(turn.t("report.file_received", what=drafting.attachment_note(turn)))
    return True


async def prompt_text(turn: Turn) -> None:
    turn.say(turn.t("weekly.ask_text", topic=_topic_name(turn)))


async def text(turn: Turn) -> None:
    """What is happening, for the current topic."""
    if turn.data.get("loose_files") and "current" in turn.data:
        _current(turn)["attachments"].extend(turn.data.pop("loose_files"))
    if await _absorb_files(turn):
        return
    if not turn.text:
        turn.unclear()
        return
    _set_text(turn, _current(turn), turn.text)
    await advance(turn)


async def prompt_people(turn: Turn) -> None:
    turn.say(
        turn.t("weekly.ask_people", topic=_topic_name(turn)),
        [[Button(turn.t("buttons.unknown"), UNKNOWN, ("khong ro", "khong biet", "chua ro"))]],
    )


async def people(turn: Turn) -> None:
    if await _absorb_files(turn):
        return
    item = _current(turn)
    typed = parse_count(turn.text) if turn.msg.button is None else None
    if typed is not None:
        item["people"] = typed  # "1" typed here is one person, not the first button
    elif turn.choice is not None and turn.choice.data == UNKNOWN:
        item["people"] = None
    else:
        count = parse_count(turn.text)
        if count is None:
            turn.unclear()
            return
        item["people"] = count
    item["people_asked"] = True
    await advance(turn)


async def prompt_denunciation(turn: Turn) -> None:
    turn.say(
        turn.t("weekly.ask_denunciation"),
        [
            [
                Button(turn.t("buttons.yes_denunciation"), YES, ("co", "phai")),
                Button(turn.t("buttons.no"), NO, ("khong",)),
            ]
        ],
    )


async def denunciation(turn: Turn) -> None:
    if turn.choice is None:
        turn.unclear()
        return
    _current(turn)["denunciation"] = turn.choice.data == YES
    await advance(turn)


async def prompt_severity(turn: Turn) -> None:
    buttons = [
        Button(("🚨 " if s.urgent else "") + s.name, f"sev:{s.code}")
        for s in turn.services.settings.severities
    ]
    many = len(turn.data["items"]) > 1
    key = "weekly.ask_severity_of" if many else "weekly.ask_severity"
    turn.say(turn.t(key, topic=_topic_name(turn)), [buttons])


async def severity(turn: Turn) -> None:
    if await _absorb_files(turn):
        return
    if turn.choice is None or not turn.choice.data.startswith("sev:"):
        turn.unclear()
        return
    _current(turn)["severity"] = turn.choice.data[4:]
    await advance(turn)


def _summary(turn: Turn) -> str:
    settings = turn.services.settings
    lines = [
        turn.t("weekly.summary_head", week=turn.data["week_label"], unit=turn.data["unit_name"])
    ]
    for item in turn.data["items"]:
        parts = [
            settings.topic(item["topic"]).short,
            settings.severity(item["severity"]).name.lower(),
            drafting.people_label(turn, item["people"]),
        ]
        if item["attachments"]:
            parts.append(turn.t("report.files", n=len(item["attachments"])))
        if item["denunciation"]:
            parts.append(turn.t("report.denunciation"))
        lines.append(f"• {' · '.join(parts)}")
        lines.append(f"  {drafting.quote(item['text'])}")
    return "\n".join(lines)


async def prompt_confirm(turn: Turn) -> None:
    turn.say(
        _summary(turn),
        [
            [
                Button(turn.t("buttons.send"), SEND, ("gui", "ok", "dong y", "xac nhan")),
                Button(turn.t("buttons.edit"), EDIT, ("sua",)),
                Button(turn.t("buttons.cancel"), CANCEL, ("huy",)),
            ]
        ],
    )


async def confirm(turn: Turn) -> None:
    if await _absorb_files(turn):
        return
    if turn.choice is None:
        turn.unclear()
        return
    if turn.choice.data == SEND:
        await _submit(turn)
    elif turn.choice.data == CANCEL:
        turn.say(turn.t("cancel.done"), edit=True)
        turn.finish()
    else:
        turn.state = State.WEEKLY_EDIT
        await prompt_edit(turn)


async def prompt_edit(turn: Turn) -> None:
    settings = turn.services.settings
    rows = [
        [
            Button(
                turn.t("buttons.edit_topic", topic=settings.topic(item["topic"]).short), f"edit:{i}"
            )
        ]
        for i, item in enumerate(turn.data["items"])
    ]
    rows.append(
        [
            Button(turn.t("buttons.add_topic"), ADD, ("them",)),
            Button(turn.t("buttons.back"), "back", ("quay lai",)),
        ]
    )
    turn.say(turn.t("weekly.ask_edit"), rows)


async def edit(turn: Turn) -> None:
    if turn.choice is None:
        turn.unclear()
        return
    if turn.choice.data == ADD:
        turn.state = State.WEEKLY_TOPICS
        await prompt_topics(turn)
        return
    if turn.choice.data.startswith("edit:"):
        item = turn.data["items"][int(turn.choice.data[5:])]
        item.update(_new_item(item["topic"]) | {"attachments": item["attachments"]})
    await advance(turn)


async def _submit(turn: Turn) -> None:
    services = turn.services
    items = [
        ItemDraft(
            topic=i["topic"],
            text=i["text"],
            severity=i["severity"],
            people=i["people"],
            attachments=tuple((k, r) for k, r in i["attachments"]),
        )
        for i in turn.data["items"]
    ]
    submitted = await services.store.reports.submit_weekly(
        unit_id=turn.data["unit_id"],
        reporter_id=turn.me.id,
        week=turn.data["week"],
        source=f"{turn.msg.channel}:{turn.msg.message_id}",
        sent_at=datetime.fromisoformat(turn.data["sent_at"]),
        now=turn.now,
        items=items,
        denunciation=any(i["denunciation"] for i in turn.data["items"]),
    )
    number = submitted.report_id
    week_no = turn.data["week"].split("-W")[1].lstrip("0")
    if not items:
        key = "weekly.stored_normal_amend" if submitted.amended else "weekly.stored_normal"
        turn.say(turn.t(key, week=week_no, unit=turn.data["unit_name"], number=number), edit=True)
    else:
        key = "weekly.stored_amend" if submitted.amended else "weekly.stored"
        turn.say(turn.t(key, week=week_no, unit=turn.data["unit_name"], number=number), edit=True)
    urgent_code = services.settings.urgent_severity.code
    if items:  # count the issues in their hotspots (handlers/hotspots)
        stored = await services.store.reports.get(number)
        if stored is not None:
            turn.outgoing.extend(await report_stored(services, stored))
    if any(i.severity == urgent_code for i in items):
        report = await services.store.reports.get(number)
        if report is not None:
            commune = await drafting.commune_name(services, report.unit)
            turn.outgoing.extend(await drafting.urgent_alerts(services, report, commune))
    turn.finish()


STEPS = {
    State.WEEKLY_STATUS: status,
    State.WEEKLY_TOPICS: topics,
    State.WEEKLY_TEXT: text,
    State.WEEKLY_PEOPLE: people,
    State.WEEKLY_DENUNCIATION: denunciation,
    State.WEEKLY_SEVERITY: severity,
    State.WEEKLY_CONFIRM: confirm,
    State.WEEKLY_EDIT: edit,
}
PROMPTS = {
    State.WEEKLY_STATUS: prompt_status,
    State.WEEKLY_TOPICS: prompt_topics,
    State.WEEKLY_TEXT: prompt_text,
    State.WEEKLY_PEOPLE: prompt_people,
    State.WEEKLY_DENUNCIATION: prompt_denunciation,
    State.WEEKLY_SEVERITY: prompt_severity,
    State.WEEKLY_CONFIRM: prompt_confirm,
    State.WEEKLY_EDIT: prompt_edit,
}
