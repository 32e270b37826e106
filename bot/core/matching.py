"""Papers x subscriptions through an index, so the cost follows the matches, not the product.

Every query has at least one required, positive conjunct (the parser refuses the others). The
index posts each distinct query under an "anchor": the required conjunct whose keys are
rarest (an author word, a word pair of a phrase or a rare word before ``cat:cs.LG``); for an
OR group, every alternative posts the query under its own key. A paper computes its keys once
(from a PaperView: stemmed words and word pairs, kept only when some query uses them, author
words, categories and archives, sources), and only the queries posted under keys the paper
has are checked. Checks are compiled: a term decided by one key (``cat:cs.CL``, ``-survey``,
``au:lecun``) is a set lookup; phrases, initials and upvotes are evaluated on the shared
PaperView. A query that is nothing but its anchor (``cat:cs.LG``, ``au:lecun``,
``source:hf``, ``cat:cs.CL OR cat:cs.LG``) matches on the key alone. What a paper's
categories, sources and upvotes lead to is merged once per combination and remembered.
``match`` returns ids in no particular order: callers want the set, and sorting a thousand
ids per paper would cost more than finding them.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.models import Paper
from bot.core.query import Conjunct, IndexKey, KeySpace, PaperView, Query, Term

__all__ = ["IndexStats", "SubscriptionIndex"]

log = logging.getLogger(__name__)

# A compiled conjunct: (lookups, terms, negated). It holds when one of the (space, key)
# lookups is in the paper's keys or one of the terms holds; it passes when that != negated.
_Check = tuple[tuple[tuple[int, str], ...], tuple[Term, ...], bool]
# A compiled query: keys required and keys excluded, grouped by space (one subset or disjoint
# test per space), then the other checks.
_Plan = tuple[
    tuple[tuple[int, frozenset[str]], ...],
    tuple[tuple[int, frozenset[str]], ...],
    tuple[_Check, ...],
]


@dataclass(frozen=True, slots=True)
class IndexStats:
    """How the index filed its subscriptions (for logs and the benchmark)."""

    subscriptions: int
    distinct_queries: int
    by_key_alone: int  # queries answered by their anchor keys' presence, never checked
    checked: int  # queries checked when a paper has one of their anchor keys
    always: int  # queries with no usable anchor, checked for every paper
    keys: int  # distinct keys in the index


class _Rarity:
    """How often a key is expected among papers: measured on a sample, else a rough prior."""

    def __init__(self, sample: Iterable[Paper | PaperView], queries: Iterable[Query]) -> None:
        wanted: list[set[str]] = [set() for _ in KeySpace]  # only the keys queries use
        self.wanted = wanted  # by space: every key the index may ever look up
        for query in queries:
            for conjunct in query.conjuncts:
                for term in conjunct.terms:
                    for space, key in term.keys:
                        wanted[space].add(key)
                    if (membership := term.membership) is not None:
                        wanted[membership[0]].add(membership[1])
        self.counts: Counter[IndexKey] = Counter()
        self.papers = 0
        for paper in sample:
            view = PaperView.of(paper)
            self.papers += 1
            for space in KeySpace:
                if wanted[space]:
                    self.counts.update((space, key) for key in view.keys(space) & wanted[space])

    def __call__(self, key: IndexKey) -> float:
        prior = _prior(key)
        if self.papers == 0:
            return prior
        # Measured share, smoothed so an unseen key is rare but not free; the prior breaks ties.
        return (self.counts[key] + 0.5) / (self.papers + 1) + prior * 1e-3


def _prior(key: IndexKey) -> float:
    space, value = key
    if space is KeySpace.AUTHOR:  # short name words (li, wu, ann) are the common ones
        return 0.004 / len(value)
    if space in (KeySpace.PAIR, KeySpace.TITLE_PAIR, KeySpace.ABSTRACT_PAIR, KeySpace.NAMES):
        return 0.002
    if space is KeySpace.CATEGORY:
        return 0.05 if "." in value else 0.3
    if space is KeySpace.SOURCE:
        return 0.05 if value == "hf" else 0.95
    if space is KeySpace.UPVOTES:
        return 0.05 / math.sqrt(max(1, int(value)))
    return 0.02 if len(value) >= 7 else 0.05 if len(value) >= 4 else 0.2


def _anchor(query: Query, rarity: _Rarity) -> tuple[Conjunct, list[IndexKey]] | None:
    """The rarest required conjunct and its keys: one per alternative, any one must be there."""
    best: tuple[Conjunct, list[IndexKey]] | None = None
    best_cost = float("inf")
    for conjunct in query.positive:
        keys: list[IndexKey] = []
        cost = 0.0
        for term in conjunct.terms:
            options = term.keys
            if not options:  # this alternative can hold without any key: no anchor here
                break
            key = min(options, key=rarity)
            keys.append(key)
            cost += rarity(key)
        else:
            if cost < best_cost:
                best, best_cost = (conjunct, keys), cost
    return best


def _implied(conjunct: Conjunct, keys: list[IndexKey]) -> bool:
    """Whether finding any of ``keys`` proves ``conjunct`` (each term is just its key)."""
    return all(term.membership == key for term, key in zip(conjunct.terms, keys, strict=True))


def _compile(conjuncts: Iterable[Conjunct], rarity: _Rarity) -> _Plan:
    """A query's conjuncts as a plan: single-key conjuncts become set tests, grouped by space;
    the others become checks, lookups before evaluations, the likeliest to fail first."""
    required: dict[int, set[str]] = {}
    excluded: dict[int, set[str]] = {}
    ordered: list[tuple[bool, float, _Check]] = []
    for conjunct in conjuncts:
        if len(conjunct.terms) == 1 and (key := conjunct.terms[0].membership) is not None:
            table = excluded if conjunct.negated else required
            table.setdefault(int(key[0]), set()).add(key[1])
            continue
        lookups: list[tuple[int, str]] = []
        terms: list[Term] = []
        present = 0.0
        for term in conjunct.terms:
            membership = term.membership
            if membership is None:
                terms.append(term)
                present += 0.5
            else:
                lookups.append((int(membership[0]), membership[1]))
                present += rarity(membership)
        fails = 1.0 - min(present, 1.0) if conjunct.negated else min(present, 1.0)
        ordered.append((bool(terms), -fails, (tuple(lookups), tuple(terms), conjunct.negated)))
    ordered.sort(key=lambda entry: entry[:2])
    return (
        tuple((space, frozenset(keys)) for space, keys in sorted(required.items())),
        tuple((space, frozenset(keys)) for space, keys in sorted(excluded.items())),
        tuple(check for _, _, check in ordered),
    )


def _empty(plan: _Plan) -> bool:
    return not (plan[0] or plan[1] or plan[2])


def _passes(checks: tuple[_Check, ...], sets: tuple[frozenset[str], ...], view: PaperView) -> bool:
    for lookups, terms, negated in checks:
        hit = False
        for space, key in lookups:
            if key in sets[space]:
                hit = True
                break
        else:
            for term in terms:
                if term.holds(view):
                    hit = True
                    break
        if hit is negated:
            return False
    return True


def _second(conjuncts: list[Conjunct], rarity: _Rarity) -> tuple[Conjunct, list[IndexKey]] | None:
    """The rarest other required conjunct decided by keys alone, to post under beside the anchor."""
    best: tuple[Conjunct, list[IndexKey]] | None = None
    best_cost = float("inf")
    for conjunct in conjuncts:
        if conjunct.negated:
            continue
        keys = [term.membership for term in conjunct.terms]
        if any(key is None for key in keys):
            continue
        found = [key for key in keys if key is not None]
        cost = sum(map(rarity, found))
        if cost < best_cost:
            best, best_cost = (conjunct, found), cost
    return best


# What one key leads to, sealed for matching (a tuple: unpacked faster than attributes):
#   alone        ids decided by this key (sorted)
#   shared       ids decided by this key or by another one (an OR group): deduplicated
#   unless       (ids, tests): ids decided by this key unless the paper has one of the keys
#                in tests, (space, keys, key -> ids it rules out), e.g. cat:cs.CL -survey
#   check        queries to check, reached through this key only
#   check_shared queries to check, reached through other keys too: deduplicated
#   then         one level down: (space, keys, key -> posting) for queries that need this key
#                and one more, e.g. cat:cs.CL diffusion
_Tests = tuple[tuple[int, frozenset[str], dict[str, tuple[int, ...]]], ...]
_Packed = tuple[
    tuple[int, ...],
    tuple[int, ...],
    tuple[tuple[tuple[int, ...], _Tests], ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[tuple[int, frozenset[str], dict[str, "_Packed"]], ...],
]
# Spaces where a paper has few keys that recur from paper to paper (its categories, sources,
# upvote steps): what their keys lead to is merged once per combination and remembered.
_RECURRING = (KeySpace.CATEGORY, KeySpace.SOURCE, KeySpace.UPVOTES)
_MEMO_SIZE = 1 << 13
_NONE = frozenset[str]()
_WORD_SPACES = (KeySpace.TEXT, KeySpace.TITLE, KeySpace.ABSTRACT, KeySpace.BODY)
_PAIR_SPACES = (KeySpace.PAIR, KeySpace.TITLE_PAIR, KeySpace.ABSTRACT_PAIR)


class _Posting:
    """What one key (or a pair of keys, one level down) leads to, while the index is built.

    A big index has many of these, most of them using one or two fields: each container is
    made when first needed, so building stays well below twice the size of the sealed index.
    """

    __slots__ = ("alone", "below", "check", "check_shared", "shared", "unless", "unless_ids")

    def __init__(self) -> None:
        self.alone: list[int] | None = None
        self.shared: list[int] | None = None
        self.unless_ids: list[int] | None = None
        self.unless: dict[tuple[int, str], set[int]] | None = None
        self.check: list[int] | None = None
        self.check_shared: list[int] | None = None
        self.below: dict[IndexKey, _Posting] | None = None

    def under(self, key: IndexKey) -> _Posting:
        """The posting one level down, for queries that need this key and ``key``."""
        if self.below is None:
            self.below = {}
        posting = self.below.get(key)
        if posting is None:
            posting = self.below[key] = _Posting()
        return posting

    def add(self, qid: int, sids: list[int], plan: _Plan, shared: bool) -> None:
        required, excluded, checks = plan
        if not (required or excluded or checks):
            if shared:
                self.shared = _grown(self.shared, sids)
            else:
                self.alone = _grown(self.alone, sids)
        elif excluded and not (required or checks or shared):
            self.unless_ids = _grown(self.unless_ids, sids)
            if self.unless is None:
                self.unless = {}
            for space, keys in excluded:
                for key in keys:
                    self.unless.setdefault((space, key), set()).update(sids)
        elif shared:
            self.check_shared = _grown(self.check_shared, (qid,))
        else:
            self.check = _grown(self.check, (qid,))

    def seal(self) -> _Packed:
        by_space: dict[int, dict[str, _Packed]] = {}
        for (space, key), posting in (self.below or {}).items():
            by_space.setdefault(int(space), {})[key] = posting.seal()
        unless = _unless(self.unless_ids or (), (self.unless or {}).items())
        return (
            tuple(sorted(self.alone or ())),
            tuple(self.shared or ()),
            unless,
            tuple(self.check or ()),
            tuple(self.check_shared or ()),
            tuple((space, frozenset(t), t) for space, t in sorted(by_space.items())),
        )


def _grown(items: list[int] | None, more: Iterable[int]) -> list[int]:
    if items is None:
        return list(more)
    items.extend(more)
    return items


def _sealed(table: dict[str, _Posting]) -> dict[str, _Packed]:
    """The table sealed, emptying it as it goes (builder and sealed postings never both whole).

    In the order keys were first used (measured: about 10% faster matching than the reverse).
    """
    sealed: dict[str, _Packed] = {}
    for key in list(table):
        sealed[key] = table.pop(key).seal()
    return sealed


def _unless(
    ids: Iterable[int], rules: Iterable[tuple[tuple[int, str], Iterable[int]]]
) -> tuple[tuple[tuple[int, ...], _Tests], ...]:
    """One ``unless`` group: the ids, and per space the keys that rule some of them out."""
    run = tuple(sorted(ids))
    if not run:
        return ()
    tests: dict[int, dict[str, set[int]]] = {}
    for (space, key), ruled_out in rules:
        tests.setdefault(space, {}).setdefault(key, set()).update(ruled_out)
    sealed = []
    for space, t in sorted(tests.items()):
        table = {key: tuple(sorted(ruled_out)) for key, ruled_out in t.items()}
        sealed.append((space, frozenset(table), table))
    return ((run, tuple(sealed)),)


class SubscriptionIndex:
    """Subscriptions filed by anchor key; ``match`` returns exactly the ids whose query holds
    (each once, unordered).

    ``sample`` (optional, e.g. the last few days of papers) measures how common each key is,
    so anchors are chosen by real rarity rather than by a rough prior. Not safe to share
    between threads that match at the same time (it remembers recurring key combinations).
    """

    def __init__(
        self,
        subscriptions: Iterable[tuple[int, Query]],
        *,
        sample: Iterable[Paper | PaperView] = (),
    ) -> None:
        ids_of: dict[str, int] = {}
        queries: list[Query] = []
        self._sids: list[tuple[int, ...]] = []
        grouped: list[list[int]] = []
        seen: set[int] = set()
        for sid, query in subscriptions:
            if sid in seen:
                raise ValueError(f"subscription id {sid} appears twice")
            seen.add(sid)
            qid = ids_of.get(query.normalized)
            if qid is None:
                qid = ids_of[query.normalized] = len(queries)
                queries.append(query)
                grouped.append([])
            grouped[qid].append(sid)
        self._sids = [tuple(sorted(sids)) for sids in grouped]
        self._queries = queries
        self._size = len(seen)

        rarity = _Rarity(sample, queries)
        postings: tuple[dict[str, _Posting], ...] = tuple({} for _ in KeySpace)
        # ids decided by any of several keys, all in recurring spaces (cat:cs.CL OR cat:cs.LG)
        local: tuple[dict[str, list[int]], ...] = tuple({} for _ in KeySpace)
        self._plans: list[_Plan] = []
        self._always: list[int] = []
        by_key_alone = 0
        for qid, query in enumerate(queries):
            sids = grouped[qid]
            anchor = _anchor(query, rarity)
            if anchor is None:
                self._always.append(qid)
                self._plans.append(_compile(query.conjuncts, rarity))
                continue
            conjunct, keys = anchor
            rest = list(query.conjuncts)
            if _implied(conjunct, keys):  # finding an anchor key proves it
                rest.remove(conjunct)
            second = _second(rest, rarity)
            if second is not None:  # finding one of its keys proves it, too
                rest.remove(second[0])
            plan = _compile(rest, rarity)
            self._plans.append(plan)
            firsts = list(dict.fromkeys(keys))
            seconds = list(dict.fromkeys(second[1])) if second is not None else []
            shared = len(firsts) > 1 or len(seconds) > 1
            by_key_alone += _empty(plan)
            for space, key in firsts:
                posting = postings[space].setdefault(key, _Posting())
                if not seconds and shared and _empty(plan) and _all_recurring(firsts):
                    local[space].setdefault(key, []).extend(sids)
                elif not seconds:
                    posting.add(qid, sids, plan, shared)
                for other in seconds:
                    posting.under(other).add(qid, sids, plan, shared)
        self._local = tuple({k: tuple(v) for k, v in table.items()} for table in local)
        self._postings = tuple(_sealed(table) for table in postings)
        self._keys = tuple(frozenset(table) for table in self._postings)
        self._recurring = tuple(space for space in _RECURRING if self._keys[space])
        self._varying = tuple(
            space for space in KeySpace if self._keys[space] and space not in _RECURRING
        )
        self._memo: dict[tuple[frozenset[str], ...], _Packed] = {}
        # Every key the index may look up is one of its queries' keys: a paper's words and
        # word pairs are kept only when they are such a key, so the paper's key sets stay small
        # (nothing else is ever asked of them). Pairs are tuples here: no string per pair.
        wanted = rarity.wanted
        self._words_in = frozenset().union(*(wanted[space] for space in _WORD_SPACES))
        self._pairs_in = frozenset(
            (a, b)
            for space in _PAIR_SPACES
            for a, _, b in (k.partition(" ") for k in wanted[space])
        )
        self._names = bool(wanted[KeySpace.NAMES])
        self.stats = IndexStats(
            subscriptions=self._size,
            distinct_queries=len(queries),
            by_key_alone=by_key_alone,
            checked=len(queries) - by_key_alone - len(self._always),
            always=len(self._always),
            keys=sum(len(k) for k in self._keys),
        )
        log.debug("subscription index built: %s", self.stats)

    def __len__(self) -> int:
        return self._size

    def _sets(self, view: PaperView) -> tuple[frozenset[str], ...]:
        """The paper's keys by space (KeySpace order), cut down to the keys queries use."""
        words_in, pairs_in = self._words_in, self._pairs_in
        title = abstract = body = text = _NONE
        if words_in:
            title = frozenset(filter(words_in.__contains__, view.title_seq))
            abstract = frozenset(filter(words_in.__contains__, view.abstract_seq))
            body = text = title | abstract
            if keyword_seqs := view.keyword_seqs:
                text = body.union(
                    filter(words_in.__contains__, itertools.chain.from_iterable(keyword_seqs))
                )
        title_pairs = abstract_pairs = pairs = _NONE
        if pairs_in:
            title_pairs = frozenset(
                map(" ".join, filter(pairs_in.__contains__, itertools.pairwise(view.title_seq)))
            )
            abstract_pairs = frozenset(
                map(" ".join, filter(pairs_in.__contains__, itertools.pairwise(view.abstract_seq)))
            )
            pairs = title_pairs | abstract_pairs
        return (
            text,
            view.author_set,
            view.categories,
            view.sources,
            title,
            abstract,
            body,
            view.upvote_steps,
            view.name_pairs if self._names else _NONE,
            pairs,
            title_pairs,
            abstract_pairs,
        )

    def _recurring_part(self, sets: tuple[frozenset[str], ...]) -> _Packed:
        """What the paper's keys in the recurring spaces lead to, merged (and remembered)."""
        hits = tuple([sets[space] & self._keys[space] for space in self._recurring])
        merged = self._memo.get(hits)
        if merged is None:
            alone: list[int] = []
            local: set[int] = set()
            parts: list[_Packed] = []
            for space, keys in zip(self._recurring, hits, strict=True):
                for key in keys:
                    local.update(self._local[space].get(key, ()))
                    parts.append(self._postings[space][key])
            for part in parts:
                alone.extend(part[0])
            alone.extend(local)
            unless = _unless(  # one group for them all
                (i for part in parts for group in part[2] for i in group[0]),
                (
                    ((space, key), ruled_out)
                    for part in parts
                    for group in part[2]
                    for space, _, table in group[1]
                    for key, ruled_out in table.items()
                ),
            )
            merged = (
                tuple(alone),
                tuple(i for part in parts for i in part[1]),
                unless,
                tuple(q for part in parts for q in part[3]),
                tuple(q for part in parts for q in part[4]),
                tuple(t for part in parts for t in part[5]),
            )
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[hits] = merged
        return merged

    def _gather(self, sets: tuple[frozenset[str], ...], out: list[int]) -> list[int]:
        """Adds to ``out`` the ids decided by keys alone; returns the queries to check."""
        reached = [self._recurring_part(sets)]
        for varying in self._varying:
            if hits := sets[varying] & self._keys[varying]:
                reached.extend(map(self._postings[varying].__getitem__, hits))
        extend = out.extend
        shared_ids: set[int] = set()
        candidates: list[int] = []
        shared_candidates: set[int] = set(self._always)
        for alone, shared, unless, check, check_shared, then in reached:  # grows as we go
            if alone:
                extend(alone)
            if shared:
                shared_ids.update(shared)
            if unless:
                for ids, tests in unless:
                    drop: set[int] | None = None
                    for space, keys, rules_out in tests:
                        for key in keys & sets[space]:
                            if drop is None:
                                drop = set(rules_out[key])
                            else:
                                drop.update(rules_out[key])
                    extend(ids if drop is None else itertools.filterfalse(drop.__contains__, ids))
            if check:
                candidates.extend(check)
            if check_shared:
                shared_candidates.update(check_shared)
            if then:
                for space, keys, below in then:
                    if found := keys & sets[space]:
                        reached.extend(map(below.__getitem__, found))
        extend(shared_ids)
        candidates.extend(shared_candidates)
        return candidates

    def candidates(self, paper: Paper | PaperView) -> list[Query]:
        """The queries ``match`` checks for this paper (beyond those decided by keys alone)."""
        qids = self._gather(self._sets(PaperView.of(paper)), [])
        return sorted((self._queries[q] for q in qids), key=lambda q: q.normalized)

    def match(self, paper: Paper | PaperView) -> list[int]:
        """The ids of the subscriptions whose query matches ``paper``, each once, in no
        particular order (sort them if order matters: sorting costs more than matching)."""
        view = PaperView.of(paper)
        sets = self._sets(view)
        out: list[int] = []
        candidates = self._gather(sets, out)
        plans, all_sids = self._plans, self._sids
        for qid in candidates:
            required, excluded, checks = plans[qid]
            for space, keys in required:
                if not keys <= sets[space]:
                    break
            else:
                for space, keys in excluded:
                    if not keys.isdisjoint(sets[space]):
                        break
                else:
                    if not checks or _passes(checks, sets, view):
                        out.extend(all_sids[qid])
        return out

    def match_many(self, papers: Iterable[Paper | PaperView]) -> dict[str, list[int]]:
        """``match`` for each paper, by arXiv id; a paper that matches nothing maps to []."""
        match = self.match
        return {view.arxiv_id: match(view) for view in map(PaperView.of, papers)}


def _all_recurring(keys: list[IndexKey]) -> bool:
    return all(space in _RECURRING for space, _ in keys)
