"""Safe XML parsing: bombs, external entities, HTML pages and truncated bodies do nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.sources._xml import parse_xml
from bot.services.ports import SourceBadResponse
from tests.fakes.sources import billion_laughs, external_entity_payload
from tests.paths import FIXTURES

RSS = FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_all_archives_2024-11-28_trimmed189.xml"


def test_parses_a_real_feed() -> None:
    root = parse_xml(RSS.read_bytes(), source="arxiv")
    assert root.tag == "rss"
    assert len(root.findall("channel/item")) == 189


def test_a_billion_laughs_bomb_is_refused_without_expanding() -> None:
    with pytest.raises(SourceBadResponse) as caught:
        parse_xml(billion_laughs("rss"), source="arxiv")
    assert caught.value.source == "arxiv"


def test_an_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    payload = external_entity_payload(True, "http://127.0.0.1:9/canary").replace(
        b"file:///etc/passwd", secret.as_uri().encode()
    )
    with pytest.raises(SourceBadResponse, match="DTD") as caught:
        parse_xml(payload, source="arxiv")
    assert "TOP-SECRET" not in str(caught.value)


def test_a_doctype_without_entities_is_refused_too() -> None:
    with pytest.raises(SourceBadResponse, match="DTD"):
        parse_xml(b'<?xml version="1.0"?><!DOCTYPE rss><rss/>', source="arxiv")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"<!DOCTYPE html><html><body><p>Service unavailable<br></body></html>",
        b"<html><body>Bad gateway</body>",
        RSS.read_bytes()[:50_000],
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b'{"error": "not xml"}',
    ],
    ids=["empty", "blank", "html-page", "html-unclosed", "truncated", "binary", "json"],
)
def test_garbage_becomes_bad_response(body: bytes) -> None:
    with pytest.raises(SourceBadResponse):
        parse_xml(body, source="arxiv")
