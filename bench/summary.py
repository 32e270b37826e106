"""The extractive TL;DR on SciTLDR-A: ROUGE against Lead-1, and abstracts per second.

Scores bot.core.summarize on dev and test (../shared/data/scitldr/, scored as its README says:
multi-target max, rouge-score with stemming), with the first abstract sentence (Lead-1) beside
it; the summarizer gets the dataset's own sentence split through ``summarize_sentences``.
Speed is the full ``summarize(title, abstract)`` path (cleaning, sentence splitting, scoring,
compression, key points) over every dev and test abstract, pinned to one core, scoring
excluded: the median of --repeat passes, by the process's CPU time (the figure in the last
line) and by wall clock. The weights were fitted on dev only (bench/fit_summary.py).
The last line is: ``scitldr test: R1 A R2 B RL C (lead-1 R1 D); N abstracts/s``.

    python bench/summary.py [--repeat 5] [--show 0]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

from _scitldr import Paper, Rouge, Scorer, load

from bot.core.summarize import summarize, summarize_sentences


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[0]})


def score(scorer: Scorer, papers: list[Paper]) -> tuple[Rouge, Rouge, list[str]]:
    ours = [summarize_sentences(p.title, p.source).tldr for p in papers]
    lead = [p.source[0] for p in papers]
    return scorer.corpus(papers, ours), scorer.corpus(papers, lead), ours


def throughput(papers: list[Paper], repeat: int) -> tuple[float, float]:
    """Abstracts per second through summarize(title, abstract): by CPU time and by wall clock.

    Each is the median of `repeat` passes over every abstract. CPU time counts only what this
    process ran on its one core, so other work on a shared machine does not lower it; the
    wall-clock figure is printed beside it.
    """
    inputs = [(p.title, " ".join(p.source)) for p in papers]
    for title, abstract in inputs:  # warm-up: regex compilation, caches
        summarize(title, abstract)
    cpu_rates, wall_rates = [], []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        wall, cpu = time.perf_counter(), time.process_time()
        for title, abstract in inputs:
            summarize(title, abstract)
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        gc.enable()
        cpu_rates.append(len(inputs) / cpu)
        wall_rates.append(len(inputs) / wall)
    return statistics.median(cpu_rates), statistics.median(wall_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes (median reported)")
    parser.add_argument("--show", type=int, default=0, help="print N dev examples")
    parser.add_argument(
        "--dev-only", action="store_true", help="while tuning: score dev only, skip test"
    )
    args = parser.parse_args()
    _pin_to_one_core()
    scorer = Scorer()
    dev = load("dev")
    test = [] if args.dev_only else load("test")
    results = {}
    splits = [("dev", dev)] if args.dev_only else [("dev", dev), ("test", test)]
    for name, papers in splits:
        ours, lead, predictions = score(scorer, papers)
        results[name] = (ours, lead)
        print(f"{name:4s} ({len(papers)} abstracts)  lead-1: {lead}   ours: {ours}")
        if name == "dev":
            for paper, prediction in list(zip(papers, predictions, strict=True))[: args.show]:
                print(f"  title: {paper.title}\n  ours:  {prediction}\n  gold:  {paper.targets[0]}")
    rate, wall_rate = throughput(dev + test, args.repeat)
    print(
        f"speed on one core: {rate:,.0f} abstracts/s by CPU time, "
        f"{wall_rate:,.0f} abstracts/s by wall clock ({len(dev) + len(test)} abstracts)"
    )
    if args.dev_only:
        return
    ours, lead = results["test"]
    print(
        f"scitldr test: R1 {ours.r1:.1f} R2 {ours.r2:.1f} RL {ours.rl:.1f} "
        f"(lead-1 R1 {lead.r1:.1f}); {rate:,.0f} abstracts/s"
    )


if __name__ == "__main__":
    main()
