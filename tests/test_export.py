from storage.records import Role
from tests.harness import Harness


async def test_flow(harness: Harness) -> None:
    await harness.join("an", Role.REPORTER, "721-01")
    for t in ["/baocao", "1", "/baocao", "2", "dat dai", "tiep", "Tranh chap dat giua 2 ho, khoang 30 nguoi", "2", "gui", "/khancap", "Khoang 50 nguoi keo len UBND xa", "khieu nai", "/huy"]:
        print(">>", t)
        print(await harness.say("an", t))
    reps = await harness.store.reports.in_scope("/")
    for r in reps:
        print(r)
