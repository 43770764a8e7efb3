"""Putting a job's messages in the outbox: to the chat each member used last, once per key.

Members who left or whom no chat reaches any more are skipped and counted, not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from handlers.messages import Reply
from handlers.rhythm.quiet import hold_until
from handlers.services import Services
from storage.repositories.messages import OutboxEntry
from storage.repositories.rhythm import Recipient

log = logging.getLogger(__name__)

BULK_PRIORITY = 20  # reminders, digests, agendas: after replies, alerts and notices


@dataclass
class Batch:
    """Messages a job wants to send; :func:`flush` enqueues them."""

    entries: list[OutboxEntry] = field(default_factory=list)
    skipped: int = 0  # left, or unreachable

    def add(self, services: Services, recipient: Recipient, key: str, reply: Reply) -> bool:
        """Queue one message; False (and counted) when the member cannot get it."""
        identity = recipient.identity
        if not recipient.member.active or identity is None:
            self.skip(recipient, key)
            return False
        now = services.clock.now()
        self.entries.append(
            OutboxEntry(
                key,
                identity.channel,
                identity.chat_id,
                recipient.member.id,
                reply.to_payload(),
                BULK_PRIORITY,
                hold_until(services.settings, now, BULK_PRIORITY),
            )
        )
        return True

    def skip(self, recipient: Recipient, what: str) -> None:
        """Count a member who left or whom no chat reaches (logged, not retried)."""
        self.skipped += 1
        log.info(
            "member %d (%s) left or cannot be reached: %s not sent",
            recipient.member.id,
            recipient.member.display_name,
            what,
        )


async def flush(services: Services, batch: Batch) -> int:
    """Enqueue the batch; returns how many were new (a key seen before is not sent again)."""
    added = await services.store.messages.enqueue(batch.entries, services.clock.now())
    batch.entries = []
    return added
