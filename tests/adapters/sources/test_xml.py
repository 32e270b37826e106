"""Safe XML parsing: bombs, external entities, HTML pages and truncated bodies do nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters.sources._xml import parse_xml
from bot.adapters.sources.arxiv_api import parse_api_feed
from bot.adapters.sources.arxiv_rss import parse_listing
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


HTML_PAGES = {
    "doctype": b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><p>Back soon"
    b"</p></body></html>",
    "doctype-lower-unclosed": b"<!doctype html>\n<html><body>Service unavailable<br></body></html>",
    "legacy-doctype": b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"\n'
    b' "http://www.w3.org/TR/html4/strict.dtd"><HTML><BODY>gone</BODY></HTML>',
    "bom-and-comment": b"\xef\xbb\xbf  <!-- proxy --> <html lang=en><body>hi</body></html>",
    "xhtml": b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
    "bare": b"<html><body><p>x</p></body></html>",
}


@pytest.mark.parametrize("page", HTML_PAGES.values(), ids=HTML_PAGES.keys())
def test_an_html_page_is_named_as_such_not_as_a_dtd(page: bytes) -> None:
    with pytest.raises(SourceBadResponse, match="answered with an HTML page") as caught:
        parse_xml(page, source="arxiv", what="arXiv RSS feed", setting="PAPERWIRE_X_URL")
    message = str(caught.value)
    assert "DTD" not in message
    assert "not an arXiv RSS feed: check PAPERWIRE_X_URL" in message


def test_an_html_page_says_its_title() -> None:
    with pytest.raises(SourceBadResponse, match=r'HTML page \("Maintenance"\)'):
        parse_xml(HTML_PAGES["doctype"], source="arxiv")


@pytest.mark.parametrize(
    ("parse", "expected"),
    [
        (
            parse_listing,
            "arxiv: the listing URL answered with an HTML page, not an arXiv RSS feed: "
            "check PAPERWIRE_ARXIV_RSS_URL",
        ),
        (
            parse_api_feed,
            "arxiv: the API URL answered with an HTML page, not an arXiv API Atom feed: "
            "check PAPERWIRE_ARXIV_API_URL",
        ),
    ],
    ids=["rss", "api"],
)
def test_each_feed_names_the_setting_to_check(
    parse: Callable[[bytes], object], expected: str
) -> None:
    with pytest.raises(SourceBadResponse) as caught:
        parse(HTML_PAGES["bare"])
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    "document",
    [
        billion_laughs("html"),
        b'<!DOCTYPE html [<!ENTITY x "boom">]><html><body>&x;</body></html>',
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd"><rss/>',
    ],
    ids=["bomb-in-html-clothes", "html-doctype-with-entities", "external-dtd"],
)
def test_a_document_that_declares_a_dtd_is_still_refused_as_one(document: bytes) -> None:
    with pytest.raises(SourceBadResponse, match="declares a DTD"):
        parse_xml(document, source="arxiv")


@pytest.mark.timeout(30)  # a guard, not a measure: a backtracking sniff would never end here
@pytest.mark.parametrize("prolog", [b"<!--a-->" * 200, b"<?pi x?><!-- <!DOCTYPE -->\n" * 200])
def test_a_prolog_of_many_comments_is_read_in_one_pass(prolog: bytes) -> None:
    assert parse_xml(b"<?xml version='1.0'?>" + prolog + b"<rss/>", source="arxiv").tag == "rss"
