"""One turn of a conversation: the message in, the state and draft, the replies out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.errors import NotRegistered
from handlers.messages import Button, IncomingMessage, Outgoing, Reply
from handlers.services import Services
from handlers.states import State
from storage.records import Member

CHOICES = "_choices"
STASH = "_stash"


@dataclass
class Turn:
    """Everything a step reads and writes. Steps change ``state`` and ``data`` and add replies."""

    services: Services
    msg: IncomingMessage
    member: Member | None
    now: datetime
    state: State
    data: dict[str, Any]
    text: str = ""
    choice: Button | None = None
    replies: list[Reply] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)

    def t(self, key: str, **values: Any) -> str:
        return self.services.texts(key, **values)

    def say(
        self,
        text: str,
        buttons: list[list[Button]] | None = None,
        *,
        edit: bool = False,
    ) -> None:
        self.replies.append(Reply(text, tuple(tuple(row) for row in (buttons or [])), edit=edit))

    @property
    def me(self) -> Member:
        if self.member is None:
            raise NotRegistered()
        return self.member

    def pending(self) -> list[Button]:
        """The buttons of the last question: what a typed number or label refers to."""
        return [
            Button(label, data, tuple(aliases))
            for label, data, aliases in self.data.get(CHOICES, [])
        ]

    def go(self, state: State, **data: Any) -> None:
        """Move to ``state``; ``data`` updates the draft."""
        self.state = state
        self.data.update(data)

    def finish(self) -> None:
        """End the flow: back to idle, with the stashed flow (if any) kept aside."""
        stash = self.data.get(STASH)
        self.state = State.IDLE
        self.data = {STASH: stash} if stash else {}

    def unclear(self) -> None:
        """Say what the bot is waiting for; the question and its buttons still stand."""
        self.say(self.t("errors.unclear", waiting=self.t(f"waiting.{self.state.value}")))
