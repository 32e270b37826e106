"""The shared HTTP client against the fake servers: retries, Retry-After, 304, caps, limiter."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.adapters.sources._http import HostLimiter, HttpClient, parse_retry_after
from bot.services.ports import (
    SourceBadResponse,
    SourceRateLimited,
    SourceRequestRejected,
    SourceUnavailable,
)
from tests.adapters.sources.conftest import FakeClock, MakeClient, SleepRecorder
from tests.fakes.sources import FakeSources, Fault

NOW = datetime(2026, 6, 12, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        ("soon", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(
    header: str | None, expected: float | None
) -> None:
    assert parse_retry_after(header, now=NOW) == expected


async def test_sends_the_descriptive_user_agent(fake: FakeSources, http: HttpClient) -> None:
    await http.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv")
    (request,) = fake.requests(FakeSources.ARXIV_RSS)
    assert request.headers["user-agent"] == "paperwire-tests/0 (+https://example.invalid/contact)"


async def test_from_settings_uses_the_contact_in_the_user_agent(fake: FakeSources) -> None:
    from bot.settings import Settings

    settings = Settings(
        contact="mailto:ops@example.org",
        arxiv_rss_url=fake.arxiv_rss_url,
        arxiv_api_url=fake.arxiv_api_url,
        arxiv_min_interval_seconds=0.0,
    )
    async with HttpClient.from_settings(settings) as client:
        await client.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv")
        assert client.limiter_for(fake.arxiv_api_url + "?id_list=1") is not None
        assert client.limiter_for(fake.hf_api_url + "/daily_papers") is None
    (request,) = fake.requests(FakeSources.ARXIV_RSS)
    assert "mailto:ops@example.org" in request.headers["user-agent"]
    assert request.headers["user-agent"].startswith("paperwire/")


async def test_conditional_get_costs_a_304(fake: FakeSources, http: HttpClient) -> None:
    url = fake.arxiv_rss_url + "/cs.CL"
    first = await http.get(url, source="arxiv")
    assert first.status == 200
    assert first.etag == fake.rss_etag
    assert first.content
    second = await http.get(url, source="arxiv", etag=first.etag)
    assert second.not_modified
    assert second.content == b""
    by_date = await http.get(url, source="arxiv", last_modified=first.last_modified)
    assert by_date.not_modified
    sent = fake.requests(FakeSources.ARXIV_RSS)
    assert sent[1].headers["if-none-match"] == first.etag
    assert sent[2].headers["if-modified-since"] == first.last_modified


@pytest.mark.parametrize("fault", [Fault.UNAVAILABLE, Fault.SERVER_ERROR, Fault.RATE_LIMITED])
async def test_transient_statuses_are_retried_until_they_pass(
    fake: FakeSources, http: HttpClient, backoff: SleepRecorder, fault: Fault
) -> None:
    fake.fail(FakeSources.ARXIV_API, fault, times=2, retry_after="0")
    response = await http.get(fake.arxiv_api_url, source="arxiv", params={"id_list": "1605.08386"})
    assert response.status == 200
    assert b"1605.08386v1" in response.content
    assert fake.count(FakeSources.ARXIV_API) == 3
    assert len(backoff.delays) == 2


async def test_backoff_grows_exponentially_with_jitter(
    fake: FakeSources, make_client: MakeClient, backoff: SleepRecorder
) -> None:
    fake.fail(FakeSources.HF_API, Fault.UNAVAILABLE)
    async with make_client(max_retries=4, backoff_base=1.0, rng=lambda: 1.0) as client:
        with pytest.raises(SourceUnavailable, match="HTTP 503") as caught:
            await client.get(fake.hf_api_url + "/papers/2104.12255", source="hf")
    assert backoff.delays == [1.0, 2.0, 4.0, 8.0]
    assert fake.count(FakeSources.HF_API) == 5
    assert "5 attempts" in str(caught.value)
    assert caught.value.source == "hf"


async def test_jitter_halves_at_most(
    fake: FakeSources, make_client: MakeClient, backoff: SleepRecorder
) -> None:
    fake.fail(FakeSources.HF_API, Fault.UNAVAILABLE)
    async with make_client(max_retries=3, backoff_base=1.0, backoff_cap=3.0, rng=lambda: 0.0) as c:
        with pytest.raises(SourceUnavailable):
            await c.get(fake.hf_api_url + "/papers/x", source="hf")
    assert backoff.delays == [0.5, 1.0, 1.5]  # capped at 3 s, half of it fixed


async def test_retry_after_is_honoured(
    fake: FakeSources, http: HttpClient, backoff: SleepRecorder
) -> None:
    fake.fail(FakeSources.HF_API, Fault.RATE_LIMITED, times=1, retry_after="7")
    response = await http.get(fake.hf_api_url + "/daily_papers", source="hf")
    assert response.status == 200
    assert backoff.delays == [7.0]


async def test_retry_after_as_http_date_is_honoured(
    fake: FakeSources, make_client: MakeClient, backoff: SleepRecorder
) -> None:
    when = format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    fake.fail(FakeSources.HF_API, Fault.UNAVAILABLE, times=1, retry_after=when)
    async with make_client(wall_clock=lambda: NOW) as client:
        await client.get(fake.hf_api_url + "/daily_papers", source="hf")
    assert backoff.delays == [42.0]


async def test_persistent_429_raises_rate_limited_with_retry_after(
    fake: FakeSources, http: HttpClient
) -> None:
    fake.fail(FakeSources.ARXIV_API, Fault.RATE_LIMITED, retry_after="5")
    with pytest.raises(SourceRateLimited) as caught:
        await http.get(fake.arxiv_api_url, source="arxiv")
    assert caught.value.retry_after == 5.0
    assert fake.count(FakeSources.ARXIV_API) == 3  # max_retries=2


async def test_a_retry_after_longer_than_the_cap_gives_up_at_once(
    fake: FakeSources, make_client: MakeClient, backoff: SleepRecorder
) -> None:
    fake.fail(FakeSources.ARXIV_API, Fault.RATE_LIMITED, retry_after="3600")
    async with make_client(max_retry_after=60) as client:
        with pytest.raises(SourceRateLimited) as caught:
            await client.get(fake.arxiv_api_url, source="arxiv")
    assert caught.value.retry_after == 3600.0
    assert fake.count(FakeSources.ARXIV_API) == 1
    assert backoff.delays == []


async def test_a_stalled_connection_times_out_and_is_retried(
    fake: FakeSources, make_client: MakeClient
) -> None:
    fake.fail(FakeSources.ARXIV_RSS, Fault.STALL)
    async with make_client(timeout=0.5, max_retries=1) as client:
        with pytest.raises(SourceUnavailable, match="timed out") as caught:
            await client.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv")
    assert not isinstance(caught.value, SourceRateLimited)
    assert fake.count(FakeSources.ARXIV_RSS) == 2


# --- the deadline of a whole request -----------------------------------------------------------


@pytest.mark.timeout(30)  # a guard, not a measure: without a deadline this test never ends
async def test_a_trickling_feed_gives_up_at_the_deadline_and_frees_the_arxiv_slot(
    fake: FakeSources, make_client: MakeClient
) -> None:
    fake.fail(FakeSources.ARXIV_RSS, Fault.TRICKLE)
    # Each pause of the trickle is far below the read timeout: only the deadline can stop it.
    assert FakeSources.TRICKLE_PAUSE < 2.0
    async with make_client(timeout=2.0, deadline=0.5) as client:
        poll = asyncio.create_task(client.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv"))
        # Created second, the lookup queues behind the poll for the one arXiv connection.
        lookup = asyncio.create_task(
            client.get(fake.arxiv_api_url, source="arxiv", params={"id_list": "1605.08386"})
        )
        with pytest.raises(SourceUnavailable, match="timed out") as caught:
            await poll
        found = await lookup
    assert "0.5 s deadline" in str(caught.value)
    assert not isinstance(caught.value, SourceRateLimited)
    assert fake.count(FakeSources.ARXIV_RSS) == 1  # the deadline is spent: no retry
    assert found.status == 200
    assert b"1605.08386v1" in found.content
    (polled,) = fake.requests(FakeSources.ARXIV_RSS)
    (looked_up,) = fake.requests(FakeSources.ARXIV_API)
    assert polled.started <= looked_up.started  # the lookup waited for the slot, then got it


async def test_retries_stop_before_a_wait_would_pass_the_deadline(
    fake: FakeSources, make_client: MakeClient, backoff: SleepRecorder
) -> None:
    fake.fail(FakeSources.HF_API, Fault.UNAVAILABLE, retry_after="2")
    async with make_client(deadline=5.0, max_retries=10) as client:
        with pytest.raises(SourceUnavailable, match="HTTP 503") as caught:
            await client.get(fake.hf_api_url + "/daily_papers", source="hf")
    assert backoff.delays == [2.0, 2.0]  # a third wait would end past the 5 s deadline
    assert fake.count(FakeSources.HF_API) == 3
    assert "5 s deadline" in str(caught.value)


@pytest.mark.parametrize(("timeout", "deadline"), [(20.0, 40.0), (0.5, 1.0)])
def test_the_deadline_of_a_request_follows_the_timeout_setting(
    timeout: float, deadline: float
) -> None:
    from bot.settings import Settings

    client = HttpClient.from_settings(Settings(http_timeout_seconds=timeout))
    assert client.deadline == deadline


async def test_a_refused_connection_is_unavailable(make_client: MakeClient) -> None:
    async with make_client(max_retries=1) as client:
        with pytest.raises(SourceUnavailable, match="connection failed"):
            await client.get("http://127.0.0.1:9/nothing-listens-here", source="arxiv")


async def test_a_truncated_body_is_retried_then_bad_response(
    fake: FakeSources, http: HttpClient
) -> None:
    fake.fail(FakeSources.ARXIV_RSS, Fault.TRUNCATED)
    with pytest.raises(SourceBadResponse, match="truncated"):
        await http.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv")
    assert fake.count(FakeSources.ARXIV_RSS) == 3


async def test_a_truncated_body_that_recovers_is_read_whole(
    fake: FakeSources, http: HttpClient
) -> None:
    fake.fail(FakeSources.ARXIV_RSS, Fault.TRUNCATED, times=1)
    response = await http.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv")
    assert response.content.rstrip().endswith(b"</rss>")
    assert fake.count(FakeSources.ARXIV_RSS) == 2


@pytest.mark.parametrize("fault", [Fault.NOT_FOUND, Fault.ERROR_FEED])
async def test_client_errors_are_rejected_without_retry(
    fake: FakeSources, http: HttpClient, fault: Fault
) -> None:
    fake.fail(FakeSources.ARXIV_API, fault)
    with pytest.raises(SourceRequestRejected, match="HTTP 4"):
        await http.get(fake.arxiv_api_url, source="arxiv")
    assert fake.count(FakeSources.ARXIV_API) == 1


async def test_accepted_client_errors_are_returned(fake: FakeSources, http: HttpClient) -> None:
    response = await http.get(fake.hf_api_url + "/papers/0000.00000", source="hf", accept=(404,))
    assert response.status == 404


@pytest.mark.parametrize("cap", [1000, 200_000])
async def test_a_body_over_the_cap_is_refused(
    fake: FakeSources, make_client: MakeClient, cap: int
) -> None:
    async with make_client(max_response_bytes=cap) as client:
        with pytest.raises(SourceBadResponse, match="cap"):
            await client.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv")  # ~345 kB
    assert fake.count(FakeSources.ARXIV_RSS) == 1


async def test_a_body_without_length_over_the_cap_is_cut_while_streaming(
    make_client: MakeClient,
) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            sent.append(1)
            yield b"<item>" + b"x" * 1000 + b"</item>"

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=endless()))
    async with make_client(max_response_bytes=10_000, transport=transport) as client:
        with pytest.raises(SourceBadResponse, match="cap"):
            await client.get("https://rss.example.org/rss/cs.CL", source="arxiv")
    assert len(sent) < 20  # stopped reading soon after the cap, not at the end


async def test_using_a_closed_client_is_an_error(make_client: MakeClient) -> None:
    client = make_client()
    with pytest.raises(RuntimeError, match="not open"):
        await client.get("http://127.0.0.1:9/", source="arxiv")


# --- the arXiv limiter ------------------------------------------------------------------------


async def test_concurrent_arxiv_requests_are_spaced_by_the_interval(
    fake: FakeSources, make_client: MakeClient
) -> None:
    clock = FakeClock()
    limiter = HostLimiter(
        3.0, prefixes=(fake.arxiv_api_url, fake.arxiv_rss_url), clock=clock, sleep=clock.sleep
    )
    async with make_client(limiters=(limiter,)) as client:
        await asyncio.gather(
            client.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv"),
            client.get(fake.arxiv_api_url, source="arxiv", params={"id_list": "1605.08386"}),
            client.get(fake.arxiv_api_url, source="arxiv", params={"id_list": "2104.12255"}),
        )
    # The clock moves only when the limiter sleeps: each later request waited a full interval.
    assert clock.sleeps == [3.0, 3.0]
    served = sorted(fake.requests("/arxiv"), key=lambda r: r.started)
    assert len(served) == 3
    for earlier, later in itertools.pairwise(served):
        assert earlier.finished is not None
        assert later.started >= earlier.finished


async def test_arxiv_gets_one_connection_at_a_time_with_real_waits(
    fake: FakeSources, make_client: MakeClient
) -> None:
    interval = 0.15
    limiter = HostLimiter(interval, prefixes=(fake.arxiv_api_url, fake.arxiv_rss_url))
    async with make_client(limiters=(limiter,)) as client:
        await asyncio.gather(
            *(
                client.get(fake.arxiv_api_url, source="arxiv", params={"id_list": i})
                for i in ("1605.08386", "2104.12255", "1707.08567")
            ),
            client.get(fake.arxiv_rss_url + "/cs.LG", source="arxiv"),
        )
    assert fake.max_in_flight(FakeSources.ARXIV_API) == 1
    served = sorted(fake.requests("/arxiv"), key=lambda r: r.started)
    gaps = [
        later.started - earlier.finished
        for earlier, later in itertools.pairwise(served)
        if earlier.finished is not None
    ]
    assert len(gaps) == 3
    assert min(gaps) >= interval


async def test_other_hosts_are_not_held_by_the_arxiv_limiter(
    fake: FakeSources, make_client: MakeClient
) -> None:
    clock = FakeClock()
    limiter = HostLimiter(
        3.0, prefixes=(fake.arxiv_api_url, fake.arxiv_rss_url), clock=clock, sleep=clock.sleep
    )
    async with make_client(limiters=(limiter,)) as client:
        await asyncio.gather(
            client.get(fake.hf_api_url + "/daily_papers", source="hf"),
            client.get(fake.hf_api_url + "/daily_papers", source="hf"),
            client.get(fake.hf_api_url + "/papers/2606.00467", source="hf"),
        )
    assert clock.sleeps == []


async def test_retries_also_wait_for_the_arxiv_interval(
    fake: FakeSources, make_client: MakeClient
) -> None:
    clock = FakeClock()
    limiter = HostLimiter(3.0, prefixes=(fake.arxiv_api_url,), clock=clock, sleep=clock.sleep)
    fake.fail(FakeSources.ARXIV_API, Fault.UNAVAILABLE, times=1, retry_after="0")
    async with make_client(limiters=(limiter,), backoff_base=0.0) as client:
        await client.get(fake.arxiv_api_url, source="arxiv", params={"id_list": "1605.08386"})
    assert clock.sleeps == [3.0]
    assert fake.count(FakeSources.ARXIV_API) == 2


@pytest.mark.parametrize(
    ("url", "covered"),
    [
        ("https://export.arxiv.org/api/query?id_list=1", True),
        ("https://export.arxiv.org:443/api/query", True),
        ("https://rss.arxiv.org/rss/cs.CL+cs.LG", True),
        ("https://huggingface.co/api/papers/1", False),
        ("http://export.arxiv.org/api/query", False),  # another origin (port 80)
    ],
)
def test_the_limiter_covers_its_configured_prefixes(url: str, covered: bool) -> None:
    limiter = HostLimiter(
        3.0, prefixes=("https://export.arxiv.org/api/query", "https://rss.arxiv.org/rss")
    )
    assert limiter.covers(url) is covered
