"""Notices about delivery: a member the bot can no longer reach is reported to their leaders."""

from __future__ import annotations

from handlers.messages import Outgoing, Reply
from handlers.services import Services
from storage.records import Member, Role

NOTICE_PRIORITY = 8


async def unreachable_notices(
    services: Services, members: list[Member], channel: str
) -> list[Outgoing]:
    """Tell the leaders (and officers) above each member that messages no longer reach them."""
    texts = services.texts
    day = services.clock.now().astimezone(services.settings.timezone).date().isoformat()
    notices: list[Outgoing] = []
    for member in members:
        above = await services.store.members.covering(member.unit.path, {Role.LEADER})
        if not above:
            above = await services.store.members.covering(member.unit.path, {Role.OFFICER})
        text = texts(
            "notices.unreachable",
            name=member.display_name,
            unit=member.unit.name,
            channel=texts(f"channels.{channel}"),
        )
        notices.extend(
            Outgoing(
                idem_key=f"unreachable:{member.id}:{channel}:{day}:{leader.id}",
                member_id=leader.id,
                reply=Reply(text),
                priority=NOTICE_PRIORITY,
            )
            for leader in above
            if leader.id != member.id
        )
    return notices
