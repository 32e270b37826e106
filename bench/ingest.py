"""Ingest speed: our parse + normalise of real arXiv answers against feedparser's bare parse.

Parses the real 1,504-item listing feed and the 100-entry API answer into domain Papers
(ids canonicalised, authors split and TeX-decoded, text unwrapped), and times feedparser on
the same bytes in the same run, --repeat times each after a warm-up, ours and feedparser's in
alternation so that other load on the machine weighs on both. The last line gives the best
run of each (the one least disturbed by other load); the line before it gives the medians:
``ingest: 1504 items in X ms; feedparser Y ms; ratio Z``.

    python bench/ingest.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.adapters.sources.arxiv_api import parse_api_feed  # noqa: E402 - after the path fix
from bot.adapters.sources.arxiv_rss import parse_listing  # noqa: E402

FIXTURES = REPO.parent / "shared" / "fixtures"


def _interleaved(
    ours: Callable[[], object], theirs: Callable[[], object], repeat: int
) -> tuple[list[float], list[float]]:
    """Run times in ms of each, taken in alternation so a busy machine weighs on both alike."""
    ours()  # warm-up: imports, regex compilation, caches
    theirs()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for run, bucket in ((ours, times[0]), (theirs, times[1])):
            gc.collect()
            start = time.perf_counter()
            run()
            bucket.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure (median)")
    args = parser.parse_args(argv)

    import feedparser  # type: ignore[import-untyped]  # a bench-only dependency without types

    (listing_path,) = sorted((FIXTURES / "arxiv_rss").glob("*_full.xml.gz"))
    (api_path,) = sorted((FIXTURES / "arxiv_api").glob("arxivpy_q_testing_s0_m100_*.xml"))
    listing = gzip.decompress(listing_path.read_bytes())
    api = api_path.read_bytes()
    print(f"listing: {listing_path.name} ({len(listing) / 1e6:.2f} MB)", flush=True)
    print(f"api:     {api_path.name} ({len(api) / 1e3:.0f} kB)", flush=True)

    parsed = parse_listing(listing)
    api_parsed = parse_api_feed(api)
    items = len(parsed.papers) + len(parsed.rejected)
    print(
        f"parsed:  listing {len(parsed.papers)} papers, {len(parsed.rejected)} rejected; "
        f"api {len(api_parsed.papers)} papers",
        flush=True,
    )
    fp_entries = len(feedparser.parse(listing).entries)
    if fp_entries != items:
        print(f"warning: feedparser saw {fp_entries} entries, we saw {items}", file=sys.stderr)

    print(f"timing:  {args.repeat} runs each, alternating ...", flush=True)
    api_ours, api_theirs = _interleaved(
        lambda: parse_api_feed(api), lambda: feedparser.parse(api), args.repeat
    )
    ours, theirs = _interleaved(
        lambda: parse_listing(listing), lambda: feedparser.parse(listing), args.repeat
    )
    med = statistics.median
    print(
        f"api:     100 entries in {min(api_ours):.1f} ms; feedparser {min(api_theirs):.1f} ms; "
        f"ratio {min(api_theirs) / min(api_ours):.1f} (best of {args.repeat})"
    )
    print(
        f"median:  {items} items in {med(ours):.1f} ms; feedparser {med(theirs):.1f} ms; "
        f"ratio {med(theirs) / med(ours):.1f}"
    )
    print(
        f"ingest: {items} items in {min(ours):.1f} ms; feedparser {min(theirs):.1f} ms; "
        f"ratio {min(theirs) / min(ours):.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
