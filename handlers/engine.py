"""The conversation engine: every incoming message goes through :meth:`Engine.handle`.

The message is stored in the inbox first, then handled under a per-chat lock (one chat's
messages in order), then the new state, the messages for other members and the inbox mark are
written. Any failure is logged with its traceback and the person is told their message is kept.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from handlers import mine, queries, registration, urgent, weekly
from handlers.errors import NotAllowed, NotRegistered, UserError
from handlers.hotspots import chat as hotspots
from handlers.locks import KeyedLocks
from handlers.matching import match_choice
from handlers.messages import Button, Content, IncomingMessage, Outgoing, Reply
from handlers.rhythm import briefing, conclusions, quick
from handlers.rhythm.quiet import hold_until
from handlers.services import Services
from handlers.states import State
from handlers.turn import CHOICES, STASH, Turn
from storage.records import Role
from storage.repositories.messages import ConversationChange, OutboxEntry

log = logging.getLogger(__name__)

INCOMING = "incoming"  # inbox payloads in the channel-neutral form
REPLY_PRIORITY = 0  # replies to the person chatting go before alerts and reminders

Step = Callable[[Turn], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    run: Step
    roles: frozenset[Role] | None = None  # None: any member; see PUBLIC for non-members
    flow: str | None = None  # the flow the command starts, if any
    denied: str = "errors.not_allowed"


REPORTERS = frozenset({Role.REPORTER})
READERS = frozenset({Role.LEADER, Role.OFFICER, Role.ADMIN})
LEADERS = frozenset({Role.LEADER})

COMMANDS: dict[str, Command] = {
    "start": Command(registration.start),
    "trogiup": Command(registration.help),
    "huy": Command(registration.cancel),
    "baocao": Command(weekly.begin, REPORTERS, flow="weekly", denied="errors.reporters_only"),
    "khancap": Command(urgent.begin, REPORTERS, flow="urgent", denied="errors.reporters_only"),
    "cuatoi": Command(mine.begin, REPORTERS, flow="mine", denied="errors.reporters_only"),
    "chuabaocao": Command(queries.missing, READERS, denied="errors.leaders_only"),
    "tonghop": Command(queries.summary, READERS, denied="errors.leaders_only"),
    "xem": Command(queries.show, None),
    "lienket": Command(registration.link, None),
    # hotspots and the handling of urgent reports (handlers/hotspots)
    "diemnong": Command(hotspots.command, READERS, denied="errors.leaders_only"),
    "xuly": Command(hotspots.case_command, READERS, denied="errors.leaders_only"),
    # the rhythm of the work: a reminder's one-tap quiet week, the giao ban, its conclusions
    "binhthuong": Command(
        quick.quiet_week, REPORTERS, flow="weekly", denied="errors.reporters_only"
    ),
    "giaoban": Command(briefing.command, LEADERS, flow="briefing", denied="errors.leaders_only"),
    "ketluan": Command(conclusions.begin, LEADERS, flow="conclude", denied="errors.leaders_only"),
}
PUBLIC = {"start", "trogiup", "huy"}

STEPS: dict[State, Step] = {
    **weekly.STEPS,
    **urgent.STEPS,
    **mine.STEPS,
    **conclusions.STEPS,
    State.BRIEFING_DATE: briefing.date_step,
    State.IDLE: quick.idle,  # a reporter answering a reminder by typing; else the help line
}
PROMPTS: dict[State, Step] = {**weekly.PROMPTS, **urgent.PROMPTS, **mine.PROMPTS}
PROMPTS.update(conclusions.PROMPTS)
PROMPTS[State.BRIEFING_DATE] = briefing.prompt_date
STEPS.update(hotspots.STEPS)
PROMPTS.update(hotspots.PROMPTS)

# Buttons that work whenever they are pressed (an alert's "Tiếp nhận", an old list's "Mở 2"),
# by the prefix of their data; the handler reads ``turn.choice``.
BUTTON_ROUTES: dict[str, Step] = {hotspots.PREFIX: hotspots.press}


async def resume(turn: Turn) -> None:
    """Take back the draft set aside, or drop it."""
    if turn.choice is None:
        turn.unclear()
        return
    stash = turn.data.pop(STASH, None) or {}
    if turn.choice.data == registration.DROP or not stash:
        turn.say(turn.t("cancel.done"))
        turn.finish()
        return
    turn.state = State(stash["state"])
    turn.data = dict(stash["data"])
    await PROMPTS[turn.state](turn)


STEPS[State.RESUME] = resume

# States whose draft is worth keeping aside when another flow starts.
KEEP_ON_INTERRUPT = {s for s in State if s.flow == "weekly"} | {
    State.URGENT_TEXT,
    State.URGENT_TOPIC,
}


class Engine:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._locks = KeyedLocks()
        # Called whenever messages were put in the outbox (wakes the sender).
        self.on_outbox: Callable[[], None] | None = None
        # the messengers running now (None: any); alerts go to an identity on one of them
        self.active_channels: set[str] | None = None

    async def receive(
        self, channel: str, platform_id: str, chat_id: str, payload: dict[str, Any]
    ) -> int | None:
        """Store an incoming message before anything else; None if it was stored before."""
        inbox_id = await self.services.store.messages.receive(
            channel, platform_id, chat_id, payload, self.services.clock.now()
        )
        if inbox_id is None:
            log.info("dropping duplicate message %s/%s", channel, platform_id)
        return inbox_id

    async def receive_many(
        self, channel: str, items: list[tuple[str, str, dict[str, Any]]]
    ) -> list[int | None]:
        """Store a batch of incoming messages (platform id, chat id, payload) at once."""
        ids = await self.services.store.messages.receive_many(
            channel, items, self.services.clock.now()
        )
        for (platform_id, _, _), inbox_id in zip(items, ids, strict=True):
            if inbox_id is None:
                log.info("dropping duplicate message %s/%s", channel, platform_id)
        return ids

    async def handle(self, msg: IncomingMessage, *, via_outbox: bool = False) -> list[Reply]:
        """Store, handle and answer one message; a message seen before gets no answer."""
        inbox_id = await self.receive(
            msg.channel, msg.message_id, msg.chat_id, {INCOMING: msg.to_payload()}
        )
        if inbox_id is None:
            return []
        return await self.process(inbox_id, msg, via_outbox=via_outbox)

    async def replay_unprocessed(
        self, channel: str | None = None
    ) -> list[tuple[IncomingMessage, list[Reply]]]:
        """Handle messages stored in the channel-neutral form but never finished, oldest first.

        Channels that store their platform's raw updates replay those themselves.
        """
        done = []
        for inbox_id, payload in await self.services.store.messages.unprocessed(channel):
            if INCOMING not in payload:
                continue
            msg = IncomingMessage.from_payload(payload[INCOMING])
            log.info("replaying stored message %s/%s", msg.channel, msg.message_id)
            done.append((msg, await self.process(inbox_id, msg)))
        return done

    async def process(
        self,
        inbox_id: int,
        msg: IncomingMessage,
        *,
        via_outbox: bool = False,
        reply_extra: dict[str, Any] | None = None,
    ) -> list[Reply]:
        """Handle a stored message under its chat's lock.

        With ``via_outbox`` the replies are written to the outbox (``reply:<inbox id>:<n>``) in
        the same transaction as the new state; ``reply_extra`` is added to their payloads.
        """
        async with self._locks.hold((msg.channel, msg.chat_id)):
            return await self._process_guarded(inbox_id, msg, via_outbox, reply_extra or {})

    async def _process_guarded(
        self, inbox_id: int, msg: IncomingMessage, via_outbox: bool, extra: dict[str, Any]
    ) -> list[Reply]:
        """The error boundary: log with the traceback, tell the person, keep the message."""
        try:
            return await self._process_locked(inbox_id, msg, via_outbox, extra)
        except Exception as exc:
            log.exception(
                "failed to handle message %s/%s (inbox %d)", msg.channel, msg.message_id, inbox_id
            )
            return await self.fail(inbox_id, msg.channel, msg.chat_id, exc, via_outbox=via_outbox)

    async def fail(
        self, inbox_id: int, channel: str, chat_id: str, exc: BaseException, *, via_outbox: bool
    ) -> list[Reply]:
        """A message could not be handled: keep it with the error, tell the person so."""
        store = self.services.store
        now = self.services.clock.now()
        reply = Reply(self.services.texts("errors.internal"))
        if via_outbox:
            entry = OutboxEntry(
                f"reply:{inbox_id}:error",
                channel,
                chat_id,
                None,
                reply.to_payload(),
                REPLY_PRIORITY,
            )
            await store.messages.enqueue([entry], now)
            self._notify()
        await store.messages.done(inbox_id, now, error=repr(exc))
        return [reply]

    async def _process_locked(
        self, inbox_id: int, msg: IncomingMessage, via_outbox: bool, extra: dict[str, Any]
    ) -> list[Reply]:
        store = self.services.store
        now = self.services.clock.now()
        member = await store.members.identify(msg.channel, msg.user_id, msg.chat_id, now)
        saved = await store.conversations.get(msg.channel, msg.chat_id)
        state = State(saved.state) if saved else State.IDLE
        data: dict[str, Any] = copy.deepcopy(saved.data) if saved else {}
        turn = Turn(self.services, msg, member, now, state, data)
        try:
            await self._route(turn)
        except UserError as err:
            log.info(
                "refused %s from %s/%s: %s", msg.text[:40], msg.channel, msg.user_id, err.text_key
            )
            turn.say(self.services.texts(err.text_key, **err.values))
        self._after(turn, state)
        change: ConversationChange | None = None
        if turn.state == State.IDLE and not turn.data:
            if saved is not None:
                change = ConversationChange(msg.channel, msg.chat_id, None, {})
        elif saved is None or turn.state != state or turn.data != saved.data:
            change = ConversationChange(msg.channel, msg.chat_id, turn.state.value, turn.data)
        entries = await self._entries(turn.outgoing)
        if via_outbox:
            member_id = turn.member.id if turn.member else None
            entries.extend(
                self._reply_entry(inbox_id, str(n), msg, member_id, reply, extra)
                for n, reply in enumerate(turn.replies)
            )
        await store.messages.finish_turn(inbox_id, change, entries, now)
        if entries:
            self._notify()
        return turn.replies

    @staticmethod
    def _reply_entry(
        inbox_id: int,
        n: str,
        msg: IncomingMessage,
        member_id: int | None,
        reply: Reply,
        extra: dict[str, Any],
    ) -> OutboxEntry:
        return OutboxEntry(
            f"reply:{inbox_id}:{n}",
            msg.channel,
            msg.chat_id,
            member_id,
            {**reply.to_payload(), **extra},
            REPLY_PRIORITY,
        )

    def _notify(self) -> None:
        if self.on_outbox is not None:
            self.on_outbox()

    async def deliver(self, outgoing: list[Outgoing]) -> None:
        """Put messages for other members into the outbox, to the chat they used last."""
        entries = await self._entries(outgoing)
        if entries:
            await self.services.store.messages.enqueue(entries, self.services.clock.now())
            self._notify()

    async def _entries(self, outgoing: list[Outgoing]) -> list[OutboxEntry]:
        addressed = [o.member_id for o in outgoing if o.channel is None or o.chat_id is None]
        prefer = self.services.settings.alert_channel
        identities = await self.services.store.members.latest_identities(
            addressed, self.active_channels, None if prefer == "last_used" else prefer
        )
        entries = []
        for out in outgoing:
            if out.channel is not None and out.chat_id is not None:
                channel, chat_id = out.channel, out.chat_id
            else:
                identity = identities.get(out.member_id)
                if identity is None:
                    log.warning(
                        "member %d has no chat to write to; %s not sent",
                        out.member_id,
                        out.idem_key,
                    )
                    continue
                channel, chat_id = identity.channel, identity.chat_id
            entries.append(
                OutboxEntry(
                    out.idem_key,
                    channel,
                    chat_id,
                    out.member_id,
                    out.reply.to_payload(),
                    out.priority,
                    # quiet hours hold what can wait; urgent alerts never wait
                    hold_until(self.services.settings, self.services.clock.now(), out.priority),
                )
            )
        return entries

    async def _route(self, turn: Turn) -> None:
        msg = turn.msg
        if msg.is_group:
            turn.say(turn.t("errors.group"))
            return
        if msg.content in (Content.STICKER, Content.UNSUPPORTED):
            # what the bot can read differs by messenger (Zalo sends no voice, no location)
            own = f"errors.unreadable_{msg.channel}"
            turn.say(turn.t(own if own in self.services.texts.keys() else "errors.unreadable"))
            return
        if msg.content == Content.TOO_LARGE and not msg.text.strip():
            turn.say(turn.t("errors.file_too_big"))
            return
        text = msg.text.strip()
        limit = self.services.settings.max_text_chars
        if len(text) > limit:
            log.info("cut a %d-character message from %s/%s", len(text), msg.channel, msg.user_id)
            text = text[:limit]
            turn.say(turn.t("errors.too_long", limit=f"{limit:,}".replace(",", ".")))
        turn.text = text
        if msg.button is not None:
            route = next((s for p, s in BUTTON_ROUTES.items() if msg.button.startswith(p)), None)
            if msg.button.startswith("/"):
                turn.text = text = msg.button
            elif route is not None:
                if turn.member is None:
                    raise NotRegistered()
                turn.choice = Button(msg.button, msg.button)
                if turn.state in KEEP_ON_INTERRUPT:
                    self._set_aside(turn)
                await route(turn)
                return
            else:
                turn.choice = next((b for b in turn.pending() if b.data == msg.button), None)
                if turn.choice is None:
                    turn.say(turn.t("errors.stale_button"))
                    await self.reprompt(turn)
                    return
        if text.startswith("/"):
            await self._command(turn, text)
            return
        if turn.member is None:
            if registration.looks_like_code(text):
                turn.text = text
                await registration.redeem(turn, text)
            else:
                raise NotRegistered()
            return
        if turn.choice is None and text:
            turn.choice = match_choice(text, turn.pending())
        if not text and not msg.attachments and turn.choice is None:
            turn.say(turn.t("errors.empty"))
            await self.reprompt(turn, hint_only=True)
            return
        step = STEPS.get(turn.state)
        if step is None:
            await registration.idle(turn)
            return
        await step(turn)

    async def _command(self, turn: Turn, text: str) -> None:
        head, _, args = text[1:].partition(" ")
        name = head.split("@")[0].lower()
        command = COMMANDS.get(name)
        if command is None:
            turn.say(turn.t("errors.unknown_command"))
            return
        if turn.member is None and name not in PUBLIC:
            raise NotRegistered()
        if command.roles is not None and turn.me.role not in command.roles:
            raise NotAllowed(command.denied)
        turn.text = args.strip()
        if command.flow is not None and turn.state != State.IDLE:
            if turn.state.flow == command.flow and turn.state in PROMPTS:
                turn.say(turn.t("resume.same_flow"))
                await self.reprompt(turn)
                return
            self._set_aside(turn)
        await command.run(turn)

    def _set_aside(self, turn: Turn) -> None:
        """Keep an unfinished draft aside while another flow runs; offer it back after."""
        if turn.state in KEEP_ON_INTERRUPT:
            draft = {k: v for k, v in turn.data.items() if k not in (CHOICES, STASH)}
            turn.data = {STASH: {"state": turn.state.value, "data": draft}}
        else:
            turn.data = {STASH: turn.data[STASH]} if STASH in turn.data else {}
        turn.state = State.IDLE

    async def reprompt(self, turn: Turn, hint_only: bool = False) -> None:
        prompt = PROMPTS.get(turn.state)
        if prompt is None:
            await registration.idle(turn)
        elif hint_only:
            turn.unclear()
        else:
            await prompt(turn)

    def _after(self, turn: Turn, before: State) -> None:
        """Offer a draft set aside once a flow ends; remember the buttons just shown."""
        if before != State.IDLE and turn.state == State.IDLE and STASH in turn.data:
            registration.offer_resume(turn)
        # Command buttons ("/xem 12") work anywhere; choices are what a typed number means.
        menus = [[b for b in r.flat_buttons() if not b.data.startswith("/")] for r in turn.replies]
        menus = [m for m in menus if m]
        if menus:
            turn.data[CHOICES] = [[b.label, b.data, list(b.aliases)] for b in menus[-1]]
        elif turn.state != before:
            turn.data.pop(CHOICES, None)
