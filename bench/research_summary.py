"""What the extractive TL;DR could still gain on SciTLDR-A dev, and what each idea is worth.

Issue 4 asks for R1 >= 44.0 on SciTLDR-A test; bot.core.summarize, as fitted by
bench/fit_summary.py, scores 42.86 cross-validated on dev. This script measures, on dev only
(it never opens test): the headroom of compressing the picked sentence and of re-ranking
(oracles), then, by the cross-validation fit_summary.py uses (5 folds x 3 shuffles, the models
refitted on the training folds each time), the R1 each idea actually reaches. Every figure it
prints is a dev figure, scored as bench/_scitldr.py scores (multi-target max, rouge-score's
tokenizer and Porter stemmer; a self-check compares the two).

Stacked experiments (a second model over the first one's scores) use out-of-fold scores of the
fitted summarizer, so the second model never sees scores fitted on its own test fold.

    python bench/research_summary.py
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import numpy as np
from _scitldr import Scorer, load
from fit_summary import ridge

from bot.core import summarize as sm

SEEDS, FOLDS = 3, 5
BLEND, BLEND_LENGTH = 0.4, 12.0  # what fit_summary.py chose

# --------------------------------------------------------------------------------------------
# Exact multi-target-max ROUGE-1, fast enough for tens of thousands of candidates


class Rouge1:
    """rouge-score's ROUGE-1 F1 (its tokenizer, Porter stemming) with the stems memoised."""

    def __init__(self) -> None:
        # Bench dependencies (through rouge-score); both ship without type information.
        from nltk.stem import porter  # type: ignore[import-untyped]
        from rouge_score import tokenize  # type: ignore[import-untyped]

        stemmer = porter.PorterStemmer()

        class _Cached:
            stem = staticmethod(lru_cache(maxsize=None)(stemmer.stem))

        self._tokenize: Callable[[str], list[str]] = lambda text: tokenize.tokenize(text, _Cached)

    def tokens(self, text: str) -> list[str]:
        return list(self._tokenize(text))

    def gold(self, targets: tuple[str, ...]) -> list[Counter[str]]:
        return [Counter(self.tokens(t)) for t in targets]

    def score(self, prediction: str, gold: list[Counter[str]]) -> float:
        pred = Counter(self.tokens(prediction))
        n = sum(pred.values())
        best = 0.0
        for target in gold:
            overlap = sum((pred & target).values())
            if overlap:
                best = max(best, 2 * overlap / (n + sum(target.values())))
        return best


# --------------------------------------------------------------------------------------------
# Candidate compressions: cut a sentence's tail at a clause or phrase boundary, or drop a lead
# phrase before ", we"; the head must keep 5 words and not end on a hanging word.

_CUTS: tuple[tuple[str, str, str], ...] = (
    # (name, group, boundary regex); the cut drops the boundary and all after it
    ("which/where", "clause", r",\s+(?:which|where|whereby|wherein)\b"),
    ("while/although", "clause", r",?\s+(?:while|whereas|although|though)\b"),
    ("and-clause", "clause", r",\s+and\s+(?=(?:we|it|our|this|they|thus|then|also|\w+(?:s|ed))\b)"),
    ("but", "clause", r",\s+but\b"),
    ("thus/thereby", "clause", r",?\s+(?:thus|thereby|hence|therefore)\b"),
    (", -ing", "clause", r",\s+(?=\w+ing\b)"),
    ("when/if/since", "clause", r",?\s+(?:when|if|since|because|even when|even if|unless)\b"),
    ("semicolon", "clause", r";\s+"),
    ("such as/including", "list", r",?\s+(?:such as|including|e\.g\.|i\.e\.|namely)"),
    ("colon", "colon", r"\s*:\s+"),
    ("dash", "colon", r"\s+[—–]\s+|\s+--?\s+"),
    ("by -ing", "means", r",?\s+by\s+(?=\w+ing\b)"),
    ("in order to", "means", r",?\s+(?:in order|so as) to\b"),
    ("using/via", "means", r",?\s+(?:using|via|through|utili[sz]ing|leveraging|exploiting)\b"),
    ("based on", "means", r",?\s+based on\b"),
    ("with", "phrase", r",?\s+with\b"),
    ("without", "phrase", r",?\s+without\b"),
    ("across/under/over", "phrase", r",?\s+(?:across|under|over|against|within|among|at)\b"),
    ("on", "phrase", r",?\s+on\b"),
    ("in", "phrase", r",?\s+in\b"),
    (
        "that (relative)",
        "phrase",
        r"(?<!show)(?<!shows)(?<!find)(?<!prove)(?<!argue)(?<!note)(?<!demonstrate)"
        r"(?<!suggest)(?<!that)(?<!this)(?<!such)\s+that\b",
    ),
    ("any comma", "comma", r",\s+"),
)
_CUT_RES = tuple((name, group, re.compile(rx)) for name, group, rx in _CUTS)
_GROUP = {name: group for name, group, _ in _CUTS} | {"lead phrase": "lead"}
_LEAD = re.compile(r",\s+(?=(?:we|our)\b)")


def _keeps_a_clause(head: str) -> bool:
    words = head.split()
    return (
        len(words) >= 5
        and words[-1].lower().strip(",;:") not in sm._HANGING_WORDS
        and sm._balanced(head)
    )


def candidates(text: str) -> list[tuple[tuple[str, ...], str]]:
    """(cuts applied, text) for a compressed sentence: itself, then each cut it allows."""
    out: list[tuple[tuple[str, ...], str]] = [((), text)]
    starts: list[tuple[tuple[str, ...], str]] = [((), text)]
    lead = _LEAD.search(text)
    if lead and lead.start() < 0.6 * len(text) and len(text[lead.end() :].split()) >= 5:
        starts.append((("lead phrase",), sm._finish(text[lead.end() :])))
        out.append(starts[-1])
    for applied, start in starts:
        seen = set()
        for name, _, regex in _CUT_RES:
            for match in regex.finditer(start):
                head = start[: match.start()]
                if match.start() in seen or not _keeps_a_clause(head):
                    continue
                seen.add(match.start())
                out.append(((*applied, name), sm._finish(head)))
    return out


# --------------------------------------------------------------------------------------------
# Dev, prepared once


@dataclass
class Candidate:
    sentence: int
    cuts: tuple[str, ...]
    text: str
    rouge: float
    stems: tuple[str, ...]


@dataclass
class Doc:
    title: str
    targets: tuple[str, ...]
    sentences: list[sm._Sentence]
    gold: list[Counter[str]]
    features: np.ndarray
    rouge: np.ndarray  # each compressed sentence's R1 (the sentence model's target)
    stems: list[str]  # the word model's rows
    words: np.ndarray
    in_gold: np.ndarray
    occurrences: np.ndarray
    candidates: list[Candidate]
    # filled by out_of_fold()
    score: np.ndarray = field(default_factory=lambda: np.zeros(0))
    value: dict[str, float] = field(default_factory=dict)


def prepare(rouge: Rouge1, vocabulary_size: int = 100) -> list[Doc]:
    prepared = [(p, sm._prepare(p.source)) for p in load("dev")]
    prepared = [(p, s) for p, s in prepared if s]
    frequent = Counter(stem for _, ss in prepared for s in ss for stem in s.stems)
    index = {stem: i for i, (stem, _) in enumerate(frequent.most_common(vocabulary_size))}
    width = len(sm._WORD_FEATURE_NAMES)
    docs = []
    for paper, sentences in prepared:
        gold = rouge.gold(paper.targets)
        shared, counts = sm._word_stats(sentences)
        rows = sm._word_features(paper.title, sentences, shared, counts)
        in_gold = {sm._stem(w) for t in paper.targets for w in sm._WORD.findall(t.lower())}
        stems = list(rows)
        words = np.zeros((len(stems), width + len(index)))
        for k, stem in enumerate(stems):
            words[k, :width] = rows[stem]
            if stem in index:
                words[k, width + index[stem]] = 1.0
        cands = [
            Candidate(i, cuts, text, rouge.score(text, gold), sm._analyse(text).stems)
            for i, s in enumerate(sentences)
            for cuts, text in candidates(sm._compress(s.text))
        ]
        docs.append(
            Doc(
                title=paper.title,
                targets=paper.targets,
                sentences=sentences,
                gold=gold,
                features=np.array(sm._features(paper.title, sentences, shared)),
                rouge=np.array([c.rouge for c in cands if not c.cuts]),
                stems=stems,
                words=words,
                in_gold=np.array([float(s in in_gold) for s in stems]),
                occurrences=np.array([float(counts[s]) for s in stems]),
                candidates=cands,
            )
        )
    return docs


# --------------------------------------------------------------------------------------------
# The fitted summarizer's two models, as fit_summary.py fits them


def folds(n: int, seeds: int = SEEDS) -> Iterator[set[int]]:
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(n)
        for fold in np.array_split(order, FOLDS):
            yield set(fold.tolist())


def fit_models(
    train: list[Doc], extra: Callable[[Doc], np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The sentence ridge (penalty 1) and the per-occurrence word ridge (penalty 10)."""
    sentence = ridge(
        np.vstack([d.features for d in train]), np.concatenate([d.rouge for d in train]), 1.0
    )
    x = np.vstack([word_matrix(d, extra) for d in train])
    weights = np.concatenate([d.occurrences for d in train])  # one row per occurrence
    shrink = 10.0 * np.eye(x.shape[1])
    shrink[0, 0] = 0.0
    y = np.concatenate([d.in_gold for d in train])
    word = np.linalg.solve(x.T @ (x * weights[:, None]) + shrink, x.T @ (y * weights))
    return sentence, word


def word_matrix(doc: Doc, extra: Callable[[Doc], np.ndarray] | None = None) -> np.ndarray:
    return doc.words if extra is None else np.hstack([doc.words, extra(doc)])


def expected_overlap(
    value: dict[str, float], stems_of: list[tuple[str, ...]], length: float
) -> np.ndarray:
    return np.array(
        [2 * sum(value[s] for s in stems) / (len(stems) + length) for stems in stems_of]
    )


def scores(
    doc: Doc,
    sentence: np.ndarray,
    value: dict[str, float],
    blend: float = BLEND,
    length: float = BLEND_LENGTH,
) -> np.ndarray:
    eo = expected_overlap(value, [s.stems for s in doc.sentences], length)
    combined: np.ndarray = doc.features @ sentence + blend * eo
    return combined


def cross_validate(docs: list[Doc], pick: Callable[[list[Doc], list[Doc]], list[float]]) -> float:
    """Mean R1 (x100) over every held-out doc of every fold; pick(train, test) -> R1 per doc."""
    total, count = 0.0, 0
    for held in folds(len(docs)):
        train = [d for i, d in enumerate(docs) if i not in held]
        test = [docs[i] for i in sorted(held)]
        values = pick(train, test)
        total += sum(values)
        count += len(values)
    return 100 * total / count


def baseline(train: list[Doc], test: list[Doc]) -> list[float]:
    sentence, word = fit_models(train)
    out = []
    for doc in test:
        value = dict(zip(doc.stems, doc.words @ word, strict=True))
        out.append(float(doc.rouge[int(np.argmax(scores(doc, sentence, value)))]))
    return out


def out_of_fold(docs: list[Doc]) -> None:
    """The summarizer's scores and word values for each doc, from models fitted without it."""
    for held in folds(len(docs), seeds=1):
        sentence, word = fit_models([d for i, d in enumerate(docs) if i not in held])
        for i in held:
            doc = docs[i]
            doc.value = dict(zip(doc.stems, doc.words @ word, strict=True))
            doc.score = scores(doc, sentence, doc.value)


def chosen(doc: Doc) -> int:
    return int(np.argmax(doc.score))


def centred_ridge(rows: list[tuple[np.ndarray, np.ndarray]], penalty: float) -> np.ndarray:
    """A ridge fit of R1 on features, each abstract centred: only the ranking within one counts."""
    x = np.vstack([r - r.mean(0) for r, _ in rows])
    y = np.concatenate([t - t.mean() for _, t in rows])
    return np.linalg.solve(x.T @ x + penalty * np.eye(x.shape[1]), x.T @ y)


# --------------------------------------------------------------------------------------------
# The experiments


def oracles(docs: list[Doc]) -> None:
    print("\n== Headroom (oracles: the best choice knowing the gold) ==")
    pick = np.mean([d.rouge[chosen(d)] for d in docs])
    print(f"  the pick (out of fold), compressed as shipped: {100 * pick:.2f}")
    for k in (1, 2, 3, 5):
        top = np.mean([d.rouge[np.argsort(-d.score, kind="stable")[:k]].max() for d in docs])
        print(f"  best of the top-{k} sentences: {100 * top:.2f}")
    print(f"  best sentence: {100 * np.mean([d.rouge.max() for d in docs]):.2f}")
    safe = {"clause", "list", "colon", "means", "lead"}  # not the phrase, comma, that cuts

    def best(doc: Doc, sentences: set[int], groups: set[str] | None) -> float:
        return max(
            c.rouge
            for c in doc.candidates
            if c.sentence in sentences and (groups is None or {_GROUP[x] for x in c.cuts} <= groups)
        )

    for label, groups in (("clause/list/colon/means/lead cuts", safe), ("every cut", None)):
        on_pick = np.mean([best(d, {chosen(d)}, groups) for d in docs])
        top3 = np.mean(
            [best(d, set(np.argsort(-d.score, kind="stable")[:3].tolist()), groups) for d in docs]
        )
        anywhere = np.mean([best(d, set(range(len(d.sentences))), groups) for d in docs])
        print(
            f"  {label}: on the pick {100 * on_pick:.2f}, on the top 3 {100 * top3:.2f}, "
            f"on any sentence {100 * anywhere:.2f}"
        )


def cut_gains(docs: list[Doc]) -> dict[str, list[tuple[int, float]]]:
    print("\n== Each cut on the picked sentence: mean R1 change, share that help / hurt ==")
    gains: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, doc in enumerate(docs):
        mine = [c for c in doc.candidates if c.sentence == chosen(doc)]
        for c in mine[1:]:
            gains[c.cuts[-1]].append((i, c.rouge - mine[0].rouge))
    for name in [*_GROUP]:
        values = [g for _, g in gains.get(name, [])]
        if values:
            print(
                f"  {name:20s} n={len(values):4d} mean {100 * np.mean(values):+6.2f}  "
                f"help {np.mean([v > 0 for v in values]):.2f}  "
                f"hurt {np.mean([v < 0 for v in values]):.2f}"
            )
    return gains


def learned_cuts(docs: list[Doc]) -> None:
    """A ridge model of each cut's R1 change; the best cut is applied when its predicted gain
    passes a threshold. Features: cut group, words removed, the word model's mean value of
    the removed and kept words, title words removed, digits or capitalised names removed."""
    print("\n== Learned cuts on the picked sentence (CV R1 change in points) ==")
    groups = sorted(set(_GROUP.values()))
    rows, gains, owner = [], [], []
    for i, doc in enumerate(docs):
        title = {sm._stem(w) for w in sm._WORD.findall(doc.title.lower())}
        mine = [c for c in doc.candidates if c.sentence == chosen(doc)]
        full = mine[0]
        for c in mine[1:]:
            removed = list((Counter(full.stems) - Counter(c.stems)).elements())
            k = max(len(removed), 1)
            kept_value = sum(doc.value.get(s, 0.0) for s in c.stems) / max(len(c.stems), 1)
            removed_value = sum(doc.value.get(s, 0.0) for s in removed) / k
            tail = full.text[len(c.text) - 1 :]
            rows.append(
                [
                    1.0,
                    len(removed) / 30,
                    len(removed) / max(len(full.stems), 1),
                    len(c.stems) / 30,
                    removed_value,
                    kept_value,
                    removed_value - kept_value,
                    sum(s in title for s in removed) / k,
                    float(bool(re.search(r"\d", tail))),
                    float(bool(re.search(r"\b[A-Z][A-Za-z]*[A-Z]", tail))),
                    *[float(any(_GROUP[x] == g for x in c.cuts)) for g in groups],
                ]
            )
            gains.append(c.rouge - full.rouge)
            owner.append(i)
    x, y, who = np.array(rows), np.array(gains), np.array(owner)
    for penalty in (1.0, 10.0, 100.0):
        line = []
        for threshold in (0.0, 0.01, 0.03):
            total = 0.0
            for held in folds(len(docs)):
                train = np.array([o not in held for o in who])
                w = ridge(x[train], y[train], penalty)
                predicted = x @ w
                for i in held:
                    idx = np.flatnonzero(who == i)
                    if len(idx):
                        j = idx[np.argmax(predicted[idx])]
                        total += y[j] if predicted[j] > threshold else 0.0
            line.append(f"threshold {threshold:.2f}: {100 * total / (SEEDS * len(docs)):+.3f}")
        print(f"  penalty {penalty:5.0f}  " + "  ".join(line))


def rescoring(docs: list[Doc]) -> None:
    """Candidates = the top-K sentences x their cuts; a centred ridge model of each candidate's
    R1 over the summarizer's (out-of-fold) score, rank, the candidate's expected overlap and
    length, the cut group and what the cut removed; the best predicted candidate is picked."""
    print("\n== Candidate generation + rescoring (CV R1 of the pick) ==")
    groups = sorted(set(_GROUP.values()))

    def rows(doc: Doc, k: int, allowed: set[str]) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(-doc.score, kind="stable")[:k].tolist()
        rank = {i: r for r, i in enumerate(order)}
        title = {sm._stem(w) for w in sm._WORD.findall(doc.title.lower())}
        full = {c.sentence: c for c in doc.candidates if not c.cuts}
        x, y = [], []
        for c in doc.candidates:
            if c.sentence not in rank or not {_GROUP[n] for n in c.cuts} <= allowed:
                continue
            removed = list((Counter(full[c.sentence].stems) - Counter(c.stems)).elements())
            k_removed = len(removed)
            value = [doc.value.get(s, 0.0) for s in c.stems]
            gone = [doc.value.get(s, 0.0) for s in removed]
            x.append(
                [
                    doc.score[c.sentence],
                    doc.score[c.sentence] - doc.score[order[0]],
                    float(rank[c.sentence] == 0),
                    float(rank[c.sentence] == 1),
                    2 * sum(value) / (len(value) + 20),
                    len(value) / 30,
                    (len(value) / 30) ** 2,
                    k_removed / 30,
                    (np.mean(gone) - np.mean(value)) if k_removed and value else 0.0,
                    (sum(s in title for s in removed) / k_removed) if k_removed else 0.0,
                    *[float(any(_GROUP[n] == g for n in c.cuts)) for g in groups],
                ]
            )
            y.append(c.rouge)
        return np.array(x), np.array(y)

    for k, allowed in (
        (3, set()),
        (1, set(groups)),
        (2, set(groups)),
        (3, set(groups)),
        (3, {"clause", "list", "colon", "means", "lead"}),
        (3, {"lead"}),
    ):
        table = [rows(d, k, allowed) for d in docs]
        oracle = 100 * np.mean([y.max() for _, y in table])
        line = []
        for penalty in (1.0, 10.0, 100.0):
            total, count = 0.0, 0
            for held in folds(len(docs)):
                w = centred_ridge([t for i, t in enumerate(table) if i not in held], penalty)
                for i in held:
                    x, y = table[i]
                    total += y[int(np.argmax(x @ w))]
                    count += 1
            line.append(f"penalty {penalty:3.0f}: {100 * total / count:.2f}")
        cuts = "+".join(sorted(allowed)) or "no cuts"
        print(f"  top {k}, {cuts:38s} oracle {oracle:.2f}   " + "  ".join(line))


def f1(a: tuple[str, ...] | list[str], b: tuple[str, ...] | list[str]) -> float:
    overlap = sum((Counter(a) & Counter(b)).values())
    return 2 * overlap / (len(a) + len(b)) if overlap else 0.0


def reranking(docs: list[Doc]) -> None:
    """A second, centred ridge model over the summarizer's (out-of-fold) score plus features
    relative to the other sentences of the abstract."""
    print("\n== Re-ranking sentences with relative features (CV R1 of the pick) ==")
    names = [
        "rank-0",
        "rank-1",
        "rank-2",
        "title F1",
        "F1 with the rest",
        "mean F1 with others",
        "max F1 with others",
        "first we-sentence",
        "after first proposal",
        "before first proposal",
        "|length - 22|",
        "next starts Specifically",
        "next starts We",
        "previous states a problem",
        "expected overlap, L=6",
        "expected overlap, L=40",
    ]
    tables = []
    for doc in docs:
        ss, m = doc.sentences, len(doc.sentences)
        order = np.argsort(-doc.score, kind="stable")
        rank = np.empty(m)
        rank[order] = np.arange(m)
        title = [sm._stem(w) for w in sm._WORD.findall(doc.title.lower())]
        proposal = next((i for i in range(m) if ss[i].bits & sm._PROPOSAL), -1)
        first_we = next((i for i in range(m) if ss[i].bits & sm._BIT["starts_we"]), -1)
        eo6 = expected_overlap(doc.value, [s.stems for s in ss], 6.0)
        eo40 = expected_overlap(doc.value, [s.stems for s in ss], 40.0)
        rows = []
        for i, s in enumerate(ss):
            others = [f1(s.stems, t.stems) for j, t in enumerate(ss) if j != i] or [0.0]
            rest = [st for j, t in enumerate(ss) if j != i for st in t.stems]
            following = ss[i + 1].bits if i + 1 < m else 0
            before = ss[i - 1].bits if i else 0
            rows.append(
                [
                    doc.score[i],
                    float(rank[i] == 0),
                    float(rank[i] == 1),
                    float(rank[i] == 2),
                    f1(s.stems, title),
                    f1(s.stems, rest),
                    float(np.mean(others)),
                    max(others),
                    float(i == first_we),
                    float(proposal >= 0 and i == proposal + 1),
                    float(proposal >= 0 and i == proposal - 1),
                    abs(len(s.stems) - 22) / 22,
                    float(bool(following & sm._BIT["specifically"])),
                    float(bool(following & sm._BIT["starts_we"])),
                    float(bool(before & sm._BIT["problem"])),
                    eo6[i],
                    eo40[i],
                ]
            )
        tables.append((np.array(rows), doc.rouge))

    def run(columns: list[int], penalty: float) -> float:
        total, count = 0.0, 0
        for held in folds(len(docs)):
            w = centred_ridge(
                [(x[:, columns], y) for i, (x, y) in enumerate(tables) if i not in held], penalty
            )
            for i in held:
                x, y = tables[i]
                total += y[int(np.argmax(x[:, columns] @ w))]
                count += 1
        return 100 * total / count

    every = list(range(len(names) + 1))
    print(f"  the score alone: {run([0], 1.0):.2f}")
    cells = [f"penalty {p:3.0f}: {run(every, p):.2f}" for p in (1.0, 10.0, 100.0)]
    print("  with every feature: " + "  ".join(cells))
    for j, name in enumerate(names, start=1):
        print(f"  + {name:26s} {run([0, j], 1.0):.2f}")


def word_model(docs: list[Doc]) -> None:
    """More word-model features: in the top 1/2/3 sentences, first use, in the last sentence,
    written with capitals inside (a name), first title word, title stopword, length."""
    print("\n== A richer word model (out-of-fold AUC of 'in a gold TL;DR'; CV R1 of the pick) ==")

    def extra(doc: Doc) -> np.ndarray:
        ss = doc.sentences
        order = np.argsort(-doc.score, kind="stable").tolist()
        sets = [set(s.stems) for s in ss]
        first: dict[str, int] = {}
        for i, s in enumerate(ss):
            for stem in s.stems:
                first.setdefault(stem, i)
        names = {
            sm._stem(t)
            for s in ss
            for w in re.findall(r"[A-Za-z0-9][\w-]*", s.text)
            if any(ch.isupper() for ch in w[1:])
            for t in sm._WORD.findall(w.lower())
        }
        title = [sm._stem(w) for w in sm._WORD.findall(doc.title.lower())]
        span = max(len(ss) - 1, 1)
        return np.array(
            [
                [
                    float(stem in sets[order[0]]),
                    float(len(order) > 1 and stem in sets[order[1]]),
                    float(len(order) > 2 and stem in sets[order[2]]),
                    first[stem] / span,
                    float(stem in sets[-1]),
                    float(stem in names),
                    float(title[:1] == [stem]),
                    float(stem in title and stem in sm._STOP),
                    min(len(stem), 12) / 12,
                ]
                for stem in doc.stems
            ]
        ).reshape(len(doc.stems), 9)

    def auc(score: np.ndarray, label: np.ndarray) -> float:
        """Mann-Whitney AUC; tied scores share their mean rank (the row order is arbitrary)."""
        _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
        starts = np.cumsum(counts) - counts
        ranks = (starts + (counts - 1) / 2)[inverse]
        pos = label == 1
        n_pos = pos.sum()
        return float((ranks[pos].sum() - n_pos * (n_pos - 1) / 2) / (n_pos * (~pos).sum()))

    for label, fn in (("as shipped", None), ("with the extra features", extra)):
        predicted, labels = [], []
        for held in folds(len(docs), seeds=1):
            _, word = fit_models([d for i, d in enumerate(docs) if i not in held], fn)
            for i in held:
                predicted.append(word_matrix(docs[i], fn) @ word)
                labels.append(docs[i].in_gold)

        def pick(
            train: list[Doc], test: list[Doc], fn: Callable[[Doc], np.ndarray] | None = fn
        ) -> list[float]:
            sentence, word = fit_models(train, fn)
            out = []
            for doc in test:
                value = dict(zip(doc.stems, word_matrix(doc, fn) @ word, strict=True))
                out.append(float(doc.rouge[int(np.argmax(scores(doc, sentence, value)))]))
            return out

        print(
            f"  {label:24s} AUC {auc(np.concatenate(predicted), np.concatenate(labels)):.3f}  "
            f"CV R1 {cross_validate(docs, pick):.2f}"
        )


def blend_grid(docs: list[Doc]) -> None:
    print("\n== The word model's weight and length, beyond fit_summary.py's grid (CV R1) ==")
    grid = [(b, length) for b in (0.2, 0.4, 0.6, 1.0, 2.0) for length in (4.0, 8.0, 12.0, 20.0)]
    totals = dict.fromkeys(grid, 0.0)
    count = 0
    for held in folds(len(docs)):
        sentence, word = fit_models([d for i, d in enumerate(docs) if i not in held])
        for i in held:
            doc = docs[i]
            value = dict(zip(doc.stems, doc.words @ word, strict=True))
            for b, length in grid:
                picked = int(np.argmax(scores(doc, sentence, value, b, length)))
                totals[(b, length)] += doc.rouge[picked]
            count += 1
    for b in (0.2, 0.4, 0.6, 1.0, 2.0):
        cells = [f"L={n:2.0f}: {100 * totals[(b, n)] / count:.2f}" for n in (4.0, 8.0, 12.0, 20.0)]
        print(f"  weight {b:.1f}  " + "  ".join(cells))


def interactions(docs: list[Doc]) -> None:
    print("\n== Pairwise products of 14 key sentence features (CV R1) ==")
    names = list(sm._FEATURE_NAMES)
    key = [
        names.index(k)
        for k in (
            "first_proposal", "title_precision", "title_recall", "centrality", "length", "we_aim",
            "this_paper", "we_propose", "starts_we", "shared_density", "first", "last", "results",
            "number",
        )
    ]  # fmt: skip
    pairs = [(a, b) for i, a in enumerate(key) for b in key[i + 1 :]]

    def widen(x: np.ndarray) -> np.ndarray:
        return np.hstack([x, np.column_stack([x[:, a] * x[:, b] for a, b in pairs])])

    wide = {id(d): widen(d.features) for d in docs}
    for penalty in (1.0, 10.0, 30.0):

        def pick(train: list[Doc], test: list[Doc], penalty: float = penalty) -> list[float]:
            _, word = fit_models(train)
            sentence = ridge(
                np.vstack([wide[id(d)] for d in train]),
                np.concatenate([d.rouge for d in train]),
                penalty,
            )
            out = []
            for doc in test:
                value = dict(zip(doc.stems, doc.words @ word, strict=True))
                eo = expected_overlap(value, [s.stems for s in doc.sentences], BLEND_LENGTH)
                out.append(float(doc.rouge[int(np.argmax(wide[id(doc)] @ sentence + BLEND * eo))]))
            return out

        print(f"  penalty {penalty:4.0f}: {cross_validate(docs, pick):.2f}")


def rewrites(docs: list[Doc], rouge: Rouge1) -> None:
    """Compression of the pick other than cuts: what framing and aside removal are worth,
    keeping defined acronyms, deleting single low-yield words, fusing with the next sentence."""
    print("\n== Rewrites of the pick (R1 of the out-of-fold pick; gains in points) ==")
    acronym = re.compile(r"\s+\((?:[A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*s?)\)")
    results: dict[str, list[float]] = defaultdict(list)
    for doc in docs:
        text = doc.sentences[chosen(doc)].text
        results["raw sentence"].append(rouge.score(sm._finish(text), doc.gold))
        results["framing dropped, asides kept"].append(
            rouge.score(sm._finish(_framing_only(text)), doc.gold)
        )
        asides = text
        if ("(" in asides or "[" in asides) and "$" not in asides:
            stripped = sm._PARENTHETICAL.sub(sm._drop_aside, asides)
            asides = stripped if len(stripped.split()) >= 4 else asides
        results["asides dropped, framing kept"].append(rouge.score(sm._finish(asides), doc.gold))
        results["both (as shipped)"].append(rouge.score(sm._compress(text), doc.gold))
        kept = acronym.sub(lambda m: " \x01" + m[0].strip()[1:-1] + "\x02", text)
        kept = sm._compress(kept).replace("\x01", "(").replace("\x02", ")")
        results["as shipped, defined acronyms kept"].append(rouge.score(kept, doc.gold))
    for name, values in results.items():
        print(f"  {name:36s} {100 * np.mean(values):.2f}")

    # Single words that rarely reach a gold TL;DR: delete those whose deletion helped on the
    # training folds (grammar ignored: an upper bound for any safe subset).
    deletable = sm._words(
        "novel new simple both also further very effectively efficiently significantly "
        "highly various several different specific particular general powerful effective "
        "efficient principled key important standard more such these this two first"
    )
    deletions = []
    for i, doc in enumerate(docs):
        text = sm._compress(doc.sentences[chosen(doc)].text)
        base = rouge.score(text, doc.gold)
        words = text.split()
        for j, w in enumerate(words):
            if w.isalpha() and w.islower() and w in deletable:
                shorter = " ".join(words[:j] + words[j + 1 :])
                deletions.append((i, w, rouge.score(shorter, doc.gold) - base))
    total = 0.0
    for held in folds(len(docs)):
        seen: dict[str, list[float]] = defaultdict(list)
        for i, w, gain in deletions:
            if i not in held:
                seen[w].append(gain)
        good = {w for w, g in seen.items() if len(g) >= 5 and np.mean(g) > 0}
        total += sum(g for i, w, g in deletions if i in held and w in good)
    print(f"  deleting single low-yield words (CV gain): {100 * total / (SEEDS * len(docs)):+.3f}")

    for limit in (10, 14, 18):
        gains = []
        for doc in docs:
            i = chosen(doc)
            if len(doc.sentences[i].tokens) < limit and i + 1 < len(doc.sentences):
                one = sm._compress(doc.sentences[i].text)
                fused = one.rstrip(".") + ", " + sm._compress(doc.sentences[i + 1].text)
                gains.append(rouge.score(fused, doc.gold) - rouge.score(one, doc.gold))
        print(
            f"  fusing a pick under {limit} words with the next sentence: {len(gains)} abstracts, "
            f"{100 * sum(gains) / len(docs):+.2f} overall"
        )


def _framing_only(text: str) -> str:
    for _ in range(3):
        if sm._first_word(text) not in sm._FRAME_STARTS:
            break
        match = sm._LEAD_FRAME.match(text) or sm._HERE_WE.match(text)
        if match is None or match.end() >= len(text):
            break
        text = text[match.end() :]
    return text


def self_check(docs: list[Doc], rouge: Rouge1) -> None:
    """The fast scorer agrees with bench/_scitldr.py's on a sample of candidates."""
    scorer = Scorer()
    worst = 0.0
    for doc in docs[::20]:
        for c in doc.candidates[:10]:
            worst = max(worst, abs(scorer.rouge1(c.text, doc.targets) - c.rouge))
    print(f"self-check: the fast ROUGE-1 differs from rouge-score by at most {worst:.1e}")


def listwise(docs: list[Doc]) -> None:
    """Fit the sentence weights (and the word model's blend) for the pick itself.

    The shipped sentence model is a pointwise ridge of each sentence's R1. Here the weights
    start from it and climb (Adam) the expected R1 of a softmax over each abstract's
    sentences, temperature tau, with a pull of strength lam back to the ridge weights.
    """
    print("\n== Listwise fit: expected R1 of a softmax pick, from the ridge weights (CV R1) ==")

    def design(doc: Doc, word: np.ndarray) -> np.ndarray:
        value = dict(zip(doc.stems, doc.words @ word, strict=True))
        overlap = expected_overlap(value, [s.stems for s in doc.sentences], BLEND_LENGTH)
        return np.hstack([doc.features, overlap[:, None]])

    def climb(
        xs: list[np.ndarray], ys: list[np.ndarray], start: np.ndarray, tau: float, lam: float
    ) -> np.ndarray:
        w, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
        for t in range(1, 301):
            g = np.zeros_like(w)
            for x, y in zip(xs, ys, strict=True):
                s = x @ w / tau
                p = np.exp(s - s.max())
                p /= p.sum()
                g += (p * (y - p @ y)) @ x / tau
            g = g / len(xs) - lam * (w - start)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            w += 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        return w

    for tau, lam in ((0.01, 0.0), (0.01, 10.0), (0.03, 10.0)):

        def pick(
            train: list[Doc], test: list[Doc], tau: float = tau, lam: float = lam
        ) -> list[float]:
            sentence, word = fit_models(train)
            start = np.concatenate([sentence, [BLEND]])
            w = climb([design(d, word) for d in train], [d.rouge for d in train], start, tau, lam)
            return [float(d.rouge[int(np.argmax(design(d, word) @ w))]) for d in test]

        print(f"  tau {tau:.2f} lam {lam:4.0f}: {cross_validate(docs, pick):.2f}")


def lexical(docs: list[Doc]) -> None:
    """Word n-grams of each sentence as features of its own (a centred ridge on top)."""
    print("\n== Sentence n-grams (first 1-3 words, word pairs) over the summarizer (CV R1) ==")
    token = re.compile(r"[a-z]+")

    def keys(text: str) -> set[str]:
        words = token.findall(text.lower())
        out = {"P:" + " ".join(words[:n]) for n in (1, 2, 3) if len(words) >= n}
        return out | {"B:" + a + " " + b for a, b in pairwise(words)}

    every = {id(d): [keys(s.text) for s in d.sentences] for d in docs}
    for penalty in (10.0, 100.0):

        def pick(train: list[Doc], test: list[Doc], penalty: float = penalty) -> list[float]:
            sentence, word = fit_models(train)
            counts = Counter(k for d in train for ks in every[id(d)] for k in ks)
            index = {k: j for j, k in enumerate(k for k, c in counts.items() if c >= 5)}

            def matrix(doc: Doc) -> np.ndarray:
                m = np.zeros((len(doc.sentences), len(index)))
                for r, ks in enumerate(every[id(doc)]):
                    m[r, [index[k] for k in ks if k in index]] = 1.0
                return m

            w = centred_ridge([(matrix(d), d.rouge) for d in train], penalty)
            out = []
            for doc in test:
                value = dict(zip(doc.stems, doc.words @ word, strict=True))
                score = scores(doc, sentence, value) + 0.3 * (matrix(doc) @ w)
                out.append(float(doc.rouge[int(np.argmax(score))]))
            return out

        print(f"  penalty {penalty:4.0f}: {cross_validate(docs, pick):.2f}")


def learning_curve(docs: list[Doc]) -> None:
    """Would more training data help? A fifth of dev held out, models fitted on growing parts."""
    print("\n== Learning curve: R1 on a held-out fifth by training size (10 splits) ==")
    n = len(docs)
    for share in (0.2, 0.4, 0.6, 0.8):
        values = []
        for seed in range(10):
            order = np.random.default_rng(100 + seed).permutation(n)
            held, pool = order[: n // 5], order[n // 5 :]
            values.append(
                np.mean(
                    baseline([docs[i] for i in pool[: int(share * n)]], [docs[i] for i in held])
                )
            )
        print(f"  {int(share * n):3d} abstracts: {100 * np.mean(values):.2f}")


def main() -> None:
    rouge = Rouge1()
    docs = prepare(rouge)
    self_check(docs, rouge)
    print(f"dev: {len(docs)} abstracts, {sum(len(d.candidates) for d in docs)} candidates")
    print(f"the summarizer as fitted, cross-validated: {cross_validate(docs, baseline):.2f}")
    out_of_fold(docs)
    picks = np.array([d.rouge[chosen(d)] for d in docs])
    print(
        f"noise: one R1 per abstract has sd {100 * picks.std():.1f}, so a mean over "
        f"{len(docs)} abstracts has a standard error of {100 * picks.std() / len(docs) ** 0.5:.2f}"
    )
    oracles(docs)
    cut_gains(docs)
    learned_cuts(docs)
    rescoring(docs)
    reranking(docs)
    word_model(docs)
    blend_grid(docs)
    interactions(docs)
    rewrites(docs, rouge)
    listwise(docs)
    lexical(docs)
    learning_curve(docs)


if __name__ == "__main__":
    main()
