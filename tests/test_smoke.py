from storage.records import Role
from tests.harness import Harness


async def test_quiet_week(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    text = await harness.say("an", "/baocao")
    print(text)
    text = await harness.say("an", "1")
    print(text)
    assert "bình thường" in text
