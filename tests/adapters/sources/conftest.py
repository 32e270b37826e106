"""Shared fixtures: the fake servers and a fast HttpClient pointed at them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.adapters.sources._http import HostLimiter, HttpClient
from tests.fakes.sources import FakeSources


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class SleepRecorder:
    """Stands in for asyncio.sleep in the retry loop: records the delay, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSources]:
    async with FakeSources() as server:
        yield server


@pytest.fixture
def backoff() -> SleepRecorder:
    return SleepRecorder()


MakeClient = Callable[..., HttpClient]


@pytest.fixture
def make_client(fake: FakeSources, backoff: SleepRecorder) -> MakeClient:
    """An HttpClient with test-sized timeouts, no real backoff waits, and a tiny arXiv limiter.

    The deadline is generous, so that tests of retries count attempts, not seconds; the tests
    of the deadline set their own.
    """

    def build(**overrides: Any) -> HttpClient:
        options: dict[str, Any] = {
            "user_agent": "paperwire-tests/0 (+https://example.invalid/contact)",
            "timeout": 2.0,
            "deadline": 60.0,
            "max_retries": 2,
            "backoff_base": 0.01,
            "sleep": backoff,
            "rng": lambda: 0.5,
            "limiters": (HostLimiter(0.0, prefixes=(fake.arxiv_api_url, fake.arxiv_rss_url)),),
        }
        options.update(overrides)
        return HttpClient(**options)

    return build


@pytest.fixture
async def http(make_client: MakeClient) -> AsyncIterator[HttpClient]:
    async with make_client() as client:
        yield client
