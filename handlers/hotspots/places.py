"""What /diemnong is asked about: a unit typed any way, a period, a topic."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from handlers.matching import fold
from handlers.services import Services
from storage.records import Member, Role, Unit

PERIODS = {"tuan": 7, "thang": 30, "quy": 90}
DEFAULT_DAYS = 30
CHART_WORDS = ("bieu do", "bieudo", "anh")
# Words people put before a unit's name, or leave out: "xã Đồng Văn" and "Đồng Văn" are one.
PREFIXES = (
    "thanh pho ",
    "dac khu ",
    "thi tran ",
    "to dan pho ",
    "xa ",
    "phuong ",
    "thon ",
    "ban ",
    "tinh ",
    "tp ",
    "to ",
)
SUGGESTIONS = 5


@dataclass(frozen=True)
class Query:
    place: str  # what was typed for the unit ("" for the member's own)
    days: int
    topic: str | None
    chart: bool = False


def bare(name: str) -> str:
    folded = fold(name)
    for prefix in PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix) :]
    return folded


def parse(services: Services, text: str) -> Query:
    """ "dong van thang dat dai" -> place "dong van", 30 days, topic dat_dai."""
    folded = fold(text)
    chart = False
    for word in CHART_WORDS:
        if folded.endswith(word) or f" {word} " in f" {folded} ":
            chart = True
            folded = f" {folded} ".replace(f" {word} ", " ").strip()
    words = folded.split()
    days = DEFAULT_DAYS
    for index, word in enumerate(words):
        if word in PERIODS:
            days = PERIODS[word]
            del words[index]
            break
    topic = None
    rest = " ".join(words)
    names: list[tuple[str, str]] = []
    for t in services.settings.topics:
        for name in {fold(t.short), fold(t.name), t.code.replace("_", " ")}:
            if name:
                names.append((name, t.code))
    for name, code in sorted(names, key=lambda nc: -len(nc[0])):
        if rest == name or rest.endswith(f" {name}"):
            topic = code
            rest = rest[: -len(name)].strip()
            break
    return Query(rest, days, topic, chart)


@dataclass(frozen=True)
class Found:
    unit: Unit | None
    choices: list[Unit]  # when the name is unknown or several units share it


async def find_unit(services: Services, member: Member, typed: str) -> Found:
    """The unit within the member's scope that ``typed`` names (a code or a name)."""
    store = services.store
    if member.role == Role.ADMIN:
        units = await store.units.all()
    else:
        units = await store.units.subtree(member.unit)
    raw = typed.strip()
    for unit in units:
        if unit.code.lower() == raw.lower():
            return Found(unit, [])
    wanted = bare(raw)
    same = [u for u in units if bare(u.name) == wanted or fold(u.name) == fold(raw)]
    if len(same) == 1:
        return Found(same[0], [])
    if same:
        return Found(None, same[:SUGGESTIONS])
    containing = [u for u in units if wanted and wanted in bare(u.name)]
    by_name = {bare(u.name): u for u in units}
    close = difflib.get_close_matches(wanted, list(by_name), n=SUGGESTIONS, cutoff=0.5)
    choices: list[Unit] = []
    for unit in [*containing, *(by_name[n] for n in close)]:
        if unit not in choices:
            choices.append(unit)
    return Found(None, choices[:SUGGESTIONS])
