"""The reminder's answers: "Bình thường" in one tap (or typed), "Có việc" into /baocao."""

from __future__ import annotations

from handlers import drafting, registration, weekly
from handlers.matching import match_choice
from handlers.messages import Button
from handlers.rhythm.reminders import reminder_buttons
from handlers.states import State
from handlers.turn import Turn
from handlers.weeks import Week
from storage.records import Role


async def quiet_week(turn: Turn) -> None:
    """/binhthuong [WEEK]: file a quiet week (the reminder's week, if still current)."""
    await _file_quiet(turn, _week_asked(turn, turn.text))


def _week_asked(turn: Turn, text: str) -> Week:
    """The week named, if it is this week or last; otherwise this week."""
    current = Week.of(turn.msg.sent_at, turn.services.settings.timezone)
    try:
        asked = Week.parse(text.strip().upper())
    except ValueError:
        return current
    return asked if asked in (current, current.previous()) else current


async def _file_quiet(turn: Turn, week: Week) -> None:
    """Exactly the weekly report's quiet-week answer, for ``week``."""
    turn.data = {
        **turn.data,
        **drafting.start_draft(turn, "weekly"),
        "items": [],
        "selected": [],
    }
    turn.data.update(week=week.key, week_label=week.label())
    turn.state = State.WEEKLY_STATUS
    turn.choice = Button(turn.t("buttons.normal"), weekly.NORMAL)
    await weekly.status(turn)


async def idle(turn: Turn) -> None:
    """Free text with nothing in progress: a reporter answering a reminder, or help."""
    member = turn.member
    if member is not None and member.role == Role.REPORTER and turn.text:
        week = await _open_reminder(turn)
        if week is not None:
            buttons = [b for row in reminder_buttons(turn.services, week) for b in row]
            choice = turn.choice if turn.choice in buttons else match_choice(turn.text, buttons)
            if choice is not None and choice.data.startswith("/binhthuong"):
                await _file_quiet(turn, week)
                return
            if choice is not None:
                turn.text = "co viec"
                await weekly.begin(turn)
                return
    await registration.idle(turn)


async def _open_reminder(turn: Turn) -> Week | None:
    """The week of the reporter's last reminder, if it is this week or last and unanswered."""
    store = turn.services.store
    key = await store.rhythm.last_reminded_week(turn.me.id)
    if key is None:
        return None
    week = Week.parse(key)
    current = Week.of(turn.msg.sent_at, turn.services.settings.timezone)
    if week not in (current, current.previous()):
        return None
    if await store.reports.weekly_id(turn.me.unit.id, week.key) is not None:
        return None
    return week
