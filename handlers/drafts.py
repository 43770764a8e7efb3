"""Drafts left untouched: kept, and their owner reminded once."""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers.messages import Outgoing
from handlers.registration import resume_reply
from handlers.services import Services
from handlers.states import State
from handlers.turn import CHOICES, STASH

log = logging.getLogger(__name__)

REMINDER_PRIORITY = 20


async def remind_stale_drafts(services: Services) -> list[Outgoing]:
    """Remind each chat whose draft was untouched for the configured hours, once.

    The draft is set aside (not dropped) and the reminder's buttons take it back.
    """
    store = services.store
    now = services.clock.now()
    before = now - timedelta(hours=services.settings.draft_reminder_hours)
    reminders: list[Outgoing] = []
    for channel, chat_id, conversation in await store.conversations.stale(before):
        state = State(conversation.state)
        member_id = conversation.data.get("member_id")
        if state not in _REMINDABLE or member_id is None:
            continue
        draft = {k: v for k, v in conversation.data.items() if k not in (CHOICES, STASH)}
        stash = {"state": state.value, "data": draft}
        reply = resume_reply(services, stash, key="alert.stale_draft")
        data = {
            STASH: stash,
            CHOICES: [[b.label, b.data, list(b.aliases)] for b in reply.flat_buttons()],
        }
        await store.conversations.mark_reminded(channel, chat_id, State.RESUME.value, data, now)
        reminders.append(
            Outgoing(
                idem_key=f"draft:{channel}:{chat_id}:{conversation.updated_at.isoformat()}",
                member_id=int(member_id),
                reply=reply,
                priority=REMINDER_PRIORITY,
                channel=channel,
                chat_id=chat_id,
            )
        )
        log.info(
            "reminded %s/%s of a draft untouched since %s",
            channel,
            chat_id,
            conversation.updated_at,
        )
    return reminders


_REMINDABLE = {s for s in State if s.flow in ("weekly", "urgent")} - {State.URGENT_FOLLOWUP}
