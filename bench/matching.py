"""Matching speed: 10,000 papers x 10,000 and 100,000 subscriptions through the index, vs naive.

Papers come from the real fixtures (the 1,504-item listing feed and the API answers, parsed by
our adapters, and the Hugging Face Daily Papers lists), then are re-used under new ids until
there are 10,000: each variant keeps a real title, abstract and categories and takes the
authors of another real paper from the same archive; about 3% more get Hugging Face signals
drawn from the real HF papers (upvotes, ai_keywords).

Subscriptions come in the shapes of SHAPES (categories alone 12%, category + keyword 28%,
phrase + exclusion 15%, author 12%, OR groups 15%, upvote floors 10%, keyword alone 8%), drawn
from the real vocabulary, authors and categories; every choice is weighted by the square root
of how often it occurs (popular topics draw more subscribers, but not proportionally), ML
categories count double, and keywords are topic words (in at most 3% of papers). The run
prints what each shape receives per listing day, so the load can be judged.

Each index (10k, then 100k subscriptions; one alive at a time, built with the real papers as
its sample of key frequencies) matches all papers; each figure is the best wall time of
--repeat runs, after a warm-up run. The naive loop (Query.matches for every pair, one shared
PaperView per paper, which flatters it) runs on --naive-sample papers and is extrapolated; on
that sample the index must return exactly what the naive loop returns (compared sorted: the
index returns ids in no particular order; exit 1 otherwise).
The last line is:
``matching: 10000 papers x 100000 subscriptions in X s (10000 subs: Y s; naive estimate Z s);
peak RSS M MB``.

    python bench/matching.py [--papers 10000] [--subs 100000] [--naive-sample 200]
"""

from __future__ import annotations

import argparse
import functools
import gc
import gzip
import itertools
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.adapters.sources.arxiv_api import parse_api_feed  # noqa: E402 - after the path fix
from bot.adapters.sources.arxiv_rss import parse_listing  # noqa: E402
from bot.adapters.sources.hf_daily import parse_daily  # noqa: E402
from bot.core.matching import SubscriptionIndex  # noqa: E402
from bot.core.models import Paper  # noqa: E402
from bot.core.query import PaperView, Query, QueryError, parse_query, stem, words  # noqa: E402
from bot.services.ports import SourceError  # noqa: E402

FIXTURES = REPO.parent / "shared" / "fixtures"
SEED = 20241128
T = TypeVar("T")

_STOP_TEXT = (
    "a an and are as at be by can for from has have in into is it its of on or our over that "
    "the their this to towards under using via we what when which with without new based "
    "toward through than these those not study approach method methods paper results show"
)
STOPWORDS = frozenset(_STOP_TEXT.split())
ML_CATEGORIES = frozenset(
    {"cs.LG", "cs.CL", "cs.AI", "cs.CV", "stat.ML", "cs.RO", "cs.IR", "cs.NE", "cs.CR", "cs.SE"}
)
NEGATIONS = [
    "-survey",
    "-review",
    "-cat:cs.CV",
    '-"large language"',
    "-benchmark",
    "-ti:position",
    "-cat:quant-ph",
]


# --- papers -------------------------------------------------------------------------------


def load_real_papers() -> tuple[list[Paper], list[Paper], int]:
    """The fixtures' papers: arXiv papers (listing, then API), HF Daily papers, listing size."""
    (listing,) = sorted((FIXTURES / "arxiv_rss").glob("*_full.xml.gz"))
    papers = list(parse_listing(gzip.decompress(listing.read_bytes())).papers)
    day = len(papers)
    for path in sorted((FIXTURES / "arxiv_api").rglob("*.xml")):
        try:
            papers.extend(parse_api_feed(path.read_bytes()).papers)
        except SourceError as exc:  # arXiv's 400 error feed is one of the fixtures
            print(f"  (skipped {path.name}: {exc})", flush=True)
    hf: list[Paper] = []
    for path in sorted((FIXTURES / "hf_daily_papers").glob("*.json")):
        hf.extend(parse_daily(path.read_bytes()).papers)
    unique = {p.arxiv_id: p for p in papers}
    hf_unique = {p.arxiv_id: p for p in hf if p.arxiv_id not in unique}
    return list(unique.values()), list(hf_unique.values()), day


def archive(paper: Paper) -> str:
    return (paper.primary_category or "").partition(".")[0]


def derive_papers(
    arxiv: list[Paper], hf: list[Paper], count: int, rng: random.Random
) -> list[Paper]:
    """The real papers, then variants under new ids until there are ``count``."""
    pool = arxiv + hf
    signals = [p.hf for p in hf if p.hf is not None]
    keywords = [k for s in signals for k in s.ai_keywords]
    by_archive: dict[str, list[Paper]] = {}
    for p in pool:
        by_archive.setdefault(archive(p), []).append(p)
    papers = pool[:count]
    n = len(papers)
    while len(papers) < count:
        base = rng.choice(pool)
        donor = rng.choice(by_archive[archive(base)])
        hf_signals = base.hf
        if hf_signals is None and rng.random() < 0.03:
            hf_signals = replace(
                rng.choice(signals),
                upvotes=rng.choice(signals).upvotes,
                ai_keywords=tuple(rng.sample(keywords, k=min(4, len(keywords)))),
            )
        sources = {"arxiv"} | ({"hf"} if hf_signals is not None else set())
        papers.append(
            replace(
                base,
                arxiv_id=f"2412.{n:05d}",
                authors=donor.authors,
                hf=hf_signals,
                sources=frozenset(sources),
            )
        )
        n += 1
    return papers


# --- subscriptions ------------------------------------------------------------------------


class Vocabulary:
    """Words, phrases, authors and categories of the real papers, with their frequencies."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        word_df: Counter[str] = Counter()
        body_df: Counter[str] = Counter()  # by stem, in titles and abstracts: what a word matches
        bigrams: Counter[str] = Counter()
        categories: Counter[str] = Counter()
        self.authors: list[str] = []
        self.hf_keywords: list[str] = []
        for p in papers:
            title = [w for w in words(p.title) if w.isalpha()]
            word_df.update({w for w in title if len(w) > 3 and w not in STOPWORDS})
            body_df.update({stem(w) for w in words(p.title) + words(p.abstract)})
            bigrams.update(
                {
                    f"{a} {b}"
                    for a, b in itertools.pairwise(title)
                    if a not in STOPWORDS and b not in STOPWORDS and len(a) > 2 and len(b) > 2
                }
            )
            categories.update(p.categories)
            self.authors.extend(a.name for a in p.authors if len(words(a.name)) >= 2)
            if p.hf is not None:
                self.hf_keywords.extend(p.hf.ai_keywords)
        # Popularity: a topic draws subscribers as its community grows, more slowly than its
        # paper count; every choice below is weighted by the square root of its frequency.
        # People subscribe to topic words, not to "model" or "learning": title words seen in
        # at least two titles and (stemmed) in at most 3% of titles and abstracts.
        ceiling = 0.03 * len(papers)
        self.words, self.word_weights = _weighted(
            Counter({w: n for w, n in word_df.items() if n >= 2 and body_df[stem(w)] <= ceiling})
        )
        self.phrases, self.phrase_weights = _weighted(
            Counter({k: v for k, v in bigrams.items() if v >= 2})
        )
        # categories: by papers, and this bot's audience leans to machine learning (x2)
        self.categories = list(categories)
        self.category_weights = [
            n**0.5 * (2.0 if c in ML_CATEGORIES else 1.0) for c, n in categories.items()
        ]
        self.archives = sorted({c.partition(".")[0] for c in categories})

    def word(self, rng: random.Random) -> str:
        return rng.choices(self.words, self.word_weights)[0]

    def phrase(self, rng: random.Random) -> str:
        return '"' + rng.choices(self.phrases, self.phrase_weights)[0] + '"'

    def term(self, rng: random.Random) -> str:
        return self.phrase(rng) if rng.random() < 0.35 else self.word(rng)

    def category(self, rng: random.Random) -> str:
        if rng.random() < 0.03:  # a whole archive
            return "cat:" + rng.choice(["cs", "cs", "stat", "math", "physics", *self.archives])
        return "cat:" + rng.choices(self.categories, self.category_weights)[0]

    def author(self, rng: random.Random) -> str:
        parts = words(rng.choice(self.authors))
        if rng.random() < 0.2:  # a surname alone: people soon learn to give the first name
            return "au:" + parts[-1]
        return f'au:"{parts[0]} {parts[-1]}"'


def _category_only(vocab: Vocabulary, rng: random.Random) -> str:
    return vocab.category(rng)


def _category_keyword(vocab: Vocabulary, rng: random.Random) -> str:
    text = f"{vocab.category(rng)} {vocab.term(rng)}"
    return text + (" " + rng.choice(NEGATIONS) if rng.random() < 0.3 else "")


def _phrase_exclusion(vocab: Vocabulary, rng: random.Random) -> str:
    field = rng.choice(["", "", "ti:", "abs:"])
    return f"{field}{vocab.phrase(rng)} {rng.choice(NEGATIONS)}"


def _author(vocab: Vocabulary, rng: random.Random) -> str:
    author = vocab.author(rng)
    return author if rng.random() < 0.7 else f"{author} {vocab.category(rng)}"


def _or_group(vocab: Vocabulary, rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return f"({vocab.term(rng)} OR {vocab.term(rng)}) {vocab.category(rng)}"
    if kind < 0.7:
        return " | ".join(vocab.term(rng) for _ in range(rng.randint(2, 4)))
    if kind < 0.85:
        return f"{vocab.category(rng)} OR {vocab.category(rng)}"
    return f"{vocab.author(rng)} OR {vocab.author(rng)}"


def _upvotes(vocab: Vocabulary, rng: random.Random) -> str:
    floor = rng.choice([5, 10, 10, 20, 20, 50, 100])
    kind = rng.random()
    if kind < 0.3:
        return f"upvotes>={floor}"
    if kind < 0.6:
        return f"{vocab.category(rng)} upvotes>={floor}"
    if kind < 0.8:
        return f"source:hf {vocab.term(rng)}"
    return f"kw:{vocab.word(rng)} upvotes>={floor}"


def _keyword(vocab: Vocabulary, rng: random.Random) -> str:
    return rng.choice(["", "", "ti:", "kw:"]) + vocab.word(rng)


# (shape, share of subscriptions, generator): most channels narrow a category down; a
# category on its own is a firehose of 50-150 cards a day, which few channels keep
SHAPES: list[tuple[str, float, Callable[[Vocabulary, random.Random], str]]] = [
    ("category", 0.12, _category_only),
    ("category+keyword", 0.28, _category_keyword),
    ("phrase-exclusion", 0.15, _phrase_exclusion),
    ("author", 0.12, _author),
    ("or-group", 0.15, _or_group),
    ("upvotes", 0.10, _upvotes),
    ("keyword", 0.08, _keyword),
]


def generate_subscription(vocab: Vocabulary, rng: random.Random) -> tuple[str, str]:
    """A (shape, query text) pair drawn from SHAPES."""
    shape, _, make = rng.choices(SHAPES, [share for _, share, _ in SHAPES])[0]
    return shape, make(vocab, rng)


# --- measuring ----------------------------------------------------------------------------


def _weighted(counts: Counter[str]) -> tuple[list[str], list[float]]:
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # same order every run
    return [k for k, _ in items], [v**0.5 for _, v in items]


def best_of(run: Callable[[], T], repeat: int) -> tuple[float, float, T]:
    """The best wall time of ``repeat`` runs, that run's CPU time, and the last result."""
    best, cpu, result = float("inf"), 0.0, None
    for _ in range(repeat):
        result = None  # one result alive at a time: memory is measured too
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall = time.perf_counter() - start
        if wall < best:
            best, cpu = wall, time.process_time() - start_cpu
    assert result is not None
    return best, cpu, result


def naive(
    papers: Sequence[Paper], subs: Sequence[tuple[int, Query]]
) -> tuple[float, list[list[int]]]:
    """Every query on every paper (one PaperView per paper, shared), timed."""
    start = time.perf_counter()
    out = []
    for paper in papers:
        view = PaperView(paper)
        out.append([sid for sid, q in subs if q.matches(view)])
    return time.perf_counter() - start, out


def print_shapes(shapes: list[str], naive_out: list[list[int]], papers: int, day: int) -> None:
    """How much each shape of subscription receives: cards per subscription per listing day."""
    per_shape = Counter(shapes)
    hits: Counter[str] = Counter()
    for matched in naive_out:
        hits.update(shapes[sid - 1] for sid in matched)
    for shape, _, _ in SHAPES:
        rate = hits[shape] / (per_shape[shape] * papers) if per_shape[shape] else 0.0
        print(
            f"  shape {shape:17} {per_shape[shape] / len(shapes):4.0%} of subscriptions, "
            f"each matches {rate:6.2%} of papers ({rate * day:5.1f} cards per {day}-paper day)",
            flush=True,
        )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--subs", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="the smaller subscription set")
    parser.add_argument("--naive-sample", type=int, default=200, help="papers in the naive loop")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure (best)")
    args = parser.parse_args(argv)
    rng = random.Random(SEED)

    arxiv, hf, day = load_real_papers()
    papers = derive_papers(arxiv, hf, args.papers, rng)
    with_hf = sum(p.hf is not None for p in papers)
    print(
        f"papers:  {len(arxiv)} real arXiv + {len(hf)} real HF papers -> {len(papers)} "
        f"({with_hf} with HF signals)",
        flush=True,
    )

    vocab = Vocabulary(arxiv + hf)
    typed = [generate_subscription(vocab, rng) for _ in range(args.subs)]
    start = time.perf_counter()
    queries: list[Query] = []
    shapes: list[str] = []
    refused = 0
    for shape, text in typed:
        while True:  # a person told "x is both required and excluded" types another query
            try:
                queries.append(parse_query(text))
                shapes.append(shape)
                break
            except QueryError:
                refused += 1
                shape, text = generate_subscription(vocab, rng)
    parse_s = time.perf_counter() - start
    del typed
    subs = list(enumerate(queries, start=1))
    small = subs[: args.small]
    distinct = len({q.normalized for q in queries})
    print(
        f"queries: {len(subs)} parsed in {parse_s:.2f} s ({distinct} distinct, "
        f"{refused} refused and retyped; RSS so far {peak_rss_mb():.0f} MB), e.g. "
        + "; ".join(q.normalized for q in queries[:6]),
        flush=True,
    )

    sample = arxiv + hf  # real recent papers: how common each word, author, category is
    picked = rng.sample(papers, args.naive_sample)
    timings: dict[str, float] = {}
    on_picked: dict[str, dict[str, list[int]]] = {}
    for label, chosen in (("small", small), ("large", subs)):  # one index alive at a time
        start = time.perf_counter()
        index = SubscriptionIndex(chosen, sample=sample)
        print(
            f"index:   {len(chosen)} subscriptions built in {time.perf_counter() - start:.2f} s "
            f"(RSS so far {peak_rss_mb():.0f} MB): {index.stats}",
            flush=True,
        )
        if label == "small":
            index.match_many(papers)  # warm-up: stem cache and category memo, as in a running bot
        timings[label], cpu, result = best_of(
            functools.partial(index.match_many, papers), args.repeat
        )
        found = sum(map(len, result.values()))
        print(
            f"match:   {len(papers)} papers x {len(chosen)} subs: {timings[label]:.3f} s "
            f"(best of {args.repeat}; CPU {cpu:.3f} s); {found} matches "
            f"({found / len(papers):.0f} per paper, "
            f"{sum(1 for v in result.values() if v)} papers matched; "
            f"RSS so far {peak_rss_mb():.0f} MB)",
            flush=True,
        )
        on_picked[label] = {p.arxiv_id: sorted(result[p.arxiv_id]) for p in picked}  # any order
        del index, result
    y, x = timings["small"], timings["large"]

    naive_s, naive_out = naive(picked, subs)
    naive_small_s, naive_small_out = naive(picked, small)
    scale = len(papers) / len(picked)
    z, z_small = naive_s * scale, naive_small_s * scale
    print(
        f"naive:   {len(picked)} papers x {len(subs)} subs in {naive_s:.2f} s -> estimate "
        f"{z:.0f} s for all; x {len(small)} subs in {naive_small_s:.2f} s -> estimate "
        f"{z_small:.0f} s",
        flush=True,
    )
    wrong = 0
    for paper, expected, expected_small in zip(picked, naive_out, naive_small_out, strict=True):
        got = on_picked["large"][paper.arxiv_id]
        got_small = on_picked["small"][paper.arxiv_id]
        if got != expected or got_small != expected_small:
            wrong += 1
            if wrong <= 3:
                missing = sorted(set(expected) - set(got))[:5]
                extra = sorted(set(got) - set(expected))[:5]
                print(
                    f"MISMATCH {paper.arxiv_id}: missing {missing} extra {extra}", file=sys.stderr
                )
    checked = sum(map(len, naive_out))
    print(
        f"check:   index == naive on {len(picked)} papers ({checked} matches): "
        + ("ok" if not wrong else f"{wrong} papers differ"),
        flush=True,
    )
    print_shapes(shapes, naive_out, len(picked), day)
    print(f"ratio:   100k/10k time {x / y:.2f}; naive/index {z / x:.0f}x", flush=True)
    print(
        f"matching: {len(papers)} papers x {len(subs)} subscriptions in {x:.2f} s "
        f"({len(small)} subs: {y:.2f} s; naive estimate {z:.0f} s); peak RSS {peak_rss_mb():.0f} MB"
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
