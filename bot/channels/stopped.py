"""The one way a messenger channel says it cannot go on."""

from __future__ import annotations


class ChannelStopped(Exception):
    """The channel cannot go on (a refused token, another poller); carries the exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
