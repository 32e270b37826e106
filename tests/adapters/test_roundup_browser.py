"""The roundup page in a real browser: headless Chromium loads it from a loopback server,
renders it without a console error or CSP violation, and draws it (a screenshot).

Skipped only when no Chromium is installed, and never in CI (see tests/browser.py). Set
PAPERWIRE_TEST_SCREENSHOTS to a folder to keep the screenshot and look at it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import pytest
from aiohttp import web

from bot.adapters.roundup_web import render_roundup_html
from bot.core.models import Link, Roundup, RoundupSection
from tests.adapters.roundup_fixtures import allowed_urls, week_roundup
from tests.adapters.test_roundup_web import HTML_PIECES, clean
from tests.browser import read_png, require_chromium, run_chromium

FEED = "/roundups/7.atom"
CHANNEL = "#reading-group"
WINDOW = (1280, 2000)


@dataclass
class PageServer:
    """Serves pages on 127.0.0.1 and records every request the browser makes."""

    pages: dict[str, str]
    requests: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(f"{request.method} {request.path_qs}")
        page = self.pages.get(request.path)
        if page is None:
            return web.Response(status=404, text="not here")
        return web.Response(body=page.encode("utf-8"), content_type="text/html", charset="utf-8")


@pytest.fixture
async def server() -> AsyncIterator[PageServer]:
    week = render_roundup_html(week_roundup(), channel_label=CHANNEL, feed_url=FEED)
    pages = PageServer({"/roundups/7/2026-W24": week})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", pages.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pages.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield pages
    finally:
        await runner.cleanup()


async def test_chromium_draws_the_week_without_an_error(server: PageServer, tmp_path: Path) -> None:
    chromium = require_chromium()
    shot = tmp_path / "roundup-week.png"
    run = await run_chromium(
        chromium,
        f"{server.url}/roundups/7/2026-W24",
        [f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}"],
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.console == []  # no error, no CSP violation, no failed load: nothing at all
    png = read_png(shot.read_bytes())
    assert (png.width, png.height) == WINDOW
    assert png.distinct_rows > 200  # text drawn down the page, not a blank or error page
    assert shot.stat().st_size > 50_000
    # The page asked for nothing else: no favicon, no font, no style sheet.
    assert server.requests == ["GET /roundups/7/2026-W24"]
    keep = os.environ.get("PAPERWIRE_TEST_SCREENSHOTS")
    if keep:
        shutil.copy(shot, Path(keep) / shot.name)


async def test_chromium_builds_the_page_as_written(server: PageServer) -> None:
    chromium = require_chromium()
    run = await run_chromium(chromium, f"{server.url}/roundups/7/2026-W24", ["--dump-dom"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.console == []
    dom = lxml.html.document_fromstring(run.stdout.decode("utf-8"))
    roundup = week_roundup()
    entries = [entry for section in roundup.sections for entry in section.entries]
    # Every paper, in reading order, numbered, its title linked to its abstract.
    papers = dom.xpath('//li[@class="paper"]')
    assert [p.xpath("string(h3/a)") for p in papers] == [e.title for e in entries]
    assert [p.xpath("string(h3/span)") for p in papers] == [
        f"{n}." for n in range(1, len(entries) + 1)
    ]
    assert [p.xpath("string(h3/a/@href)") for p in papers] == [
        f"https://arxiv.org/abs/{e.arxiv_id}" for e in entries
    ]
    # The browser saw every link we wrote, and no other.
    hrefs = set(dom.xpath("//a/@href"))
    anchors = {href for href in hrefs if href.startswith("#")}
    assert hrefs - anchors == allowed_urls(roundup) | {FEED}
    assert {f"#{id_}" for id_ in dom.xpath("//section/@id")} == anchors
    assert dom.xpath("//script | //@*[starts-with(name(), 'on')]") == []
    assert dom.findtext(".//title") == f"Weekly roundup · 2026-W24 · 8–14 Jun 2026 · {CHANNEL}"
    # The DOM a browser built from the page has the same papers as the page we wrote.
    page = lxml.html.document_fromstring(server.pages["/roundups/7/2026-W24"])
    assert [p.text_content() for p in page.xpath('//li[@class="paper"]')] == [
        p.text_content() for p in papers
    ]


def hostile_week() -> Roundup:
    """The week with HTML and XML aimed at the page in every text field and a bad link."""
    roundup = week_roundup()
    pieces = iter(HTML_PIECES * 4)
    sections = []
    for section in roundup.sections:
        entries = tuple(
            dataclasses.replace(
                entry,
                title=f"{next(pieces)} {entry.title}",
                authors_line=f"{next(pieces)} {entry.authors_line}",
                tldr=f"{entry.tldr} {next(pieces)}",
                insights=tuple(f"{next(pieces)} {insight}" for insight in entry.insights),
                links=(*entry.links[:2], Link("Code", "javascript:alert(1)")),
            )
            for entry in section.entries
        )
        topic = dataclasses.replace(section.topic, name=f"{section.topic.name} {next(pieces)}")
        sections.append(RoundupSection(topic, entries))
    return dataclasses.replace(roundup, sections=tuple(sections))


async def test_chromium_runs_nothing_the_text_holds_and_reports_what_was_put_in(
    server: PageServer,
) -> None:
    """Hostile paper text stays text in a real browser's parser; and the console check can
    fail: markup put into the page afterwards (a script, a handler, an image, a style sheet)
    makes Chromium log CSP violations, runs none of it, and fetches nothing."""
    chromium = require_chromium()
    roundup = hostile_week()
    page = render_roundup_html(roundup, channel_label='<b onclick="x()">#x</b>', feed_url=FEED)
    injected = (
        '<script>console.log("PAPERWIRE-SCRIPT-RAN")</script>'
        f'<img src="{server.url}/pixel.png" onerror="console.log(\'PAPERWIRE-HANDLER-RAN\')">'
        '<link rel="stylesheet" href="/sheet.css">'
    )
    server.pages["/tampered"] = page.replace("</main>", injected + "</main>")
    run = await run_chromium(chromium, f"{server.url}/tampered", ["--dump-dom"])
    assert run.returncode == 0, run.stderr[-2000:]
    console = "\n".join(run.console)
    assert "RAN" not in console
    for blocked in ("inline script", "inline event handler", "stylesheet", "image"):
        assert blocked in console, console
    assert all("Content Security Policy" in message for message in run.console), console
    assert server.requests == ["GET /tampered"]
    # The browser's DOM holds the text as text: every title, and no element of its making.
    dom = lxml.html.document_fromstring(run.stdout.decode("utf-8"))
    entries = [entry for section in roundup.sections for entry in section.entries]
    titles = [p.xpath("string(h3)") for p in dom.xpath('//li[@class="paper"]')]
    assert titles == [f"{n}.{clean(e.title)}" for n, e in enumerate(entries, start=1)]
    assert len(dom.xpath("//script")) == 1  # the one put in
    assert dom.xpath("//b | //svg | //base | //body//meta | //iframe") == []
    assert dom.xpath("//a[starts-with(@href, 'javascript:')]") == []
