"""Pacing: at most N starts per period per key, waiting rather than refusing; keys apart."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.pacing import Window


class Time:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_discords_five_per_five_seconds_per_channel() -> None:
    t = Time()
    window = Window(5, 5.0, clock=t.clock, sleep=t.sleep)
    starts = []
    for _ in range(12):
        await window.acquire("channel")
        starts.append(t.now)
    assert starts == [0.0] * 5 + [5.0] * 5 + [10.0] * 2
    for i in range(len(starts) - 5):
        assert starts[i + 5] - starts[i] >= 5.0  # never 6 in any 5 s


async def test_keys_do_not_wait_for_each_other() -> None:
    t = Time()
    window = Window(1, 1.0, clock=t.clock, sleep=t.sleep)
    await window.acquire("a")
    assert await window.acquire("b") == 0.0
    assert await window.acquire("a") == pytest.approx(1.0)


async def test_concurrent_waiters_keep_their_order() -> None:
    window = Window(1, 0.01)
    order: list[int] = []

    async def post(n: int) -> None:
        await window.acquire("c")
        order.append(n)

    await asyncio.gather(*(post(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]


def test_a_window_needs_a_limit_and_a_period() -> None:
    with pytest.raises(ValueError, match="limit >= 1"):
        Window(0, 1.0)
