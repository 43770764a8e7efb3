"""/khancap: an urgent report, stored on the first complete answer and sent to leaders at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers import drafting
from handlers.hotspots.detection import report_stored
from handlers.matching import people_in
from handlers.messages import Button, Outgoing, Reply
from handlers.registration import idle
from handlers.states import State
from handlers.turn import STASH, Turn
from storage.records import ItemDraft, Role

# After the report is sent, what the reporter adds within this time joins it.
FOLLOWUP_WINDOW = timedelta(hours=2)


async def begin(turn: Turn) -> None:
    """Ask what is happening; "/khancap <text>" answers that at once."""
    turn.data = {**turn.data, **drafting.start_draft(turn, "urgent"), "text": None, "files": []}
    turn.state = State.URGENT_TEXT
    if turn.text:
        await text(turn)
        return
    await prompt_text(turn)


async def prompt_text(turn: Turn) -> None:
    turn.say(turn.t("urgent.ask_text"))


async def text(turn: Turn) -> None:
    turn.data["files"].extend(drafting.attachments_of(turn))
    if not turn.text:
        if turn.msg.attachments:
            turn.say(turn.t("urgent.file_then_text", what=drafting.attachment_note(turn)))
        else:
            turn.unclear()
        return
    turn.data["text"] = turn.text
    turn.state = State.URGENT_TOPIC
    await prompt_topic(turn)


async def prompt_topic(turn: Turn) -> None:
    buttons = [Button(t.short, f"t:{t.code}") for t in turn.services.settings.topics]
    turn.say(turn.t("urgent.ask_topic"), [buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def topic(turn: Turn) -> None:
    files = drafting.attachments_of(turn)
    if files and turn.choice is None:
        turn.data["files"].extend(files)
        if turn.text:  # a photo's caption describes the event too
            turn.data["text"] = f"{turn.data['text']}\n{turn.text}"
        turn.say(turn.t("report.file_received", what=drafting.attachment_note(turn)))
        return
    if turn.choice is None or not turn.choice.data.startswith("t:"):
        turn.unclear()
        return
    await _submit(turn, turn.choice.data[2:])


async def _submit(turn: Turn, topic_code: str) -> None:
    services = turn.services
    settings = services.settings
    description: str = turn.data["text"]
    files = [(k, r) for k, r in turn.data["files"]]
    # where: a place sent with the report, or else the village itself
    place = next((r for k, r in files if k == "location"), turn.data["unit_name"])
    submitted = await services.store.reports.submit_urgent(
        unit_id=turn.data["unit_id"],
        reporter_id=turn.me.id,
        week=turn.data["week"],
        source=f"{turn.msg.channel}:{turn.msg.message_id}",
        sent_at=datetime.fromisoformat(turn.data["sent_at"]),
        now=turn.now,
        item=ItemDraft(
            topic=topic_code,
            text=description,
            severity=settings.urgent_severity.code,
            people=people_in(description),
            attachments=tuple(files),
        ),
        place=place,
        denunciation=settings.topic(topic_code).denunciation,
    )
    report = await services.store.reports.get(submitted.report_id)
    if report is None:
        raise LookupError(f"report {submitted.report_id} vanished")
    commune = await drafting.commune_name(services, report.unit)
    alerts = await drafting.urgent_alerts(services, report, commune)
    turn.outgoing.extend(alerts)
    turn.outgoing.extend(await report_stored(services, report))  # its hotspot, its handling
    key = "urgent.stored" if alerts else "urgent.stored_nobody"
    turn.say(turn.t(key, number=report.id, commune=commune))
    turn.finish()
    if STASH in turn.data:
        return  # the engine offers the draft set aside; that matters more than additions
    turn.go(
        State.URGENT_FOLLOWUP,
        report_id=report.id,
        until=(turn.now + FOLLOWUP_WINDOW).isoformat(),
    )


async def followup(turn: Turn) -> None:
    """More text, photos or a place for the report just sent; it goes to the same leaders."""
    until = datetime.fromisoformat(turn.data["until"])
    if turn.now > until:
        turn.finish()
        await idle(turn)
        return
    services = turn.services
    number = turn.data["report_id"]
    files = drafting.attachments_of(turn)
    added = await services.store.reports.add_to(
        number,
        reporter_id=turn.me.id,
        source=f"{turn.msg.channel}:{turn.msg.message_id}",
        text=turn.text,
        attachments=files,
        sent_at=turn.msg.sent_at,
        now=turn.now,
    )
    turn.say(turn.t("report.added", number=number))
    if not added:
        return
    report = await services.store.reports.get(number)
    if report is None:
        return
    what = drafting.quote(turn.text) if turn.text else drafting.attachment_note(turn)
    recipients = await services.store.members.covering(
        report.unit.path, {Role.LEADER, Role.OFFICER}
    )
    for member in recipients:
        if member.id == turn.me.id:
            continue
        turn.outgoing.append(
            Outgoing(
                idem_key=f"alert-add:{number}:{member.id}:{turn.msg.channel}:{turn.msg.message_id}",
                member_id=member.id,
                reply=Reply(
                    turn.t("alert.addition", number=number, unit=report.unit.name, what=what)
                ),
                priority=drafting.ALERT_PRIORITY,
            )
        )


async def prompt_followup(turn: Turn) -> None:
    turn.say(turn.t("urgent.followup_hint", number=turn.data["report_id"]))


STEPS = {
    State.URGENT_TEXT: text,
    State.URGENT_TOPIC: topic,
    State.URGENT_FOLLOWUP: followup,
}
PROMPTS = {
    State.URGENT_TEXT: prompt_text,
    State.URGENT_TOPIC: prompt_topic,
}
