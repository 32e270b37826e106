"""Roundup -> HTML page and Atom feed: the realistic week reads well, any roundup is inert.

"Inert" is checked here without the renderer's help: the page is tokenised by the stdlib's
HTML parser (every tag closed in order, no script, handler, style attribute or resource) and
parsed by lxml; the feed is parsed by lxml with no DTD or entities, and by feedparser as a
feed reader would.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import unicodedata
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bot.adapters.roundup_web import (
    ATOM_NS,
    page_title,
    render_roundup_atom,
    render_roundup_html,
    safe_url,
)
from bot.core.models import Link, Roundup, RoundupEntry, RoundupSection, Topic
from bot.core.roundup import build_roundup, day_period, empty_text, week_period
from bot.core.safety import scrub
from tests.adapters.roundup_fixtures import WEEK_NOW, allowed_urls, hostile_roundups, week_roundup
from tests.golden.inert import hostile_text

CHANNEL = "#reading-group"
FEED = "https://papers.example.org/roundups/7.atom"
BASE = "https://papers.example.org/roundups/7/"
UPDATED = datetime(2026, 6, 12, 14, 0, tzinfo=UTC)
A = f"{{{ATOM_NS}}}"

# --- what a safe page is, checked independently of the renderer ----------------------------

_VOID = {"meta", "link", "br", "hr", "wbr"}
_TAGS = _VOID | {
    "html", "head", "title", "style", "body", "main", "header", "footer", "nav", "section",
    "h1", "h2", "h3", "p", "span", "a", "ol", "ul", "li",
}  # fmt: skip
_ATTRIBUTES = {
    "lang", "charset", "name", "content", "http-equiv", "rel", "type", "title", "href",
    "class", "id", "aria-label", "aria-labelledby",
}  # fmt: skip


class _PageChecker(HTMLParser):
    """Collects what makes a page unsafe or malformed, and its links and ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.hrefs: list[tuple[str, str]] = []  # (tag, href)
        self.ids: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name not in _ATTRIBUTES:
                self.problems.append(f"attribute {name}= on <{tag}>")
            if name == "href":
                self.hrefs.append((tag, value or ""))
            if name == "id":
                self.ids.append(value or "")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"</{tag}> closes nothing open")

    def close(self) -> None:
        super().close()
        if self.stack:
            self.problems.append(f"left open: {self.stack}")


def check_page(page: str, roundup: Roundup, feed_url: str | None = None) -> _PageChecker:
    """Assert the page is well-formed, inert, and links only where it may; returns its facts."""
    checker = _PageChecker()
    checker.feed(page)
    checker.close()
    assert checker.problems == []
    assert checker.doctype.lower() == "doctype html"
    lowered = page.lower()
    assert "<script" not in lowered
    assert len(checker.ids) == len(set(checker.ids))
    own = {url for url in allowed_urls(roundup) if url.startswith(("http://", "https://"))}
    for tag, href in checker.hrefs:
        if href.startswith("#"):
            assert href[1:] in checker.ids
        elif tag == "link" or href == feed_url:
            assert href == feed_url
        else:
            assert href in own
            assert safe_url(href) == href
    return checker


def clean(text: str) -> str:
    """Text as a page may show it: scrubbed, without non-characters, stripped."""
    kept = (c for c in scrub(text) if unicodedata.category(c) != "Cn" or not _nonchar(c))
    return "".join(kept).strip()


def _nonchar(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def entries_of(roundup: Roundup) -> list[RoundupEntry]:
    return [entry for section in roundup.sections for entry in section.entries]


# --- roundups whose text is aimed at HTML and XML -----------------------------------------

HTML_PIECES = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="https://evil.example">x</a>',
    "<base href=https://evil.example/>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "</title><script>x</script>",
    "</style><script>x</script>",
    "</h3></li></ol></section>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)",
    "<!--",
    "-->",
    "]]>",
    "<![CDATA[x]]>",
    "<?xml version='1.0'?>",
    "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>",
    "&e;",
    "&lt;script&gt;",
    "&#x3c;script&#x3e;",
    "javascript:alert(1)",
    "https://evil.example/",
    "\ufffe",
    "\uffff",
    "\ufdd0",
    "\U0010ffff",
    "\x0c",
    "\r\n",
]
html_text = st.lists(
    st.one_of(st.sampled_from(HTML_PIECES), hostile_text), min_size=1, max_size=6
).map("".join)


@st.composite
def html_roundups(draw: st.DrawFn) -> Roundup:
    """A hostile roundup whose every text field and link may be HTML or XML aimed at us."""
    roundup = draw(hostile_roundups)

    def text(value: str) -> str:
        return draw(html_text) if draw(st.booleans()) else value

    sections = []
    for section in roundup.sections:
        entries = tuple(
            dataclasses.replace(
                entry,
                title=text(entry.title),
                authors_line=text(entry.authors_line),
                tldr=text(entry.tldr),
                insights=tuple(text(insight) for insight in entry.insights),
                links=tuple(Link(text(link.label), text(link.url)) for link in entry.links),
            )
            for entry in section.entries
        )
        topic = Topic(text(section.topic.name), text(section.topic.emoji), section.topic.key)
        sections.append(RoundupSection(topic, entries))
    return dataclasses.replace(roundup, sections=tuple(sections))


any_roundups = st.one_of(hostile_roundups, html_roundups())


# --- the realistic week --------------------------------------------------------------------


def test_the_week_is_a_page_with_every_paper_in_order_and_every_link() -> None:
    roundup = week_roundup()
    page = render_roundup_html(roundup, channel_label=CHANNEL, feed_url=FEED)
    checker = check_page(page, roundup, FEED)
    dom = lxml.html.document_fromstring(page)
    assert dom.findtext(".//title") == f"Weekly roundup · 2026-W24 · 8–14 Jun 2026 · {CHANNEL}"
    assert dom.xpath("string(//h1)") == "📰 Weekly roundup · 2026-W24 8–14 Jun 2026"
    assert dom.xpath('string(//p[@class="channel"])') == CHANNEL
    assert dom.xpath('string(//p[@class="tally"])') == "The top 15 of 21 papers this week."
    # Contents: each topic with its count, linking to its section, in order.
    contents = [(a.get("href"), a.text_content()) for a in dom.xpath("//nav//a")]
    assert contents[:2] == [
        ("#topic-1", "🏗️ Architectures and attention\xa0(1)"),
        ("#topic-2", "🧠 Reasoning and agents\xa0(5)"),
    ]
    assert len(contents) == len(roundup.sections) == 7
    headings = [h.text_content() for h in dom.xpath("//section/h2")]
    assert headings == [text for _, text in contents]
    # Every paper, numbered in reading order, title linked to the abstract, then its parts.
    entries = entries_of(roundup)
    papers = dom.xpath('//li[@class="paper"]')
    assert len(papers) == 15
    for number, (paper, entry) in enumerate(zip(papers, entries, strict=True), start=1):
        assert paper.xpath("string(h3)") == f"{number}.{entry.title}"
        assert paper.xpath("h3/a/@href") == [f"https://arxiv.org/abs/{entry.arxiv_id}"]
        assert paper.xpath('string(p[@class="tldr"])') == entry.tldr
        assert paper.xpath('ul[@class="insights"]/li/text()') == list(entry.insights)
        assert entry.authors_line in paper.xpath('string(p[@class="meta"])')
        links = [(a.text, a.get("href")) for a in paper.xpath('p[@class="links"]/a')]
        assert links == [(link.label, link.url) for link in entry.links]
    first = papers[0]
    assert first.xpath('string(p[@class="meta"])') == (
        "Xunhao Lai, Weiqi Xu, Yufeng Yang et al. (11 authors) · ▲ 103 upvotes · 💬 4 comments"
    )
    assert [a.text for a in first.xpath('p[@class="links"]/a')] == [
        "Abstract",
        "Hugging Face",
        "Code",
    ]
    # Every link the entries have is on the page; external ones do not leak the referrer.
    external = [href for tag, href in checker.hrefs if tag == "a" and href.startswith("http")]
    assert set(external) == allowed_urls(roundup) | {FEED}
    outbound = [a for a in dom.xpath("//a") if a.get("href") in allowed_urls(roundup)]
    assert len(outbound) == len(entries) + sum(len(entry.links) for entry in entries)
    assert {a.get("rel") for a in outbound} == {"noopener noreferrer"}
    assert dom.xpath('//link[@rel="alternate"]/@type') == ["application/atom+xml"]


def test_the_page_is_self_contained_and_its_policy_forbids_scripts() -> None:
    page = render_roundup_html(week_roundup(), channel_label=CHANNEL)
    dom = lxml.html.document_fromstring(page)
    assert dom.xpath("//meta/@charset") == ["utf-8"]
    assert dom.xpath('//meta[@name="viewport"]/@content') == ["width=device-width, initial-scale=1"]
    [policy] = dom.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == directives["script-src"] == "'none'"
    assert directives["base-uri"] == directives["form-action"] == "'none'"
    # Only the page's own style sheet applies: the policy names its hash.
    [style] = dom.xpath("//style/text()")
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert directives["style-src"] == f"'sha256-{digest}'"
    # Nothing is fetched: no resource attribute, no URL in the style sheet, no feed link.
    assert dom.xpath("//@src | //@srcset | //@style | //@action") == []
    assert "url(" not in style
    assert "@import" not in style
    assert dom.xpath("//link") == []


def test_an_empty_roundup_is_a_page_saying_so_in_one_line() -> None:
    period = week_period("2026-W48", "Europe/Paris")
    roundup = build_roundup([], period, now=WEEK_NOW)
    page = render_roundup_html(roundup, channel_label=CHANNEL)
    check_page(page, roundup)
    dom = lxml.html.document_fromstring(page)
    assert dom.xpath('//p[@class="empty"]/text()') == [empty_text(period)]
    assert dom.xpath("//nav | //section | //li") == []
    assert dom.xpath("string(//h1)") == "📰 Weekly roundup · 2026-W48 23–29 Nov 2026"


def test_a_daily_digest_is_titled_by_its_day() -> None:
    roundup = dataclasses.replace(week_roundup(), period=day_period("2026-06-12", "Europe/Paris"))
    page = render_roundup_html(roundup, channel_label=CHANNEL)
    dom = lxml.html.document_fromstring(page)
    assert dom.xpath("string(//h1)") == "📰 Daily digest · Fri 12 Jun 2026"
    assert dom.findtext(".//title") == f"Daily digest · Fri 12 Jun 2026 · {CHANNEL}"


_UNSAFE = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:x",
    "//evil.example/x",
    "/relative/path",
    "https://evil.example|click",
    "<https://evil.example|click>",
    'https://evil.example/" onmouseover="alert(1)',
    "https://github.com/a b",
    "https://user@evil.example/",
    "https://github.com@evil.example/",
    "https://evil.example/\u202ereversed",
    "https://x.example/" + "a" * 3000,
    "ftp://files.example/paper.pdf",
    "",
]


@pytest.mark.parametrize("url", _UNSAFE)
def test_an_address_that_is_not_plainly_http_is_text_not_a_link(url: str) -> None:
    roundup = week_roundup()
    section = roundup.sections[0]
    entry = dataclasses.replace(
        section.entries[0],
        links=(Link("Abstract", url), Link("Code", url), Link("Hugging Face", "https://hf.co/p")),
    )
    hostile = dataclasses.replace(
        roundup, sections=(dataclasses.replace(section, entries=(entry,)),)
    )
    page = render_roundup_html(hostile, channel_label=CHANNEL)
    check_page(page, hostile)
    dom = lxml.html.document_fromstring(page)
    assert dom.xpath("//h3/a") == []  # the title links to the abstract only when it is safe
    assert dom.xpath("//a[@rel]/@href") == ["https://hf.co/p"]
    shown = dom.xpath('string(//p[@class="links"])')
    if clean(url):
        assert f"Abstract: {clean(url)[:100]}" in shown


def test_the_channel_label_and_feed_url_are_escaped_too() -> None:
    label = '<img src=x onerror=alert(1)> "#general" & co'
    feed = "/roundups/7.atom?a=1&b=2"
    page = render_roundup_html(week_roundup(), channel_label=label, feed_url=feed)
    assert "<img" not in page
    assert 'href="/roundups/7.atom?a=1&amp;b=2"' in page
    dom = lxml.html.document_fromstring(page)
    assert dom.xpath('string(//p[@class="channel"])') == label
    assert dom.xpath("//link/@href") == [feed]


@pytest.mark.parametrize(
    "feed", ["javascript:x", '/x.atom?"><script>', "//evil.example/x.atom", "x.atom", ""]
)
def test_a_feed_url_that_is_not_a_plain_address_is_refused(feed: str) -> None:
    with pytest.raises(ValueError, match="feed_url must be an http"):
        render_roundup_html(week_roundup(), channel_label=CHANNEL, feed_url=feed)


@settings(max_examples=60, deadline=None)
@given(any_roundups, st.sampled_from([None, FEED]), html_text)
def test_any_roundup_is_an_inert_page_showing_every_paper(
    roundup: Roundup, feed_url: str | None, channel: str
) -> None:
    page = render_roundup_html(roundup, channel_label=channel, feed_url=feed_url)
    check_page(page, roundup, feed_url)
    dom = lxml.html.document_fromstring(page)
    papers = dom.xpath('//li[@class="paper"]')
    entries = entries_of(roundup)
    assert len(papers) == roundup.paper_count == len(entries)
    for number, (paper, entry) in enumerate(zip(papers, entries, strict=True), start=1):
        assert paper.get("id") == f"paper-{number}"
        shown = paper.xpath("string(h3)").removeprefix(f"{number}.")
        assert html.escape(shown, quote=True) in page
        full = clean(entry.title)
        if not full:
            assert shown.startswith("arXiv:")
        elif shown != full:  # cut to keep the page readable: a prefix, and says so
            assert shown.endswith("…") or full.startswith(shown)
            assert full.startswith(shown.removesuffix("…"))
        assert len(paper.xpath('ul[@class="insights"]/li')) <= 2
        assert len(paper.xpath('p[@class="links"]/*')) <= 6


# --- the Atom feed -------------------------------------------------------------------------


def page_url(roundup: Roundup) -> str:
    return BASE + roundup.period.label


def parse_feed(data: bytes) -> etree._Element:
    """The feed as XML, parsed the strict way: no DTD, no entities, no network."""
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"<!DOCTYPE" not in data
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(data, parser)


_FEED_CHILDREN = {"id", "title", "subtitle", "updated", "author", "link", "generator", "entry"}
_ENTRY_CHILDREN = ["id", "title", "updated", "link", "summary", "content"]


def names(parent: etree._Element) -> list[str]:
    """The children's names, each asserted to be in Atom's namespace."""
    qnames = [etree.QName(child) for child in parent]
    assert all(qname.namespace == ATOM_NS for qname in qnames)
    return [qname.localname for qname in qnames]


def check_feed(root: etree._Element, roundups: list[Roundup]) -> list[etree._Element]:
    """RFC 4287's structure: the feed's required elements once each, an entry a roundup with
    its id, title, updated and alternate link; nothing else anywhere. Returns the entries."""
    assert root.tag == f"{A}feed"
    assert set(names(root)) <= _FEED_CHILDREN
    for name in ("id", "title", "updated", "author"):
        assert len(root.findall(f"{A}{name}")) == 1, name
    assert root.findtext(f"{A}id") == FEED
    assert root.findtext(f"{A}author/{A}name") == "paperwire"
    assert [dict(link.attrib) for link in root.findall(f"{A}link")] == [
        {"rel": "self", "type": "application/atom+xml", "href": FEED}
    ]
    datetime.strptime(root.findtext(f"{A}updated") or "", "%Y-%m-%dT%H:%M:%SZ")
    entries = root.findall(f"{A}entry")
    assert len(entries) == len(roundups)
    for entry, roundup in zip(entries, roundups, strict=True):
        children = names(entry)
        assert children == _ENTRY_CHILDREN[: len(children)]
        assert len(children) >= 5
        assert all(len(child) == 0 for child in entry)  # text only: nothing injected inside
        assert entry.findtext(f"{A}id") == page_url(roundup)
        assert entry.findtext(f"{A}title") == page_title(roundup)
        when = datetime.strptime(entry.findtext(f"{A}updated") or "", "%Y-%m-%dT%H:%M:%SZ")
        assert when.replace(tzinfo=UTC) == min(roundup.period.end, UPDATED)
        [alternate] = entry.findall(f"{A}link")
        assert dict(alternate.attrib) == {
            "rel": "alternate",
            "type": "text/html",
            "href": page_url(roundup),
        }
        assert [s.get("type") for s in entry.findall(f"{A}summary")] == ["text"]
        content = entry.find(f"{A}content")
        if roundup.is_empty:
            assert content is None
            continue
        assert content is not None
        assert content.get("type") == "html"
        fragment = lxml.html.fragment_fromstring(content.text or "", create_parent="div")
        assert fragment.xpath("//script | //@*[starts-with(name(), 'on')] | //@src") == []
        own = {url for url in allowed_urls(roundup) if safe_url(url)} | {page_url(roundup)}
        assert set(fragment.xpath("//a/@href")) <= own
    return entries


def test_the_feed_of_two_weeks_is_atom() -> None:
    week = week_roundup()
    earlier = build_roundup([], week_period("2026-W23", "Europe/Paris"), now=WEEK_NOW)
    roundups = [week, earlier]
    data = render_roundup_atom(
        roundups, channel_label=CHANNEL, feed_url=FEED, page_url=page_url, updated=UPDATED
    )
    root = parse_feed(data)
    entries = check_feed(root, roundups)
    assert root.findtext(f"{A}title") == f"Paper roundups · {CHANNEL}"
    assert root.findtext(f"{A}updated") == "2026-06-12T14:00:00Z"
    assert entries[0].findtext(f"{A}title") == "Weekly roundup · 2026-W24 · 8–14 Jun 2026"
    # A week still running is updated now; a past week at its end (Paris midnight, in UTC).
    assert entries[0].findtext(f"{A}updated") == "2026-06-12T14:00:00Z"
    assert entries[1].findtext(f"{A}updated") == "2026-06-07T22:00:00Z"
    assert entries[0].findtext(f"{A}summary") == (
        "The top 15 of 21 papers this week. Contents: 🏗️ Architectures and attention (1) · "
        "🧠 Reasoning and agents (5) · 👁️ Multimodal and vision (4) · "
        "🎯 Fine-tuning and alignment (2) · 📊 Benchmarks and evaluation (1) · "
        "⚡ Efficiency and quantisation (1) · 🛡️ Safety and ethics (1)"
    )
    assert entries[1].findtext(f"{A}summary") == empty_text(earlier.period)
    # The content names the five best papers, best first, each linked to its abstract.
    content = lxml.html.fragment_fromstring(entries[0].findtext(f"{A}content") or "", "div")
    best = sorted(entries_of(week), key=lambda e: -e.score)[:5]
    assert [a.text for a in content.xpath("//li/a")] == [e.title for e in best]
    assert content.xpath("//li/a/@href")[0] == "https://arxiv.org/abs/2606.13392"
    assert content.xpath("//p/a/@href") == [BASE + "2026-W24"]


def test_a_feed_reader_reads_the_feed() -> None:
    feedparser = pytest.importorskip("feedparser")
    week = week_roundup()
    data = render_roundup_atom(
        [week], channel_label=CHANNEL, feed_url=FEED, page_url=page_url, updated=UPDATED
    )
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == f"Paper roundups · {CHANNEL}"
    [entry] = parsed.entries
    assert entry.id == entry.link == BASE + "2026-W24"
    assert entry.title == "Weekly roundup · 2026-W24 · 8–14 Jun 2026"
    assert "MiniMax Sparse Attention" in entry.content[0].value


@settings(max_examples=40, deadline=None)
@given(st.lists(any_roundups, min_size=0, max_size=3), html_text)
def test_hostile_text_cannot_put_anything_into_the_feed(
    roundups: list[Roundup], channel: str
) -> None:
    data = render_roundup_atom(
        roundups, channel_label=channel, feed_url=FEED, page_url=page_url, updated=UPDATED
    )
    root = parse_feed(data)
    check_feed(root, roundups)
    # Every element is one the feed is made of: the feed and its 8 (author's name included),
    # then each entry and its 6 (5 for an empty roundup: no content).
    expected = 1 + 8 + sum(6 if roundup.is_empty else 7 for roundup in roundups)
    assert sum(1 for _ in root.iter()) == expected


def test_the_feed_refuses_what_would_make_it_invalid() -> None:
    week = week_roundup()
    with pytest.raises(ValueError, match="feed_url must be an absolute http"):
        render_roundup_atom(
            [week], channel_label=CHANNEL, feed_url="/x.atom", page_url=page_url, updated=UPDATED
        )
    with pytest.raises(ValueError, match="page_url"):
        render_roundup_atom(
            [week], channel_label=CHANNEL, feed_url=FEED, page_url=lambda r: "x", updated=UPDATED
        )
    with pytest.raises(ValueError, match="UTC-aware"):
        render_roundup_atom(
            [week],
            channel_label=CHANNEL,
            feed_url=FEED,
            page_url=page_url,
            updated=datetime(2026, 6, 12) + timedelta(0),
        )


def test_a_topic_without_a_name_is_other() -> None:
    roundup = week_roundup()
    section = RoundupSection(Topic(name=" \u200b "), roundup.sections[0].entries)
    page = render_roundup_html(
        dataclasses.replace(roundup, sections=(section,)), channel_label=CHANNEL
    )
    dom = lxml.html.document_fromstring(page)
    assert dom.xpath("string(//section/h2)") == "Other\xa0(1)"
