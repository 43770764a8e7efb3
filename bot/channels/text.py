"""Long texts cut for platforms with a length limit, at paragraph boundaries where possible."""

from __future__ import annotations

SEPARATORS = ("\n\n", "\n", " ")


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters: whole paragraphs, else lines, else words."""
    if len(text) <= limit:
        return [text]
    for separator in SEPARATORS:
        if separator in text:
            return _pack(text.split(separator), separator, limit)
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _pack(chunks: list[str], separator: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for chunk in chunks:
        for part in split_text(chunk, limit):
            candidate = f"{current}{separator}{part}" if current else part
            if len(candidate) <= limit:
                current = candidate
            else:
                if current:
                    pieces.append(current)
                current = part
    if current:
        pieces.append(current)
    return pieces
