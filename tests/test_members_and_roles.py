"""Joining with a code, the lockout, linking a second messenger, and what each role may do."""

from datetime import timedelta

from handlers.invitations import ALPHABET, hash_code, issue
from storage.records import Role
from tests.harness import Harness


async def test_code_joins_once_and_is_case_and_dash_insensitive(chat: Harness) -> None:
    code = await chat.invite(Role.REPORTER, "721-01")
    spaced = f"{code[:4].lower()}-{code[4:].lower()}"
    text = await chat.say("an", f"/start {spaced}")
    assert "Đã đăng ký: báo cáo viên" in text and "Thôn Lũng Cú" in text
    assert "/baocao" in text  # the help of the role follows
    assert "không đúng" in await chat.say("binh", f"/start {code}")  # used up


async def test_code_typed_without_start(chat: Harness) -> None:
    code = await chat.invite(Role.LEADER, "721")
    assert "Đã đăng ký: lãnh đạo xã, Xã Đồng Văn" in await chat.say("lan", code)


async def test_expired_code_is_refused(chat: Harness) -> None:
    code = await chat.invite(Role.REPORTER, "721-01")
    chat.advance(days=8)
    assert "không đúng hoặc đã hết hạn" in await chat.say("an", f"/start {code}")


async def test_five_wrong_codes_lock_the_chat_for_an_hour(chat: Harness) -> None:
    good = await chat.invite(Role.REPORTER, "721-01")
    wrong = "".join(reversed(good)) if "".join(reversed(good)) != good else ALPHABET[:8]
    for left in (4, 3, 2, 1):
        assert f"còn {left} lần thử" in await chat.say("x", f"/start {wrong}")
    assert "quá nhiều lần" in await chat.say("x", f"/start {wrong}")
    # even the right code waits until the hour is over
    assert "quá nhiều lần" in await chat.say("x", f"/start {good}")
    chat.advance(minutes=61)
    assert "Đã đăng ký" in await chat.say("x", f"/start {good}")


async def test_a_member_links_a_second_messenger(harness: Harness) -> None:
    member = await harness.join("an", Role.REPORTER, "721-01")
    text = await harness.say("an", "/lienket")
    code = text.split(": ")[1].split()[0]
    other = Harness(harness.app, harness.clock, channel="zalo-test")
    assert "Đã đăng ký" in await other.say("an", f"/start {code}")
    linked = await harness.store.members.by_identity("zalo-test", "user-an")
    assert linked is not None and linked.id == member.id
    # alerts go to the messenger used last
    identity = await harness.store.members.latest_identity(member.id)
    assert identity is not None and identity.channel == "zalo-test"


async def test_people_who_are_not_members(chat: Harness) -> None:
    assert "chưa được đăng ký" in await chat.say("guest", "/baocao")
    assert "chưa được đăng ký" in await chat.say("guest", "xin chao")
    assert "/start MÃ" in await chat.say("guest", "/trogiup")


async def test_each_role_is_refused_what_is_not_theirs(chat: Harness) -> None:
    await chat.join("an", Role.REPORTER, "721-01")
    await chat.join("binh", Role.REPORTER, "721-02")
    await chat.join("lan", Role.LEADER, "721")
    await chat.join("tuan", Role.LEADER, "715")
    await chat.join("officer", Role.OFFICER, "08")
    assert "dành cho lãnh đạo xã" in await chat.say("an", "/tonghop")
    assert "dành cho lãnh đạo xã" in await chat.say("an", "/chuabaocao")
    assert "dành cho trưởng thôn" in await chat.say("lan", "/baocao")
    assert "dành cho trưởng thôn" in await chat.say("officer", "/khancap")
    await chat.say("an", "/baocao binh thuong")
    # a reporter sees only their own reports; a leader only the commune's
    assert "Không tìm thấy báo cáo #1" in await chat.say("binh", "/xem 1")
    assert "Không tìm thấy báo cáo #1" in await chat.say("tuan", "/xem 1")
    assert "Báo cáo #1" in await chat.say("lan", "/xem 1")
    assert "Báo cáo #1" in await chat.say("officer", "/xem 1")
    assert "Không tìm thấy báo cáo #99" in await chat.say("officer", "/xem 99")


async def test_reads_are_audited(chat: Harness) -> None:
    lan = await chat.join("lan", Role.LEADER, "721")
    await chat.say("lan", "/xem 5")
    await chat.say("lan", "/tonghop")
    await chat.say("lan", "/chuabaocao")
    entries = await chat.store.audit.entries("reports.read")
    assert [(m, d["query"]) for m, _, d in entries] == [
        (lan.id, "show.refused"),
        (lan.id, "summary"),
        (lan.id, "missing"),
    ]


async def test_invitation_hash_only(chat: Harness) -> None:
    unit = await chat.store.units.by_code("721-01")
    assert unit is not None
    issued = await issue(
        chat.store,
        chat.app.services.settings,
        role=Role.REPORTER,
        unit=unit,
        uses=2,
        valid_for=timedelta(days=1),
        now=chat.clock.now(),
    )
    stored = await chat.store.members.invitation(hash_code(issued.code))
    assert stored is not None and stored.uses_left == 2
    assert await chat.store.members.invitation(issued.code) is None
