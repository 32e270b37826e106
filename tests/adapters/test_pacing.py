"""Pacing: at most N requests per period per key, counted from their answers; waiting rather
than refusing; keys apart; and a request still waiting for its answer holds its place."""

from __future__ import annotations

import asyncio
import itertools

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


async def test_a_spread_window_sends_evenly_and_still_counts_from_the_answers() -> None:
    t = Time()
    window = Window(5, 1.0, clock=t.clock, sleep=t.sleep, spread=True)
    starts = [await _request(window, "", t, took=0.01) for _ in range(11)]
    # One every 0.2 s; the sixth waits for the first answer (at 0.01) to be a period old.
    assert starts[:5] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert starts[5] == pytest.approx(1.01)
    for i in range(len(starts) - 5):
        assert starts[i + 5] - (starts[i] + 0.01) >= 1.0 - 1e-9  # never 6 in any second
    for a, b in itertools.pairwise(starts):
        assert b - a >= 0.2 - 1e-9


async def test_a_spread_window_paces_concurrent_requests_too() -> None:
    window = Window(50, 0.5, spread=True)  # one every 10 ms, real time
    left: list[float] = []

    async def one() -> None:
        async with window.slot():
            left.append(asyncio.get_running_loop().time())

    await asyncio.gather(*(one() for _ in range(6)))
    gaps = [b - a for a, b in itertools.pairwise(left)]
    assert min(gaps) >= 0.009


async def test_a_place_answered_early_is_counted_from_its_answer_and_freed() -> None:
    t = Time()
    window = Window(1, 1.0, clock=t.clock, sleep=t.sleep)
    async with window.slot("c") as place:
        t.now += 0.1
        place.answered()  # the answer came; the client still has work to do
        t.now += 2.0
        place.answered()  # a second call changes nothing
    assert await _request(window, "c", t) == pytest.approx(2.1)  # free since 1.1, not 3.1
    assert place.waited == 0.0
