"""Buttons as a numbered list, for channels that have no buttons (terminal, Zalo).

The numbers match what the engine accepts when a person types one: the buttons of a reply,
row by row, left to right.
"""

from __future__ import annotations

from handlers.messages import Reply
from handlers.texts import Texts


def numbered(reply: Reply, texts: Texts) -> str:
    buttons = reply.flat_buttons()
    # A button that runs a command (an alert's "Xem chi tiết") shows the command to type.
    choices = [b for b in buttons if not b.data.startswith("/")]
    lines = [reply.text]
    lines.extend(f"  {n}. {button.label}" for n, button in enumerate(choices, start=1))
    lines.extend(f"  • {b.label}: {b.data}" for b in buttons if b.data.startswith("/"))
    if choices:
        lines.append(texts("menu.hint"))
    return "\n".join(lines)
