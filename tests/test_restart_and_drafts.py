"""A restart resumes a half-filled report; stored but unhandled messages are replayed;
a draft left for a day is kept and its owner reminded once."""

from bot.app import opened
from bot.config import Config
from handlers.clock import FixedClock
from handlers.drafts import remind_stale_drafts
from handlers.engine import INCOMING
from handlers.messages import IncomingMessage
from storage.records import Role
from tests.harness import START, Harness, seed_units


async def test_restart_in_the_middle_of_a_report(config: Config) -> None:
    clock = FixedClock(START)
    async with opened(config, clock) as app:
        await seed_units(app)
        first = Harness(app, clock)
        await first.join("an", Role.REPORTER, "721-01")
        for line in ["/baocao", "2", "dat dai", "tiep"]:
            await first.say("an", line)
    async with opened(config, clock) as app:  # a new process on the same database
        second = Harness(app, clock, first_id=100)  # platform ids keep growing
        text = await second.say("an", "Tranh chap dat, 4 nguoi")
        assert text == "Mức độ?"
        await second.say("an", "2")
        assert "Đã ghi nhận báo cáo #1" in await second.say("an", "gui")


async def test_a_message_delivered_twice_is_handled_once(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    await harness.say("an", "/baocao")
    first = await harness.send("an", "binh thuong", message_id="dup-1")
    again = await harness.send("an", "binh thuong", message_id="dup-1")
    assert "(#1)" in first[0].text and again == []


async def test_stored_but_unhandled_messages_are_replayed_at_start(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    await harness.say("an", "/baocao")
    # the process died after storing this message and before handling it
    msg = IncomingMessage(
        channel=harness.channel,
        chat_id="chat-an",
        user_id="user-an",
        display_name="An",
        message_id="crash-1",
        sent_at=harness.clock.now(),
        text="binh thuong",
    )
    await harness.app.engine.receive(
        msg.channel, msg.message_id, msg.chat_id, {INCOMING: msg.to_payload()}
    )
    replayed = await harness.app.engine.replay_unprocessed()
    assert len(replayed) == 1 and "(#1)" in replayed[0][1][0].text
    assert await harness.app.engine.replay_unprocessed() == []


async def test_a_forgotten_draft_is_kept_and_reminded_once(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    for line in ["/baocao", "2", "dat dai", "tiep"]:
        await harness.say("an", line)
    harness.advance(hours=23)
    assert await remind_stale_drafts(harness.app.services) == []
    harness.advance(hours=2)
    reminders = await remind_stale_drafts(harness.app.services)
    assert len(reminders) == 1
    assert reminders[0].reply.text == (
        "Còn một báo cáo tuần 48 (23/11–29/11) (Đất đai) đang dở. "
        "Bấm Tiếp tục để làm tiếp, hoặc Huỷ."
    )
    await harness.app.engine.deliver(reminders)
    assert len(await harness.outbox()) == 1
    harness.advance(hours=30)
    assert await remind_stale_drafts(harness.app.services) == []  # once only
    assert "Đất đai: xin mô tả" in await harness.say("an", "1")  # "Tiếp tục"
    await harness.say("an", "Tranh chap dat, 4 nguoi")
    await harness.say("an", "1")
    assert "#1" in await harness.say("an", "gui")
