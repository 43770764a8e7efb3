"""Accent-insensitive matching of what people type: choices, numbers of people, codes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from handlers.messages import Button

_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics and punctuation: "Đất đai!" -> "dat dai"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return _NON_WORD.sub(" ", stripped).strip()


def match_choice(text: str, buttons: Sequence[Button]) -> Button | None:
    """The one button that ``text`` names: by its number, its label, an alias or a prefix."""
    typed = fold(text)
    if not typed:
        return None
    if typed.isdigit():
        index = int(typed) - 1
        return buttons[index] if 0 <= index < len(buttons) else None
    exact = [b for b in buttons if typed in _names(b)]
    if len(exact) == 1:
        return exact[0]
    prefixed = [b for b in buttons if any(n.startswith(typed) for n in _names(b))]
    if len(prefixed) == 1:
        return prefixed[0]
    return None


def match_many(text: str, buttons: Sequence[Button]) -> list[Button] | None:
    """Several choices in one message ("1 3", "dat dai, an ninh"); None if any part is unclear."""
    parts = [p for p in re.split(r"[,;\n+]+|\s+(?:va|và)\s+", text) if fold(p)]
    if len(parts) == 1 and len(fold(text).split()) > 1 and fold(text).replace(" ", "").isdigit():
        parts = fold(text).split()
    if len(parts) < 2:
        single = match_choice(text, buttons)
        return None if single is None else [single]
    chosen: list[Button] = []
    for part in parts:
        button = match_choice(part, buttons)
        if button is None:
            # a label with a comma in it ("An ninh, trật tự") typed whole
            single = match_choice(text, buttons)
            return None if single is None else [single]
        if button not in chosen:
            chosen.append(button)
    return chosen


def _names(button: Button) -> list[str]:
    """The label, its comma-separated parts ("thien tai" of "Môi trường, thiên tai"), aliases."""
    label = fold(button.label)
    parts = [fold(p) for p in button.label.split(",")] if "," in button.label else []
    names = [label, *parts, *(fold(a) for a in button.aliases)]
    return [n for n in names if n]


_PEOPLE = re.compile(r"(\d+)\s*(?:nguoi|cong dan|thanh nien|hoc sinh|phu nu|nguoi dan)\b")


def people_in(text: str) -> int | None:
    """The number of people a description mentions ("khoảng 30 người" -> 30), if any."""
    folded = fold(re.sub(r"(?<=\d)[.,](?=\d{3}\b)", "", text))
    counts = [int(n) for n in _PEOPLE.findall(folded)]
    return max(counts) if counts else None


def parse_count(text: str) -> int | None:
    """A typed number of people: "30", "khoang 30", "30 nguoi"."""
    folded = fold(text.replace(".", ""))
    numbers = re.findall(r"\d+", folded)
    if len(numbers) != 1:
        return None
    return int(numbers[0])
