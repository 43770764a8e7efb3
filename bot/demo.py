"""The demo a fresh clone starts with: one real commune, three sample villages, two members.

Created only in an empty database, so that `sitrep run` with no token at all lets a person try
the bot at once. Everything it creates says "demo".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vietnam_provinces import Province, Ward

from handlers.invitations import hash_code, issue
from handlers.matching import fold
from handlers.settings import DomainSettings
from handlers.units import province_name
from storage.records import Member, Role
from storage.repositories.units import NewUnit
from storage.store import Store

# Xã Đồng Văn, Tuyên Quang (formerly Hà Giang), as in the sample conversations.
DEMO_PROVINCE = 8
DEMO_COMMUNE = 721
DEMO_VILLAGES = ("Thôn Lũng Cú", "Thôn Sà Phìn", "Thôn Phố Cáo")
CHANNEL = "console"
USERS = {
    Role.REPORTER: ("console-reporter", "Trưởng thôn (demo)"),
    Role.LEADER: ("console-leader", "Lãnh đạo xã (demo)"),
}


@dataclass(frozen=True)
class Demo:
    commune: str
    villages: tuple[str, ...]


async def is_empty(store: Store) -> bool:
    return await store.units.count() == 0 and await store.members.count() == 0


async def create_demo(store: Store, settings: DomainSettings, now: datetime) -> Demo:
    """Load the demo commune from the official list, add sample villages and members."""
    province = Province.from_code(DEMO_PROVINCE)  # type: ignore[arg-type]
    commune = Ward.from_code(DEMO_COMMUNE)  # type: ignore[arg-type]
    levels = settings.levels.keys
    province_code, commune_code = f"{int(province.code):02d}", f"{int(commune.code):05d}"
    province_label = province_name(province)
    village_level = settings.levels.below(settings.levels.leader) or levels[-1]
    units = [
        NewUnit(province_code, province_label, levels[0], None, fold(province_label)),
        NewUnit(
            commune_code, commune.name, settings.levels.leader, province_code, fold(commune.name)
        ),
    ]
    villages = []
    for n, name in enumerate(DEMO_VILLAGES, start=1):
        label = f"{name} (demo)"
        code = f"{commune_code}-DEMO{n}"
        villages.append(label)
        units.append(NewUnit(code, label, village_level, commune_code, fold(label)))
    await store.units.upsert_many(units)
    first_village = await store.units.by_code(f"{commune_code}-DEMO1")
    commune_unit = await store.units.by_code(commune_code)
    assert first_village is not None and commune_unit is not None
    for role, unit in ((Role.REPORTER, first_village), (Role.LEADER, commune_unit)):
        user_id, name = USERS[role]
        issued = await issue(
            store, settings, role=role, unit=unit, uses=1, valid_for=timedelta(minutes=5), now=now
        )
        await store.members.redeem(hash_code(issued.code), CHANNEL, user_id, user_id, name, now)
    return Demo(commune.name, tuple(villages))


async def demo_member(store: Store, role: Role) -> Member | None:
    user_id, _ = USERS[role]
    return await store.members.by_identity(CHANNEL, user_id)
