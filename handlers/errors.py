"""Expected problems: each carries the key of the Vietnamese text the person gets."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Something the person can fix or must be told; never a bug."""

    def __init__(self, text_key: str, **values: Any) -> None:
        super().__init__(text_key)
        self.text_key = text_key
        self.values = values


class NotRegistered(UserError):
    def __init__(self) -> None:
        super().__init__("errors.not_registered")


class NotAllowed(UserError):
    """The member's role or scope does not allow this."""
