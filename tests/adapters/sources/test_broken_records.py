"""One broken record (an invalid UTF-8 byte, a control character) costs that record only.

The real listing feed and API answer, each with a byte or two spoiled inside chosen items:
the other items are parsed exactly as from the clean document, and each spoiled one comes
back as a ``Rejected`` with its id and the reason. A fault outside the records still makes
the whole document a bad response.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources.arxiv_api import parse_api_feed
from bot.adapters.sources.arxiv_rss import ArxivRssSource, parse_listing
from bot.core.models import PollState
from bot.services.ports import FetchResult, SourceBadResponse
from tests.fakes.sources import API_LISTING, RSS_TRIMMED, FakeSources, billion_laughs

LISTING = RSS_TRIMMED.read_bytes()
API = API_LISTING.read_bytes()
GUIDS = re.findall(rb"<guid[^>]*>([^<]+)</guid>", LISTING)
ENTRY_IDS = re.findall(rb"<entry>\s*<id>([^<]+)</id>", API)

# bad bytes -> what the rejection says
SPOILERS = {
    b"\xff": "not valid UTF-8 (byte 0xFF",
    b"caf\xe9 ": "not valid UTF-8 (byte 0xE9",  # Latin-1 in a UTF-8 document
    b"\xe2\x80": "not valid UTF-8 (byte 0xE2",  # a sequence cut short
    b"\x0c": "not well-formed XML",  # a form feed: valid UTF-8, never valid XML 1.0
}


def _spoil(data: bytes, record_id: bytes, bad: bytes, *, record: bytes = b"<item>") -> bytes:
    """``data`` with ``bad`` at the start of the title of the record holding ``record_id``."""
    start = data.rindex(record, 0, data.index(record_id))
    return _insert(data, data.index(b"<title>", start) + len(b"<title>"), bad)


def _insert(data: bytes, at: int, bad: bytes) -> bytes:
    return data[:at] + bad + data[at:]


def _without(result: FetchResult, ids: set[str]) -> list[str]:
    return [p.versioned_id for p in result.papers if p.versioned_id not in ids]


@pytest.mark.parametrize("bad", SPOILERS)
@pytest.mark.parametrize("position", [0, 57, len(GUIDS) - 1], ids=["first", "middle", "last"])
def test_a_broken_item_is_rejected_and_every_other_item_kept(bad: bytes, position: int) -> None:
    guid = GUIDS[position]
    clean = parse_listing(LISTING)
    result = parse_listing(_spoil(LISTING, guid, bad))

    versioned = guid.decode().removeprefix("oai:arXiv.org:")
    assert [p.versioned_id for p in result.papers] == _without(clean, {versioned})
    assert list(result.papers) == [p for p in clean.papers if p.versioned_id != versioned]
    (rejected,) = result.rejected
    assert rejected.identifier == guid.decode()
    assert rejected.reason.startswith(SPOILERS[bad])


def test_several_broken_items_are_each_rejected_in_feed_order() -> None:
    data = LISTING
    chosen = [(GUIDS[3], b"\xff"), (GUIDS[40], b"\x0c"), (GUIDS[150], b"\xc3")]
    for guid, bad in chosen:
        data = _spoil(data, guid, bad)
    result = parse_listing(data)
    assert len(result.papers) == 189 - 3
    assert [r.identifier for r in result.rejected] == [g.decode() for g, _ in chosen]
    assert [r.reason.split(" (")[0] for r in result.rejected] == [
        "not valid UTF-8",
        "not well-formed XML",
        "not valid UTF-8",
    ]


def test_a_broken_api_entry_is_rejected_and_the_others_kept() -> None:
    entry_id = ENTRY_IDS[10]
    clean = parse_api_feed(API)
    result = parse_api_feed(_spoil(API, entry_id, b"\xfe", record=b"<entry>"))
    versioned = entry_id.decode().rsplit("/abs/", 1)[1]
    assert [p.versioned_id for p in result.papers] == _without(clean, {versioned})
    (rejected,) = result.rejected
    assert rejected.identifier == entry_id.decode()
    assert rejected.reason.startswith("not valid UTF-8 (byte 0xFE")


@pytest.mark.parametrize("bad", [b"\xff", b"\x0c"])
def test_a_fault_outside_the_items_still_spoils_the_whole_feed(bad: bytes) -> None:
    with pytest.raises(SourceBadResponse, match="not a well-formed arXiv RSS feed"):
        parse_listing(_insert(LISTING, LISTING.index(b"<title>") + len(b"<title>"), bad))


def test_a_truncated_feed_is_still_a_bad_response_not_a_partial_listing() -> None:
    data = _spoil(LISTING, GUIDS[5], b"\xff")[: len(LISTING) // 2]
    with pytest.raises(SourceBadResponse, match="not a well-formed"):
        parse_listing(data)


def test_a_document_with_a_dtd_is_never_salvaged() -> None:
    bomb = billion_laughs("rss")
    data = bomb.replace(b"<rss>", b"<rss><channel><item><title>\xff</title></item>")
    with pytest.raises(SourceBadResponse):
        parse_listing(data)


async def test_the_poll_keeps_the_good_items_of_a_feed_with_a_broken_one(tmp_path: Path) -> None:
    feed = tmp_path / "listing.xml"
    feed.write_bytes(_spoil(LISTING, GUIDS[20], b"\xff"))
    async with (
        FakeSources(rss_feed=feed) as fake,
        HttpClient(user_agent="paperwire-tests/0", max_retries=0) as http,
    ):
        source = ArxivRssSource(fake.arxiv_rss_url, http, ("cs.CL",))
        result = await source.poll(PollState("arxiv"), today=date(2024, 11, 28))
    assert len(result.papers) == 188
    (rejected,) = result.rejected
    assert rejected.identifier == GUIDS[20].decode()
    assert "UTF-8" in rejected.reason
    assert result.etag is not None
