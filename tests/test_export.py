from storage.records import Role
from tests.harness import Harness


async def test_flow(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    await harness.join("binh", Role.REPORTER, "721-02")
    for u, t in [("binh","/baocao"),("binh","1"),("an", "/khancap"), ("an", "Khoang 50 nguoi keo len UBND xa"), ("an", "khieu nai"), ("an", "Da co cong an xa den"), ("an", "/huy"), ("an", "/baocao")]:
        print(">>", t)
        print(await harness.say(u, t))
    reps = await harness.store.reports.in_scope("/")
    for r in reps:
        print(r)
