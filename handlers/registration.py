"""Joining with an invitation code, help, cancelling, and what an idle chat is told."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from handlers import invitations
from handlers.errors import NotRegistered, UserError
from handlers.messages import Button, Reply
from handlers.services import Services
from handlers.states import State
from handlers.turn import STASH, Turn
from handlers.weeks import local_time

log = logging.getLogger(__name__)

LINK_CODE_VALID = timedelta(days=1)
RESUME, DROP = "resume", "drop"


def looks_like_code(text: str) -> bool:
    return invitations.is_code(text)


async def start(turn: Turn) -> None:
    """/start [CODE]: join with a code, or be greeted."""
    if turn.text:
        await redeem(turn, turn.text)
        return
    if turn.member is None:
        raise NotRegistered()
    turn.say(turn.t("start.welcome_back", name=turn.me.display_name, unit=turn.me.unit.name))
    await help(turn)


async def redeem(turn: Turn, typed: str) -> None:
    """Check a typed invitation code; five wrong ones in an hour lock the chat for an hour."""
    store = turn.services.store
    settings = turn.services.settings
    msg = turn.msg
    if turn.member is not None:
        invitation = await store.members.invitation(invitations.hash_code(typed))
        if invitation is None or invitation.member_id != turn.member.id:
            turn.say(turn.t("start.already_member", unit=turn.me.unit.name))
            return
    window = timedelta(minutes=settings.lockout_minutes)
    failures = await store.members.failed_codes_since(msg.channel, msg.chat_id, turn.now - window)
    if len(failures) >= settings.max_failed_codes:
        until = failures[-settings.max_failed_codes] + window
        log.warning("locked-out chat %s/%s tried a code", msg.channel, msg.chat_id)
        raise UserError("start.locked", until=local_time(until, settings.timezone))
    member = None
    if invitations.is_code(typed):
        member = await store.members.redeem(
            invitations.hash_code(typed),
            msg.channel,
            msg.user_id,
            msg.chat_id,
            msg.display_name or msg.user_id,
            turn.now,
        )
    if member is None:
        await store.members.record_failed_code(msg.channel, msg.chat_id, turn.now)
        left = settings.max_failed_codes - len(failures) - 1
        log.info("wrong invitation code from %s/%s (%d tries left)", msg.channel, msg.chat_id, left)
        if left <= 0:
            until = turn.now + window
            raise UserError("start.locked", until=local_time(until, settings.timezone))
        raise UserError("start.bad_code", left=left)
    await store.members.clear_failed_codes(msg.channel, msg.chat_id)
    await store.audit.write(
        member.id, "member.joined", {"channel": msg.channel, "user_id": msg.user_id}, turn.now
    )
    turn.member = member
    turn.say(
        turn.t(
            "start.joined",
            role=turn.t(f"roles.{member.role.value}"),
            unit=member.unit.name,
        )
    )
    await help(turn)


async def help(turn: Turn) -> None:
    """/trogiup: the commands of the member's role."""
    if turn.member is None:
        turn.say(turn.t("help.guest"))
        return
    turn.say(turn.t(f"help.{turn.member.role.value}"))


async def link(turn: Turn) -> None:
    """/lienket: a one-time code to use this account from another messenger."""
    issued = await invitations.issue(
        turn.services.store,
        turn.services.settings,
        role=turn.me.role,
        unit=turn.me.unit,
        uses=1,
        valid_for=LINK_CODE_VALID,
        now=turn.now,
        member_id=turn.me.id,
    )
    turn.say(turn.t("start.link_code", code=issued.code))


async def cancel(turn: Turn) -> None:
    """/huy: drop the draft in progress (a draft set aside is offered back)."""
    if turn.state == State.IDLE:
        turn.say(turn.t("cancel.nothing"))
        return
    if turn.state == State.URGENT_FOLLOWUP:
        turn.say(turn.t("cancel.followup_done", number=turn.data.get("report_id")))
    else:
        if turn.state == State.RESUME:
            turn.data.pop(STASH, None)  # the draft offered back is the one cancelled
        turn.say(turn.t("cancel.done"))
    turn.finish()


async def idle(turn: Turn) -> None:
    """Free text with nothing in progress: say what can be done."""
    if turn.member is None:
        raise NotRegistered()
    turn.say(turn.t(f"idle.{turn.member.role.value}"))


def resume_reply(services: Services, stash: dict[str, Any], key: str = "resume.offer") -> Reply:
    """ "Còn một báo cáo tuần 49 đang dở (Đất đai). [Tiếp tục] [Huỷ]" """
    texts = services.texts
    draft = stash.get("data", {})
    topics = [
        services.settings.topic(item["topic"]).short
        for item in draft.get("items", [])
        if item.get("topic")
    ]
    what = texts(f"resume.what.{State(stash['state']).flow}", week=draft.get("week_label", ""))
    if topics:
        what += f" ({', '.join(topics)})"
    buttons = (
        (
            Button(texts("buttons.continue"), RESUME, ("tiep tuc", "tiep", "lam tiep")),
            Button(texts("buttons.cancel"), DROP, ("huy", "bo")),
        ),
    )
    return Reply(texts(key, what=what), buttons)


def offer_resume(turn: Turn) -> None:
    turn.replies.append(resume_reply(turn.services, turn.data.get(STASH) or {}))
    turn.state = State.RESUME
