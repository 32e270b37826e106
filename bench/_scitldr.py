"""SciTLDR-A loading and scoring, shared by bench/summary.py and bench/fit_summary.py.

Scoring follows ../shared/data/scitldr/README.md: for each paper, ROUGE F1 of the prediction
against every gold TL;DR, keeping the target with the best ROUGE-1 (the "multi-target max"),
with Google's rouge-score and ``use_stemmer=True``; averaged over papers, times 100.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
SCITLDR = REPO.parent / "shared" / "data" / "scitldr"


@dataclass(frozen=True)
class Paper:
    paper_id: str
    title: str
    source: tuple[str, ...]  # the abstract, one sentence per item (the dataset's split)
    targets: tuple[str, ...]  # gold TL;DRs, the author's first


@dataclass(frozen=True)
class Rouge:
    r1: float
    r2: float
    rl: float

    def __str__(self) -> str:
        return f"R1 {self.r1:.1f} R2 {self.r2:.1f} RL {self.rl:.1f}"


def load(split: str) -> list[Paper]:
    """dev or test; 'test' is for reporting only, never for tuning."""
    path = SCITLDR / f"{split}.jsonl"
    papers = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            papers.append(
                Paper(row["paper_id"], row["title"], tuple(row["source"]), tuple(row["target"]))
            )
    return papers


class Scorer:
    """Multi-target-max ROUGE as the README describes."""

    def __init__(self) -> None:
        # A bench dependency, not the bot's; it ships without type information.
        from rouge_score import rouge_scorer  # type: ignore[import-untyped]

        self._scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)

    def one(self, prediction: str, targets: tuple[str, ...]) -> tuple[float, float, float]:
        """(R1, R2, RL) F1 against the target with the best ROUGE-1."""
        best: tuple[float, float, float] | None = None
        for target in targets:
            s = self._scorer.score(target, prediction)
            scores = (s["rouge1"].fmeasure, s["rouge2"].fmeasure, s["rougeL"].fmeasure)
            if best is None or scores[0] > best[0]:
                best = scores
        return best if best is not None else (0.0, 0.0, 0.0)

    def rouge1(self, prediction: str, targets: tuple[str, ...]) -> float:
        return self.one(prediction, targets)[0]

    def corpus(self, papers: list[Paper], predictions: list[str]) -> Rouge:
        totals = [0.0, 0.0, 0.0]
        for paper, prediction in zip(papers, predictions, strict=True):
            for i, value in enumerate(self.one(prediction, paper.targets)):
                totals[i] += value
        n = max(len(papers), 1)
        return Rouge(*(100 * t / n for t in totals))
