"""Redirects: followed only within the requested origin; any other is refused, once, by name.

A redirect is the server telling the client where to connect next. Followed blindly, it lets
a feed send paperwire to the cloud metadata address or to ``file://``. Every test here stays
on loopback: a second fake on 127.0.0.2 stands in for "another host", and it must never be
asked anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.adapters.sources._http import HttpClient, redirect_allowed
from bot.services.ports import SourceBadResponse
from tests.fakes.sources import FakeSources, Fault


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeSources]:
    """Another host on loopback, serving the same documents: it must never be asked."""
    async with FakeSources(host="127.0.0.2") as server:
        yield server


async def test_a_redirect_to_another_host_is_refused_without_connecting_there(
    fake: FakeSources, elsewhere: FakeSources, http: HttpClient
) -> None:
    target = f"{elsewhere.arxiv_api_url}?id_list=1605.08386"
    fake.fail(FakeSources.ARXIV_API, Fault.REDIRECT, location=target)
    with pytest.raises(SourceBadResponse) as caught:
        await http.get(fake.arxiv_api_url, source="arxiv", params={"id_list": "1605.08386"})
    assert elsewhere.count() == 0
    assert fake.count(FakeSources.ARXIV_API) == 1  # permanent: not retried
    message = str(caught.value)
    assert elsewhere.arxiv_api_url in message  # names the target ...
    assert "id_list" not in message  # ... without its query string
    assert fake.url in message  # and the origin it left


async def test_a_redirect_to_a_file_is_refused_at_once(fake: FakeSources, http: HttpClient) -> None:
    fake.fail(FakeSources.ARXIV_RSS, Fault.REDIRECT, location="file:///etc/passwd")
    with pytest.raises(SourceBadResponse, match="redirected to file:///etc/passwd") as caught:
        await http.get(fake.arxiv_rss_url + "/cs.CL", source="arxiv")
    assert fake.count(FakeSources.ARXIV_RSS) == 1  # not retried as if transient
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize(
    "location",
    [
        "/arxiv/rss/cs.CL",  # a path on the same server
        "{url}/arxiv/rss/cs.CL",  # the same origin, spelled out
    ],
)
async def test_a_redirect_within_the_origin_is_followed(
    fake: FakeSources, http: HttpClient, location: str
) -> None:
    fake.fail(
        FakeSources.ARXIV_RSS + "/moved", Fault.REDIRECT, location=location.format(url=fake.url)
    )
    response = await http.get(fake.arxiv_rss_url + "/moved", source="arxiv")
    assert response.status == 200
    assert response.url == fake.arxiv_rss_url + "/cs.CL"
    assert response.content.rstrip().endswith(b"</rss>")
    assert [r.path for r in fake.requests(FakeSources.ARXIV_RSS)] == [
        FakeSources.ARXIV_RSS + "/moved",
        FakeSources.ARXIV_RSS + "/cs.CL",
    ]


async def test_a_redirect_loop_is_too_many_redirects(fake: FakeSources, http: HttpClient) -> None:
    fake.fail(FakeSources.HF_API, Fault.REDIRECT, location=FakeSources.HF_DAILY)
    with pytest.raises(SourceBadResponse, match="too many redirects"):
        await http.get(fake.hf_api_url + "/daily_papers", source="hf")
    assert fake.count(FakeSources.HF_API) == 6  # the request and 5 redirects; no retry


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("https://export.arxiv.org/api/query", "https://export.arxiv.org/api/other", True),
        ("https://export.arxiv.org/api/query", "https://EXPORT.arxiv.org:443/x", True),
        ("http://export.arxiv.org/api/query", "https://export.arxiv.org/api/query", True),
        ("http://127.0.0.1:8765/a", "https://127.0.0.1:8765/a", True),  # upgrade, same port
        ("http://127.0.0.1:8765/a", "http://127.0.0.1:8765/b", True),
        ("https://export.arxiv.org/api/query", "http://export.arxiv.org/api/query", False),
        ("http://export.arxiv.org/api", "https://export.arxiv.org:8443/api", False),
        ("https://export.arxiv.org/api/query", "https://arxiv.org/api/query", False),
        ("https://export.arxiv.org/api/query", "https://export.arxiv.org:8443/x", False),
        ("https://rss.arxiv.org/rss", "http://169.254.169.254/latest/meta-data/", False),
        ("http://127.0.0.1:8765/a", "http://127.0.0.2:8765/a", False),
        ("http://127.0.0.1:8765/a", "http://localhost:8765/a", False),
        ("http://127.0.0.1:8765/a", "http://127.0.0.1:8766/a", False),
        ("https://rss.arxiv.org/rss", "file:///etc/passwd", False),
        ("https://rss.arxiv.org/rss", "ftp://rss.arxiv.org/rss", False),
    ],
)
def test_which_redirects_stay_within_the_origin(source: str, target: str, allowed: bool) -> None:
    assert redirect_allowed(httpx.URL(source), httpx.URL(target)) is allowed
