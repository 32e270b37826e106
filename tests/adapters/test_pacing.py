"""Pacing: at most N requests per period per key, counted from their answers; waiting rather
than refusing; keys apart; and a request still waiting for its answer holds its place."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.pacing import Window


class Time:
    """A clock that moves only when the code under test sleeps (or the test says)."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def _request(window: Window, key: str, t: Time, took: float = 0.0) -> float:
    """One paced request answered ``took`` seconds after it left; when it left."""
    async with window.slot(key):
        left = t.now
        t.now += took
    return left


async def test_discords_five_per_five_seconds_per_channel() -> None:
    t = Time()
    window = Window(5, 5.0, clock=t.clock, sleep=t.sleep)
    starts = [await _request(window, "channel", t) for _ in range(12)]
    assert starts == [0.0] * 5 + [5.0] * 5 + [10.0] * 2
    for i in range(len(starts) - 5):
        assert starts[i + 5] - starts[i] >= 5.0  # never 6 in any 5 s


async def test_the_period_runs_from_the_answer_so_delays_cannot_crowd_the_platform() -> None:
    t = Time()
    window = Window(1, 1.0, clock=t.clock, sleep=t.sleep)
    first = await _request(window, "c", t, took=0.3)  # answered at 0.3
    second = await _request(window, "c", t, took=0.3)
    assert (first, second) == (0.0, pytest.approx(1.3))


async def test_keys_do_not_wait_for_each_other() -> None:
    t = Time()
    window = Window(1, 1.0, clock=t.clock, sleep=t.sleep)
    await _request(window, "a", t)
    assert await _request(window, "b", t) == 0.0
    assert await _request(window, "a", t) == pytest.approx(1.0)


async def test_a_request_in_flight_holds_its_place() -> None:
    window = Window(1, 0.01)
    order: list[str] = []
    answered = asyncio.Event()

    async def slow() -> None:
        async with window.slot("c"):
            order.append("slow leaves")
            await answered.wait()
            order.append("slow answered")

    async def next_one() -> None:
        async with window.slot("c"):
            order.append("next leaves")

    first = asyncio.create_task(slow())
    await asyncio.sleep(0)
    second = asyncio.create_task(next_one())
    await asyncio.sleep(0.05)  # the next one must still be waiting for the first's answer
    assert order == ["slow leaves"]
    answered.set()
    await asyncio.gather(first, second)
    assert order == ["slow leaves", "slow answered", "next leaves"]


def test_a_window_needs_a_limit_and_a_period() -> None:
    with pytest.raises(ValueError, match="limit >= 1"):
        Window(0, 1.0)
