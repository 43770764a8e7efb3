"""Sliding-window rate limits for one platform: all chats, one private chat, one group."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.outbox import Limits

IN_FLIGHT_WAIT = 0.01  # a window full of sends still in flight: look again soon


class RateLimiter:
    """Sliding windows: all chats per second, a private chat per second, a group per minute.

    The platform counts a message when it arrives, somewhere between the moment we start the
    request and the moment its answer comes back. So a send holds its place in the windows from
    its start, and is dated by its answer: the next send of a full window starts a window after
    that answer, and can never arrive too early, whatever the delays on the way.
    """

    def __init__(self, limits: Limits, now: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._now = now
        self._done: deque[float] = deque()  # answer times of recent sends, all chats
        self._busy = 0  # sends in flight, all chats
        self._chat_done: dict[str, deque[float]] = {}
        self._chat_busy: dict[str, int] = {}

    def _window(self, is_group: bool) -> tuple[float, int]:
        if is_group:
            return 60.0 + self._limits.margin, max(1, int(self._limits.group_per_minute))
        return 1.0 + self._limits.margin, max(1, int(self._limits.chat_per_second))

    @staticmethod
    def _full_for(done: deque[float], busy: int, limit: int, window: float, now: float) -> float:
        while done and done[0] <= now - window:
            done.popleft()
        if busy + len(done) < limit:
            return 0.0
        # full: free when the oldest answer leaves the window (or, all in flight, on an answer)
        return done[0] + window - now if done else IN_FLIGHT_WAIT

    def wait(self, chat_id: str, is_group: bool) -> tuple[float, bool]:
        """Seconds until a send to ``chat_id`` may start, and whether the global limit is why."""
        now = self._now()
        global_wait = self._full_for(
            self._done, self._busy, int(self._limits.per_second), 1.0 + self._limits.margin, now
        )
        chat_window, chat_limit = self._window(is_group)
        chat_done = self._chat_done.get(chat_id)
        chat_wait = 0.0
        if chat_done is not None or self._chat_busy.get(chat_id):
            chat_wait = self._full_for(
                chat_done if chat_done is not None else deque(),
                self._chat_busy.get(chat_id, 0),
                chat_limit,
                chat_window,
                now,
            )
        return max(global_wait, chat_wait), global_wait >= chat_wait and global_wait > 0

    def start(self, chat_id: str) -> Slot:
        """Take a place in the windows for one send; :meth:`Slot.finish` when it is answered."""
        self._busy += 1
        self._chat_busy[chat_id] = self._chat_busy.get(chat_id, 0) + 1
        return Slot(self, chat_id)

    def record(self, chat_id: str) -> None:
        """A send started and answered now."""
        self.start(chat_id).finish()

    def _finish(self, chat_id: str) -> None:
        now = self._now()
        self._busy -= 1
        self._done.append(now)
        busy = self._chat_busy.get(chat_id, 1) - 1
        if busy:
            self._chat_busy[chat_id] = busy
        else:
            self._chat_busy.pop(chat_id, None)
        self._chat_done.setdefault(chat_id, deque()).append(now)
        if len(self._chat_done) > 10_000:  # forget chats idle for over a minute
            stale = [c for c, d in self._chat_done.items() if not d or d[-1] < now - 61]
            for chat in stale:
                del self._chat_done[chat]


class Slot:
    """One send's place in the rate windows; finishing twice is harmless."""

    def __init__(self, limiter: RateLimiter, chat_id: str) -> None:
        self._limiter = limiter
        self._chat_id = chat_id
        self._open = True

    def finish(self) -> None:
        if self._open:
            self._open = False
            self._limiter._finish(self._chat_id)
