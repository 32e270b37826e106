"""Pacing posts to a platform's documented limits, so it never has to answer 429.

``Window(limit, period)`` lets at most ``limit`` requests through in any ``period`` seconds
for each key (a channel, or ``""`` for the whole bot). ``async with window.slot(key):`` waits
(without blocking other keys) until the request may go, and counts it from the moment its
answer came back, not from when it left: the platform saw it somewhere in between, so the next
one, sent a whole period after that answer, reaches the platform a whole period after it
whatever the network's delays. The publishers pace themselves with it: Discord 50 requests a
second for the bot and 5 messages in 5 seconds per channel; Slack about one message a second
per channel (DESIGN.md section 6). The clock and sleep are injectable for tests.

``Window(..., spread=True)`` also sends a key's requests at least ``period / limit`` apart. A
burst of ``limit`` requests at once all wait at the platform's end, so the last is answered
long after it left, and counting from the answers then costs that whole wait every period; sent
evenly, each is answered at once and the window runs at the limit's own pace. The bot's global
Discord limit is spread (50 a second: one every 20 ms); a channel's five posts are not (five
cards at once should show at once).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

__all__ = ["Place", "Window"]

# A wait shorter than this is no wait (a clock's rounding must not make it a loop).
_EPSILON = 1e-6


@dataclass
class _Key:
    done: deque[float] = field(default_factory=deque)  # when recent requests were answered
    in_flight: int = 0
    last_sent: float | None = None  # when the latest request left (for ``spread``)
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
        spread: bool = False,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a window needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._gap = period / limit if spread else 0.0
        self._clock = clock
        self._sleep = sleep
        self._keys: dict[str, _Key] = {}

    def __repr__(self) -> str:
        spread = ", spread" if self._gap else ""
        return f"Window({self.limit} per {self.period:g} s{spread})"

    @asynccontextmanager
    async def slot(self, key: str = "") -> AsyncIterator[Place]:
        """Hold one of the key's places for a request (see ``Place``)."""
        state = self._keys.setdefault(key, _Key())
        waited = 0.0
        async with state.lock:
            while True:
                state.freed.clear()  # before looking: an answer after the look wakes us
                now = self._clock()
                while state.done and state.done[0] <= now - self.period + _EPSILON:
                    state.done.popleft()
                if len(state.done) + state.in_flight < self.limit:
                    early = 0.0 if state.last_sent is None else state.last_sent + self._gap - now
                    if early > _EPSILON:  # spread: too soon after the previous one
                        waited += early
                        await self._sleep(early)
                        continue
                    state.in_flight += 1
                    state.last_sent = now
                    break
                if state.done:  # the oldest answer leaves the window then
                    wait = state.done[0] + self.period - now
                    waited += wait
                    await self._sleep(wait)
                else:  # every place is taken by a request still waiting for its answer
                    await state.freed.wait()
        place = Place(state, self._clock, waited)
        try:
            yield place
        finally:
            place.answered()


class Place:
    """A request's place in a window: ``waited`` seconds for it; ``answered()`` when the
    platform's answer came (at the latest, when the ``slot`` block ends). A client library
    that sleeps after an answer before it returns (discord.py does, on a spent bucket) must
    not hold the place meanwhile: call ``answered()`` from its response hook."""

    def __init__(self, state: _Key, clock: Callable[[], float], waited: float) -> None:
        self._state = state
        self._clock = clock
        self.waited = waited
        self._open = True

    def answered(self) -> None:
        if self._open:
            self._open = False
            self._state.in_flight -= 1
            self._state.done.append(self._clock())
            self._state.freed.set()
