"""Fit the extractive summarizer's weights on SciTLDR-A dev (never on test).

bot.core.summarize scores each abstract sentence with two linear models (see its comments):

- the sentence model: a ridge regression of each sentence's ROUGE-1 F1 (compressed as the
  summarizer would, against the paper's gold TL;DRs, multi-target max) on the features of
  ``_FEATURE_NAMES``;
- the word model: a ridge regression (a linear probability model) of "this word of the
  abstract appears in a gold TL;DR" on ``_WORD_FEATURE_NAMES``, plus one weight for each of
  the --vocabulary most frequent word stems of the dev abstracts.

The blend (the word model's weight and length constant) is chosen from a small grid by
cross-validation on dev (5 folds x 3 shuffles), which also reports how well the picks
generalise. With --write the weights fitted on all of dev replace the block between the
"BEGIN/END FITTED WEIGHTS" markers in bot/core/summarize.py (byte for byte the same on every
run). What else was tried on dev, and what it was worth, is bench/research_summary.py.

    python bench/fit_summary.py [--write]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np
from _scitldr import REPO, Scorer, load

from bot.core import summarize as sm

MODULE = REPO / "bot" / "core" / "summarize.py"
BLEND_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4)
BLEND_LENGTHS = (8.0, 12.0, 20.0)


@dataclass
class Doc:
    features: np.ndarray  # sentences x _FEATURE_NAMES
    rouge: np.ndarray  # each sentence's ROUGE-1 (the sentence model's target)
    words: np.ndarray  # word occurrences x (_WORD_FEATURE_NAMES + vocabulary one-hot)
    in_gold: np.ndarray  # each occurrence: is the word in a gold TL;DR (the word model's target)
    sentence_of: np.ndarray  # each occurrence: its sentence
    lengths: np.ndarray  # words per sentence


def build(vocabulary_size: int) -> tuple[list[Doc], list[str]]:
    scorer = Scorer()
    papers = load("dev")
    prepared = [(p, sm._prepare(p.source)) for p in papers]
    prepared = [(p, s) for p, s in prepared if s]
    frequent = Counter(stem for _, ss in prepared for s in ss for stem in s.stems)
    vocabulary = [stem for stem, _ in frequent.most_common(vocabulary_size)]
    index = {stem: i for i, stem in enumerate(vocabulary)}
    width = len(sm._WORD_FEATURE_NAMES)
    docs = []
    for paper, sentences in prepared:
        shared, counts = sm._word_stats(sentences)
        word_rows = sm._word_features(paper.title, sentences, shared, counts)
        gold = {sm._stem(w) for t in paper.targets for w in sm._WORD.findall(t.lower())}
        rows, labels, owners = [], [], []
        for i, sentence in enumerate(sentences):
            for stem in sentence.stems:
                row = np.zeros(width + len(vocabulary))
                row[:width] = word_rows[stem]
                if stem in index:
                    row[width + index[stem]] = 1.0
                rows.append(row)
                labels.append(1.0 if stem in gold else 0.0)
                owners.append(i)
        docs.append(
            Doc(
                features=np.array(sm._features(paper.title, sentences, shared), dtype=float),
                rouge=np.array(
                    [scorer.rouge1(sm._compress(s.text), paper.targets) for s in sentences]
                ),
                words=np.array(rows).reshape(len(rows), width + len(vocabulary)),
                in_gold=np.array(labels),
                sentence_of=np.array(owners, dtype=int),
                lengths=np.array([len(s.stems) for s in sentences], dtype=float),
            )
        )
    return docs, vocabulary


def ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> np.ndarray:
    shrink = penalty * np.eye(x.shape[1])
    shrink[0, 0] = 0.0  # the bias is not shrunk
    return np.linalg.solve(x.T @ x + shrink, x.T @ y)


def fit(docs: list[Doc]) -> tuple[np.ndarray, np.ndarray]:
    sentence = ridge(
        np.vstack([d.features for d in docs]), np.concatenate([d.rouge for d in docs]), 1.0
    )
    word = ridge(
        np.vstack([d.words for d in docs]), np.concatenate([d.in_gold for d in docs]), 10.0
    )
    return sentence, word


def expected_overlap(doc: Doc, word: np.ndarray, length: float) -> np.ndarray:
    p = doc.words @ word
    sums = np.bincount(doc.sentence_of, weights=p, minlength=len(doc.rouge))
    return 2 * sums / (doc.lengths + length)


def picked(
    docs: list[Doc], sentence: np.ndarray, word: np.ndarray, blend: float, length: float
) -> float:
    """Mean ROUGE-1 (x100) of the picked sentences (the first on ties, as at run time)."""
    total = 0.0
    for doc in docs:
        score = doc.features @ sentence
        if blend:
            score = score + blend * expected_overlap(doc, word, length)
        total += doc.rouge[int(np.argmax(score))]
    return 100 * total / len(docs)


def cross_validate(docs: list[Doc]) -> dict[tuple[float, float], float]:
    grid = list(itertools.product(BLEND_WEIGHTS, BLEND_LENGTHS))
    results: dict[tuple[float, float], list[float]] = {g: [] for g in grid}
    n = len(docs)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(n)
        totals = dict.fromkeys(grid, 0.0)
        for fold in np.array_split(order, 5):
            held = set(fold.tolist())
            sentence, word = fit([docs[i] for i in range(n) if i not in held])
            test = [docs[i] for i in fold]
            for blend, length in grid:
                totals[(blend, length)] += picked(test, sentence, word, blend, length) * len(test)
        for g in grid:
            results[g].append(totals[g] / n)
    return {g: float(np.mean(v)) for g, v in results.items()}


def write_weights(
    sentence: np.ndarray, word: np.ndarray, vocabulary: list[str], blend: float, length: float
) -> None:
    width = len(sm._WORD_FEATURE_NAMES)
    vocab = [
        f"    {json.dumps(stem)}: {value:+.6f},"
        for stem, value in zip(vocabulary, word[width:], strict=True)
    ]
    lines = [
        "# BEGIN FITTED WEIGHTS (written by bench/fit_summary.py; do not edit by hand)",
        "# Ridge regressions on SciTLDR-A dev; the blend was chosen by cross-validation there.",
        "_WEIGHTS: tuple[float, ...] = (",
        *(f"    {v:+.6f},  # {n}" for n, v in zip(sm._FEATURE_NAMES, sentence, strict=True)),
        ")",
        "_WORD_WEIGHTS: tuple[float, ...] = (",
        *(f"    {v:+.6f},  # {n}" for n, v in zip(sm._WORD_FEATURE_NAMES, word, strict=False)),
        ")",
        "_WORD_VOCABULARY: dict[str, float] = {",
        *vocab,
        "}",
        f"_WORD_MODEL_WEIGHT = {blend!r}",
        f"_WORD_MODEL_LENGTH = {length!r}",
        "# END FITTED WEIGHTS",
    ]
    source = MODULE.read_text(encoding="utf-8")
    block = re.compile(r"# BEGIN FITTED WEIGHTS.*?# END FITTED WEIGHTS", re.DOTALL)
    if not block.search(source):
        sys.exit(f"{MODULE}: the FITTED WEIGHTS markers are missing")
    MODULE.write_text(block.sub(lambda _: "\n".join(lines), source, count=1), encoding="utf-8")
    print(f"wrote the weights into {MODULE.relative_to(REPO)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocabulary", type=int, default=100, help="word stems with own weight")
    parser.add_argument("--write", action="store_true", help="write the weights into the module")
    args = parser.parse_args()
    docs, vocabulary = build(args.vocabulary)
    oracle = 100 * float(np.mean([d.rouge.max() for d in docs]))
    lead = 100 * float(np.mean([d.rouge[0] for d in docs]))
    print(f"dev: {len(docs)} abstracts; first sentence {lead:.2f}, best sentence {oracle:.2f} (R1)")
    results = cross_validate(docs)
    print("cross-validated R1 of the pick (5 folds x 3), by word-model weight and length:")
    for (blend, length), value in sorted(results.items()):
        print(f"  weight {blend:.1f} length {length:4.0f}: {value:.2f}")
    (blend, length), best = max(results.items(), key=lambda kv: (round(kv[1], 2), -kv[0][0]))
    print(f"chosen: weight {blend} length {length} (cross-validated R1 {best:.2f})")
    sentence, word = fit(docs)
    print(f"fitted on all of dev: R1 {picked(docs, sentence, word, blend, length):.2f}")
    if args.write:
        write_weights(sentence, word, vocabulary, blend, length)


if __name__ == "__main__":
    main()
