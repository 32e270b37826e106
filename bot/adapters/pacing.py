"""Pacing posts to a platform's documented limits, so it never has to answer 429.

``Window(limit, period)`` lets at most ``limit`` requests start in any ``period`` seconds for
each key (a channel, or ``""`` for the whole bot); ``acquire`` waits (without blocking other
keys) until the request may go. The publishers pace themselves with it: Discord 50 requests
a second for the bot and 5 messages in 5 seconds per channel; Slack about one message a
second per channel (DESIGN.md section 6). The clock and sleep are injectable for tests.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["Window"]


class Window:
    """A sliding window of at most ``limit`` starts per ``period`` seconds, per key."""

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a window needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._starts: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"Window({self.limit} per {self.period:g} s)"

    async def acquire(self, key: str = "") -> float:
        """Wait until one more request may start for ``key``; return the seconds waited."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        waited = 0.0
        async with lock:  # one waiter per key at a time keeps the order of arrival
            starts = self._starts.setdefault(key, deque())
            while True:
                now = self._clock()
                while starts and starts[0] <= now - self.period:
                    starts.popleft()
                if len(starts) < self.limit:
                    starts.append(now)
                    return waited
                wait = starts[0] + self.period - now
                waited += wait
                await self._sleep(wait)
