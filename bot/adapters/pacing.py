"""Pacing posts to a platform's documented limits, so it never has to answer 429.

``Window(limit, period)`` lets at most ``limit`` requests through in any ``period`` seconds
for each key (a channel, or ``""`` for the whole bot). ``async with window.slot(key):`` waits
(without blocking other keys) until the request may go, and counts it from the moment its
answer came back, not from when it left: the platform saw it somewhere in between, so the next
one, sent a whole period after that answer, reaches the platform a whole period after it
whatever the network's delays. The publishers pace themselves with it: Discord 50 requests a
second for the bot and 5 messages in 5 seconds per channel; Slack about one message a second
per channel (DESIGN.md section 6). The clock and sleep are injectable for tests.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

__all__ = ["Window"]


@dataclass
class _Key:
    done: deque[float] = field(default_factory=deque)  # when recent requests were answered
    in_flight: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # waiters go in arrival order
    freed: asyncio.Event = field(default_factory=asyncio.Event)  # an answer came back


class Window:
    """At most ``limit`` requests per ``period`` seconds, per key (see the module docstring)."""

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
        self._keys: dict[str, _Key] = {}

    def __repr__(self) -> str:
        return f"Window({self.limit} per {self.period:g} s)"

    @asynccontextmanager
    async def slot(self, key: str = "") -> AsyncIterator[float]:
        """Hold one of the key's places for a request; yields the seconds waited for it."""
        state = self._keys.setdefault(key, _Key())
        waited = 0.0
        async with state.lock:
            while True:
                state.freed.clear()  # before looking: an answer after the look wakes us
                now = self._clock()
                while state.done and state.done[0] <= now - self.period:
                    state.done.popleft()
                if len(state.done) + state.in_flight < self.limit:
                    state.in_flight += 1
                    break
                if state.done:  # the oldest answer leaves the window then
                    wait = state.done[0] + self.period - now
                    waited += wait
                    await self._sleep(wait)
                else:  # every place is taken by a request still waiting for its answer
                    await state.freed.wait()
        try:
            yield waited
        finally:
            state.in_flight -= 1
            state.done.append(self._clock())
            state.freed.set()
