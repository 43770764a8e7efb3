"""The monthly giao ban: the agenda's buttons, the invitations, and /ketluan typed plainly."""

from __future__ import annotations

from bot.scheduler import JobRunner
from tests.harness import Harness
from tests.rhythm_helpers import keys, local, members, rows, text_to

AGENDA_DAY = local(2026, 11, 20, 8, 0)  # three working days before Wednesday 25/11


async def test_agenda_confirm_invitations_and_conclusions(harness: Harness) -> None:
    h = harness
    m = await members(h)
    runner = JobRunner(h.app.services)
    await runner.run("briefing_agenda", AGENDA_DAY)
    h.clock.set(local(2026, 11, 20, 9, 0))
    agenda = await text_to(h, "agenda:", m["lan"])
    assert "Giao ban tháng 11 với trưởng thôn — Xã Đồng Văn, dự kiến thứ Tư 25/11, 08:00" in agenda
    # the leader changes the time by typing, the village heads are invited
    assert "ngày giờ mới" in await h.say("lan", button="/giaoban doi 1")
    done = await h.say("lan", "25/11 14h")
    assert "Đã xác nhận giao ban thứ Tư 25/11, 14:00" in done and "3 người" in done
    invitations = await rows(h, "invite:1:")
    assert {r.member_id for r in invitations} == {m["an"].id, m["binh"].id, m["chi"].id}
    assert "Mời dự giao ban tháng 11 của Xã Đồng Văn: thứ Tư 25/11, 14:00" in str(
        invitations[0].payload["text"]
    )
    # confirming the same time again invites nobody twice
    await h.say("lan", button="/giaoban xacnhan 1")
    assert len(await rows(h, "invite:1:")) == 3
    # after the meeting: /ketluan, typed without diacritics
    h.clock.set(local(2026, 11, 25, 16, 0))
    assert "Kết luận giao ban tháng 11" in await h.say("lan", "/ketluan")
    assert "thôn nào" in await h.say("lan", "Sua duong vao thon, huy dong 20 ngay cong")
    assert "Hạn khi nào" in await h.say("lan", "lung cu")
    stored = await h.say("lan", "15/12")
    assert "KL1" in stored and "Thôn Lũng Cú, hạn 15/12" in stored and "1 người" in stored
    notice = await text_to(h, "conclusion:1:", m["an"])
    assert "Sua duong vao thon" in notice and "hạn 15/12" in notice
    assert "thôn nào" in await h.say("lan", "Tuyen truyen phong chong lua dao")
    assert "Hạn khi nào" in await h.say("lan", "ca xa")
    assert "KL2" in await h.say("lan", "khong co han")
    assert "Đã ghi 2 kết luận" in await h.say("lan", "xong")
    assert len(await keys(h, "conclusion:2:")) == 3
    assert "Đã đánh dấu xong kết luận KL2" in await h.say("lan", "/ketluan xong 2")
    # the open one comes back in December's agenda
    await runner.run("briefing_agenda", local(2026, 12, 22, 8, 0))
    december = (await rows(h, f"agenda:{m['lan'].id}:2026-12"))[0].payload["text"]
    assert "Kết luận kỳ trước chưa xong: KL1 Sua duong vao thon" in december
    assert "KL2" not in december
    # another commune's leader cannot confirm this meeting; reporters cannot use /ketluan
    assert "Không tìm thấy lịch giao ban" in await h.say("minh", "/giaoban xacnhan 1")
    assert "dành cho lãnh đạo" in await h.say("an", "/ketluan")
