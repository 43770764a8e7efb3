"""The monthly giao ban: the agenda three working days before, the leader's confirmation of
date and time (/giaoban), and the invitations to the village heads."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from handlers.errors import UserError
from handlers.messages import Button, Outgoing, Reply
from handlers.rhythm import figures
from handlers.rhythm.calendar import (
    agenda_day,
    meeting_day,
    meeting_time,
    month_key,
    next_month,
)
from handlers.rhythm.send import BULK_PRIORITY, Batch, flush
from handlers.services import Services
from handlers.states import State
from handlers.turn import Turn
from handlers.weeks import weeks_between
from storage.records import ReportKind, Role, Unit
from storage.repositories.meetings import Conclusion, Meeting

CONFIRM, CHANGE = "xacnhan", "doi"
_WHEN = re.compile(
    r"(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2,4}))?(?:\D+(\d{1,2})(?:\s*[:hg.]\s*(\d{2}))?)?"
)


def when_label(services: Services, moment: datetime) -> str:
    """ "thứ Tư 24/12, 08:00" """
    local = moment.astimezone(services.settings.timezone)
    weekday = services.texts("rhythm.weekdays").split(",")[local.weekday()]
    return f"{weekday} {local:%d/%m}, {local:%H:%M}"


async def agenda(services: Services, commune: Unit, meeting: Meeting, now: datetime) -> Reply:
    """The proposed agenda of a meeting, from the reports since the previous one."""
    t = services.texts
    tz = services.settings.timezone
    settings = services.settings
    day = meeting.scheduled_at.astimezone(tz).date()
    previous = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    since = meeting_time(settings, meeting_day(settings.rhythm, previous.year, previous.month))
    until = min(now, meeting.scheduled_at)
    items: list[str] = []
    urgent = await services.store.reports.in_scope(
        commune.path, since=since, until=until, kind=ReportKind.URGENT
    )
    if urgent:
        shown = "; ".join(
            f"#{r.id} {r.unit.name} — {figures.report_topic(services, r)} "
            f"({figures.status_name(services, r.status)})"
            for r in urgent[:5]
        )
        items.append(t("briefing.urgent", n=len(urgent), reports=shown))
    by_topic, _, _ = await figures.counts(services, commune, since, until)
    before, _, _ = await figures.counts(services, commune, since - (until - since), since)
    grew = [c for c in by_topic if by_topic[c] > before[c]]
    grew.sort(key=lambda c: (before[c] - by_topic[c], c))
    if grew:
        shown = ", ".join(
            figures.topic_name(services, c) + f" {by_topic[c]}"
            f"{figures.change(by_topic[c], before[c])}"
            for c in grew[:5]
        )
        items.append(t("briefing.grew", topics=shown))
    reports = await services.store.reports.in_scope(commune.path, since=since, until=until)
    open_issues = [
        r
        for r in figures.notable(services, reports, limit=20)
        if r.kind != ReportKind.URGENT and r.status == "new"
    ][:3]
    if open_issues:
        shown = "; ".join(
            f"#{r.id} {r.unit.name} — {figures.report_topic(services, r)}" for r in open_issues
        )
        items.append(t("briefing.open_issues", reports=shown))
    weeks = [w for w in weeks_between(since, until, tz) if w.end(tz) <= until]
    villages = await services.store.units.subtree(commune, settings.levels.reporter)
    if weeks and villages:
        reported = await services.store.reports.reported_units(commune.path, [w.key for w in weeks])
        uneven = []
        for village in villages:
            n = sum(1 for w in weeks if village.id in reported[w.key])
            if n < len(weeks):
                uneven.append(t("briefing.village_weeks", name=village.name, n=n, total=len(weeks)))
        if uneven:
            items.append(t("briefing.missing", villages=", ".join(uneven[:15])))
    still_open = await services.store.meetings.conclusions(unit_id=commune.id, open_only=True)
    if still_open:
        shown = "; ".join(conclusion_line(services, c) for c in still_open[:8])
        items.append(t("briefing.open_conclusions", conclusions=shown))
    lines = [
        t(
            "briefing.head",
            month=day.month,
            when=when_label(services, meeting.scheduled_at),
            scope=commune.name,
        )
    ]
    if meeting.status == "confirmed":
        lines.append(t("briefing.confirmed_note"))
    if items:
        lines.append(t("briefing.items_head"))
        lines.extend(f"{n}. {item}" for n, item in enumerate(items, start=1))
    else:
        lines.append(t("briefing.nothing"))
    buttons = (
        (
            Button(t("buttons.confirm_meeting"), f"/giaoban {CONFIRM} {meeting.id}"),
            Button(t("buttons.change_meeting"), f"/giaoban {CHANGE} {meeting.id}"),
        ),
    )
    return Reply("\n".join(lines), buttons)


def conclusion_line(services: Services, conclusion: Conclusion) -> str:
    where = conclusion.village_name or services.texts("conclusions.everyone")
    due = (
        services.texts("conclusions.due", date=f"{conclusion.due_on:%d/%m}")
        if conclusion.due_on
        else ""
    )
    return f"KL{conclusion.id} {conclusion.text} ({where}{due})"


async def send_agendas(services: Services, at: datetime) -> str:
    """Daily: on the agenda day (N working days before the giao ban), each leader's agenda."""
    settings = services.settings
    rhythm = settings.rhythm
    today = at.astimezone(settings.timezone).date()
    months = [
        d
        for d in (today.replace(day=1), next_month(today))
        if agenda_day(rhythm, d.year, d.month) == today
    ]
    if not months:
        return "no giao ban agenda due today"
    store = services.store
    leaders = await store.rhythm.recipients("/", [Role.LEADER])
    batch = Batch()
    replies: dict[int, Reply | None] = {}
    for first in months:
        day = meeting_day(rhythm, first.year, first.month)
        for recipient in leaders:
            commune = recipient.member.unit
            if commune.level != settings.levels.leader:
                continue
            if commune.id not in replies:
                villages = await store.units.subtree(commune, settings.levels.reporter)
                if not villages:
                    replies[commune.id] = None  # an empty commune: no agenda, no error
                    continue
                meeting = await store.meetings.ensure(
                    commune.id, month_key(day), meeting_time(settings, day), services.clock.now()
                )
                replies[commune.id] = await agenda(services, commune, meeting, at)
            reply = replies[commune.id]
            if reply is not None:
                key = f"agenda:{recipient.member.id}:{month_key(day)}"
                batch.add(services, recipient, key, reply)
    added = await flush(services, batch)
    return f"giao ban agenda {', '.join(month_key(m) for m in months)}: {added} sent, " + (
        f"{batch.skipped} skipped"
    )


# --- /giaoban ---------------------------------------------------------------------------


async def command(turn: Turn) -> None:
    """/giaoban: the next giao ban's agenda; confirm it or change its date and time."""
    action, _, rest = turn.text.partition(" ")
    if action in (CONFIRM, CHANGE) and rest.strip().isdigit():
        meeting = await _own_meeting(turn, int(rest))
        if action == CONFIRM:
            await _confirm(turn, meeting, meeting.scheduled_at)
        else:
            turn.go(State.BRIEFING_DATE, meeting_id=meeting.id)
            await prompt_date(turn)
        return
    commune = turn.me.unit
    settings = turn.services.settings
    local = turn.now.astimezone(settings.timezone).date()
    day = meeting_day(settings.rhythm, local.year, local.month)
    if day < local:
        following = next_month(local)
        day = meeting_day(settings.rhythm, following.year, following.month)
    meeting = await turn.services.store.meetings.ensure(
        commune.id, month_key(day), meeting_time(settings, day), turn.now
    )
    reply = await agenda(turn.services, commune, meeting, turn.now)
    turn.replies.append(reply)


async def _own_meeting(turn: Turn, meeting_id: int) -> Meeting:
    meeting = await turn.services.store.meetings.get(meeting_id)
    if meeting is None or meeting.unit_id != turn.me.unit.id:
        raise UserError("briefing.not_found")
    return meeting


async def prompt_date(turn: Turn) -> None:
    turn.say(turn.t("briefing.ask_date"))


async def date_step(turn: Turn) -> None:
    """A new date and time typed: "24/12 14:00", "24-12 14h", "24/12" (same hour)."""
    meeting = await _own_meeting(turn, int(turn.data["meeting_id"]))
    moment = parse_when(turn.services, turn.text, meeting.scheduled_at, turn.now)
    if moment is None:
        turn.unclear()
        return
    await _confirm(turn, meeting, moment)
    turn.finish()


def parse_when(services: Services, text: str, current: datetime, now: datetime) -> datetime | None:
    tz = services.settings.timezone
    found = _WHEN.search(text)
    if found is None:
        return None
    today = now.astimezone(tz).date()
    old = current.astimezone(tz)
    year = int(found[3]) if found[3] else today.year
    if year < 100:
        year += 2000
    try:
        day = date(year, int(found[2]), int(found[1]))
        at = time(int(found[4]), int(found[5] or 0)) if found[4] else old.time()
    except ValueError:
        return None
    if not found[3] and day < today:
        day = day.replace(year=day.year + 1)
    if day < today:
        return None
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


async def _confirm(turn: Turn, meeting: Meeting, moment: datetime) -> None:
    """Fix the date and time, and invite the village heads of the commune."""
    services = turn.services
    meeting = await services.store.meetings.confirm(meeting.id, turn.me.id, moment, turn.now)
    commune = turn.me.unit
    heads = await services.store.rhythm.recipients(commune.path, [Role.REPORTER])
    when = when_label(services, moment)
    month = moment.astimezone(services.settings.timezone).month
    text = turn.t(
        "briefing.invitation",
        month=month,
        scope=commune.name,
        when=when,
        place=services.settings.rhythm.briefing_place,
    )
    stamp = int(moment.timestamp())
    invited = 0
    for head in heads:
        if not head.member.active:
            continue
        invited += 1
        turn.outgoing.append(
            Outgoing(
                f"invite:{meeting.id}:{head.member.id}:{stamp}",
                head.member.id,
                Reply(text),
                BULK_PRIORITY,
            )
        )
    turn.say(turn.t("briefing.confirmed", when=when, n=invited), edit=True)
