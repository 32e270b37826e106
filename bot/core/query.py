"""The subscription query language: parse what people type into a canonical, matchable Query.

Grammar (DESIGN.md section 5), loosest binding first::

    query       := conjunct+                      terms AND together (a bare ``AND`` is allowed)
    conjunct    := unit (("OR" | "|") unit)*      OR binds tighter than the implicit AND
    unit        := ("-" | "NOT ") primary | primary
    primary     := "(" unit (OR unit)* ")" | term
    term        := word | "phrase" | field:word | field:"phrase" | upvotes(>=|>|:|=)N

So ``a b OR c`` means ``a AND (b OR c)``, and the normal form writes it ``a (b OR c)``.
Parentheses only group OR alternatives; ``-(a OR b)`` excludes both (normalised to ``-a -b``).
A negated term inside an OR group is refused: it would match nearly everything.

Fields: ``cat:`` (an arXiv category, ``cat:cs.CL``, or a whole archive, ``cat:cs``),
``au:``/``author:`` (every name token in one author's name, whole words; a one-letter token is
an initial), ``ti:``/``title:``, ``abs:``/``abstract:``, ``kw:`` (title, abstract and Hugging
Face ai_keywords), ``source:`` (arxiv or hf), ``upvotes>=N`` (only papers with Hugging Face
signals). Bare words and phrases search the title and the abstract.

Look-alike characters do not change what a query means: its structure (field names, the colon,
``-``, ``|``, parentheses, quotes, ``OR``, ``upvotes>=N``) and its categories and sources are
read through ``_shape``, which takes full-width and styled forms (NFKC) and Cyrillic, Greek and
Armenian letters that look Latin as the ASCII characters they look like, so ``cаt:cs.CL`` with
a Cyrillic ``а``, ``ｃａｔ：cs.CL`` and ``upvotes≥20`` mean what they show. Words stay as typed:
a word in another script is a word. Categories must exist (``bot.core.categories``); a query
read back from storage is parsed with ``parse_stored_query``, which keeps a category the
taxonomy no longer knows. Parentheses nest at most ``MAX_NESTING`` deep.

Text is compared case- and accent-insensitively (casefold, NFKD, marks dropped; ø, ł, æ, ß ...
spelled out), as whole words, after a light, predictable stemming (see ``stem``): a plural
-s/-es/-ies, then an -ing/-ed ending, then a final -e and a doubled final consonant are
dropped, so transformer/Transformers, model/models/modeling/modelling and
embed/embedding/embedded match each other. Phrases match consecutive words.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from bot.core.categories import ARCHIVES, TAXONOMY_URL, canonical, suggest
from bot.core.models import Paper

__all__ = [
    "ARCHIVES",
    "MAX_NESTING",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "UPVOTE_STEPS",
    "AuthorTerm",
    "CategoryTerm",
    "Conjunct",
    "IndexKey",
    "KeySpace",
    "PaperView",
    "Query",
    "QueryError",
    "Scope",
    "SourceTerm",
    "Term",
    "TextTerm",
    "UpvotesTerm",
    "fold",
    "parse_query",
    "parse_stored_query",
    "stem",
    "words",
]

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH: Final = 500
MAX_TERMS: Final = 40
# Parentheses only group alternatives, so nesting adds nothing; the limit keeps the parser's
# recursion far from Python's own.
MAX_NESTING: Final = 10
_MAX_UPVOTE_DIGITS: Final = 9

_FIELDS_HINT: Final = "use cat, au/author, ti/title, abs, kw, source or upvotes"


class QueryError(ValueError):
    """A query that cannot be parsed; ``position`` is the 0-based offset, ``hint`` the fix."""

    def __init__(self, problem: str, position: int, hint: str) -> None:
        super().__init__(f"{problem} at position {position}: {hint}")
        self.problem = problem
        self.position = position
        self.hint = hint


# --- text normalisation -------------------------------------------------------------------

# Letters NFKD does not decompose, spelled the way people type them without the accent.
_SPELL_OUT: Final = str.maketrans(
    {
        "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
        "þ": "th", "Þ": "Th", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i", "ħ": "h",
    }
)  # fmt: skip
_ASCII_WORD: Final = re.compile(r"[a-z0-9]+")
_WORD: Final = re.compile(r"[^\W_]+")


def _fold_once(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_SPELL_OUT).casefold())
    if not text.isascii():
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.casefold()


def _fold_unicode(text: str) -> str:
    # Rare characters can fold into something that folds further (casefold may add marks,
    # NFKD may add capitals); a few rounds reach the fixed point, so fold is idempotent.
    for _ in range(4):
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    return text


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text``: casefolded, NFKD, combining marks dropped."""
    if text.isascii():
        return text.lower()
    if len(text) <= 64:  # names and query words repeat; long texts (abstracts) do not
        return _fold_short(text)
    return _fold_unicode(text)


_fold_short = functools.lru_cache(maxsize=1 << 14)(_fold_unicode)


# ASCII bytes: capitals to lower case, letters and digits kept, everything else a space.
_ASCII_WORD_BYTES: Final = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256)
)


def words(text: str) -> list[str]:
    """The folded words of ``text``: runs of letters and digits, so punctuation separates words."""
    if text.isascii():  # most text: one C pass (bytes.translate), then split
        return text.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii").split()
    folded = fold(text)
    if folded.isascii():
        return _ASCII_WORD.findall(folded)
    return _WORD.findall(folded)


_KEEP_FINAL_S: Final = frozenset({"alias", "atlas", "bias", "canvas", "lens", "news"})
_KEEP_FINAL_ED: Final = frozenset(
    {"bleed", "breed", "embed", "feed", "hundred", "indeed", "need", "seed", "shed", "speed"}
)
_VOWELS: Final = frozenset("aeiouy")


def _stem(word: str) -> str:
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    # 1. plurals: -ies -> -y, -s dropped (not -ss, -us, -is, nor a few words ending in s)
    if len(word) > 4 and word.endswith(("ies", "ied")):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and word not in _KEEP_FINAL_S:
        word = word[:-1]
    # 2. -ing / -ed, when at least three letters with a vowel remain
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and word not in _KEEP_FINAL_ED:
            rest = word[: -len(suffix)]
            if len(rest) >= 3 and not _VOWELS.isdisjoint(rest):
                word = rest
            break
    # 3. a final -e, 4. a doubled final consonant (not ss): image/imaging, embedd -> embed
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiousy":
        word = word[:-1]
    return word


# word -> stem, shared by every paper (abstracts reuse a vocabulary); cleared when too big
_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_SIZE: Final = 1 << 19


def stem(word: str) -> str:
    """The light stem of a folded word; words with digits and words of 3 letters or less stay."""
    found = _STEM_CACHE.get(word)
    if found is None:
        if len(_STEM_CACHE) >= _STEM_CACHE_SIZE:
            _STEM_CACHE.clear()
        found = _STEM_CACHE[word] = sys.intern(_stem(word))
    return found


def _stem_seq(tokens: list[str]) -> tuple[str, ...]:
    """The stems of ``tokens`` in order, looked up in C when every token has been seen before."""
    try:
        return tuple(map(_STEM_CACHE.__getitem__, tokens))
    except KeyError:
        if len(_STEM_CACHE) + len(tokens) > _STEM_CACHE_SIZE:
            _STEM_CACHE.clear()
        return tuple(map(stem, tokens))


# --- the paper side -----------------------------------------------------------------------


def _source_name(name: str) -> str:
    name = name.casefold()
    if name.startswith("arxiv"):
        return "arxiv"
    if name.startswith(("hf", "huggingface", "hugging")):
        return "hf"
    return name


class KeySpace(IntEnum):
    """The kinds of keys a paper has (``PaperView.keys(space)``). A term's ``keys`` (each one
    required for it to hold) and its ``membership`` (the one key whose presence decides it)
    live in these spaces."""

    TEXT = 0  # stemmed words of title, abstract and HF keywords (kw:)
    AUTHOR = 1  # folded name words of any author
    CATEGORY = 2  # folded categories and their archives
    SOURCE = 3  # arxiv, hf
    TITLE = 4  # stemmed title words (ti:)
    ABSTRACT = 5  # stemmed abstract words (abs:)
    BODY = 6  # stemmed title and abstract words (bare words)
    UPVOTES = 7  # the UPVOTE_STEPS the paper's HF upvotes reach, as text ("10", "20", ...)
    NAMES = 8  # "lecun yann": two words of one author's name, in sorted order
    # word pairs: "a b", two consecutive stemmed words ...
    PAIR = 9  # ... in the title or in the abstract
    TITLE_PAIR = 10  # ... in the title
    ABSTRACT_PAIR = 11  # ... in the abstract


# Upvote floors people pick: a query at one of them is decided by one key.
UPVOTE_STEPS: Final = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


IndexKey = tuple[KeySpace, str]
_NAME_WORDS: Final = 16
_NO_KEYS: Final = frozenset[str]()

# Few category lists and source sets recur from paper to paper: fold each one once.
_RECURRING_KEYS: dict[object, frozenset[str]] = {}
_RECURRING_KEYS_SIZE: Final = 1 << 14


def _category_keys(categories: tuple[str, ...]) -> frozenset[str]:
    found = _RECURRING_KEYS.get(categories)
    if found is None:
        keys: set[str] = set()
        for category in categories:
            key = category.casefold()
            keys.add(key)
            keys.add(key.partition(".")[0])
        if len(_RECURRING_KEYS) >= _RECURRING_KEYS_SIZE:
            _RECURRING_KEYS.clear()
        found = _RECURRING_KEYS[categories] = frozenset(keys)
    return found


def _source_keys(sources: frozenset[str], hf: bool) -> frozenset[str]:
    found = _RECURRING_KEYS.get((sources, hf))
    if found is None:
        names = {_source_name(s) for s in sources} | ({"hf"} if hf else set())
        if len(_RECURRING_KEYS) >= _RECURRING_KEYS_SIZE:
            _RECURRING_KEYS.clear()
        found = _RECURRING_KEYS[(sources, hf)] = frozenset(names)
    return found


def _pairs(seq: tuple[str, ...]) -> frozenset[str]:
    return frozenset(map(" ".join, itertools.pairwise(seq)))


class PaperView:
    """A paper's searchable fields, folded, tokenised and stemmed once, shared by every query.

    Built eagerly: the stemmed word sequences, authors, categories, sources and upvotes (what
    the index reads). Word sets, name pairs and word pairs are built on first use.
    """

    __slots__ = (
        "_abstract_set",
        "_body_set",
        "_keyword_seqs",
        "_keyword_words",
        "_name_pairs",
        "_pair_sets",
        "_text_set",
        "_title_set",
        "abstract_seq",
        "arxiv_id",
        "author_set",
        "authors",
        "categories",
        "paper",
        "sources",
        "title_seq",
        "upvote_steps",
        "upvotes",
    )

    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        self.arxiv_id = paper.arxiv_id
        self.title_seq: tuple[str, ...] = _stem_seq(words(paper.title))
        self.abstract_seq: tuple[str, ...] = _stem_seq(words(paper.abstract))
        hf = paper.hf
        self._keyword_words = [words(k) for k in hf.ai_keywords] if hf is not None else []
        self._keyword_seqs: tuple[tuple[str, ...], ...] | None = None
        self._title_set: frozenset[str] | None = None
        self._abstract_set: frozenset[str] | None = None
        self._body_set: frozenset[str] | None = None
        self._text_set: frozenset[str] | None = None
        self._name_pairs: frozenset[str] | None = None
        self._pair_sets: tuple[frozenset[str], frozenset[str], frozenset[str]] | None = None
        # a name longer than _NAME_WORDS words is cut there (for au: and the index alike)
        self.authors: tuple[frozenset[str], ...] = tuple(
            [frozenset(words(a.name)[:_NAME_WORDS]) for a in paper.authors]  # no generator: faster
        )
        self.author_set: frozenset[str] = frozenset().union(*self.authors)
        self.categories: frozenset[str] = _category_keys(paper.categories)
        self.sources: frozenset[str] = _source_keys(paper.sources, hf is not None)
        self.upvotes: int | None = hf.upvotes if hf is not None else None
        self.upvote_steps: frozenset[str] = (
            _NO_KEYS
            if not self.upvotes
            else frozenset(str(step) for step in UPVOTE_STEPS if step <= self.upvotes)
        )

    @property
    def title_set(self) -> frozenset[str]:
        if self._title_set is None:
            self._title_set = frozenset(self.title_seq)
        return self._title_set

    @property
    def abstract_set(self) -> frozenset[str]:
        if self._abstract_set is None:
            self._abstract_set = frozenset(self.abstract_seq)
        return self._abstract_set

    @property
    def body_set(self) -> frozenset[str]:
        if self._body_set is None:
            self._body_set = self.title_set | self.abstract_set
        return self._body_set

    @property
    def keyword_seqs(self) -> tuple[tuple[str, ...], ...]:
        if self._keyword_seqs is None:
            self._keyword_seqs = tuple(_stem_seq(kw) for kw in self._keyword_words)
        return self._keyword_seqs

    @property
    def text_set(self) -> frozenset[str]:
        if self._text_set is None:
            keyword_seqs = self.keyword_seqs
            self._text_set = self.body_set.union(*keyword_seqs) if keyword_seqs else self.body_set
        return self._text_set

    @property
    def name_pairs(self) -> frozenset[str]:
        """Two words of one author's name, in sorted order: the keys of the NAMES space."""
        if self._name_pairs is None:
            self._name_pairs = frozenset(
                f"{a} {b}"
                for name in self.authors
                if len(name) > 1
                for a, b in itertools.combinations(sorted(name), 2)
            )
        return self._name_pairs

    @property
    def pair_sets(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """The word pairs of the PAIR, TITLE_PAIR and ABSTRACT_PAIR spaces."""
        if self._pair_sets is None:
            title, abstract = _pairs(self.title_seq), _pairs(self.abstract_seq)
            self._pair_sets = (title | abstract, title, abstract)
        return self._pair_sets

    def keys(self, space: KeySpace) -> frozenset[str]:
        """The paper's keys in ``space``."""
        if space >= KeySpace.PAIR:
            return self.pair_sets[space - KeySpace.PAIR]
        if space is KeySpace.TEXT:
            return self.text_set
        if space is KeySpace.AUTHOR:
            return self.author_set
        if space is KeySpace.CATEGORY:
            return self.categories
        if space is KeySpace.SOURCE:
            return self.sources
        if space is KeySpace.TITLE:
            return self.title_set
        if space is KeySpace.ABSTRACT:
            return self.abstract_set
        if space is KeySpace.BODY:
            return self.body_set
        if space is KeySpace.UPVOTES:
            return self.upvote_steps
        return self.name_pairs

    @classmethod
    def of(cls, paper: Paper | PaperView) -> PaperView:
        return paper if isinstance(paper, PaperView) else cls(paper)


def _contains_run(seq: tuple[str, ...], run: tuple[str, ...]) -> bool:
    first, n = run[0], len(run)
    try:
        i = seq.index(first)
        while True:
            if seq[i : i + n] == run:
                return True
            i = seq.index(first, i + 1)
    except ValueError:
        return False


# --- terms --------------------------------------------------------------------------------


class Scope(IntEnum):
    """The text a word or phrase is looked for in; the value orders the normal form."""

    TITLE = 3
    ABSTRACT = 4
    KEYWORDS = 5
    ANY = 6  # title or abstract


_SCOPE_SPACE: Final = {
    Scope.TITLE: KeySpace.TITLE,
    Scope.ABSTRACT: KeySpace.ABSTRACT,
    Scope.KEYWORDS: KeySpace.TEXT,
    Scope.ANY: KeySpace.BODY,
}
_SCOPE_PAIR_SPACE: Final = {
    Scope.TITLE: KeySpace.TITLE_PAIR,
    Scope.ABSTRACT: KeySpace.ABSTRACT_PAIR,
    Scope.ANY: KeySpace.PAIR,
}
_SCOPE_PREFIX: Final = {
    Scope.TITLE: "ti:",
    Scope.ABSTRACT: "abs:",
    Scope.KEYWORDS: "kw:",
    Scope.ANY: "",
}


def _render(tokens: tuple[str, ...]) -> str:
    joined = " ".join(tokens)
    return f'"{joined}"' if len(tokens) > 1 else joined


@dataclass(frozen=True, slots=True)
class TextTerm:
    """A word or a phrase (consecutive words) in a scope; ``stems`` are what is compared."""

    scope: Scope
    tokens: tuple[str, ...]  # folded words as typed, for the normal form
    stems: tuple[str, ...]

    @property
    def rank(self) -> int:
        return int(self.scope)

    @property
    def text(self) -> str:
        return _SCOPE_PREFIX[self.scope] + _render(self.tokens)

    @property
    def keys(self) -> tuple[IndexKey, ...]:
        space, stems = _SCOPE_SPACE[self.scope], self.stems
        words_in = tuple((space, s) for s in stems)
        pair_space = _SCOPE_PAIR_SPACE.get(self.scope)
        if pair_space is None:  # kw: a phrase may sit in an HF keyword, which has no pairs
            return words_in
        return tuple((pair_space, p) for p in self._pairs()) + words_in

    def _pairs(self) -> list[str]:
        return [f"{a} {b}" for a, b in itertools.pairwise(self.stems)]

    @property
    def membership(self) -> IndexKey | None:
        if len(self.stems) == 1:
            return (_SCOPE_SPACE[self.scope], self.stems[0])
        pair_space = _SCOPE_PAIR_SPACE.get(self.scope)
        if len(self.stems) == 2 and pair_space is not None:
            return (pair_space, self._pairs()[0])
        return None

    def holds(self, view: PaperView) -> bool:
        scope = self.scope
        if scope is Scope.ANY:
            words_set = view.body_set
        elif scope is Scope.TITLE:
            words_set = view.title_set
        elif scope is Scope.ABSTRACT:
            words_set = view.abstract_set
        else:
            words_set = view.text_set
        stems = self.stems
        if len(stems) == 1:
            return stems[0] in words_set
        for s in stems:
            if s not in words_set:
                return False
        if scope is Scope.TITLE:
            return _contains_run(view.title_seq, stems)
        if scope is Scope.ABSTRACT:
            return _contains_run(view.abstract_seq, stems)
        if _contains_run(view.title_seq, stems) or _contains_run(view.abstract_seq, stems):
            return True
        if scope is Scope.KEYWORDS:
            return any(_contains_run(kw, stems) for kw in view.keyword_seqs)
        return False


@dataclass(frozen=True, slots=True)
class AuthorTerm:
    """All of ``names`` (whole words) and ``initials`` (first letters) in one author's name."""

    tokens: tuple[str, ...]  # as typed (folded), for the normal form
    names: frozenset[str]
    initials: tuple[str, ...]

    @classmethod
    def of(cls, tokens: tuple[str, ...]) -> AuthorTerm:
        names = frozenset(t for t in tokens if len(t) > 1)
        return cls(tokens, names, tuple(t for t in tokens if len(t) == 1))

    @property
    def rank(self) -> int:
        return 2

    @property
    def text(self) -> str:
        return "au:" + _render(self.tokens)

    @property
    def keys(self) -> tuple[IndexKey, ...]:
        names = sorted(self.names)
        pairs = tuple((KeySpace.NAMES, f"{a} {b}") for a, b in itertools.combinations(names, 2))
        return pairs + tuple((KeySpace.AUTHOR, t) for t in names)

    @property
    def membership(self) -> IndexKey | None:
        if self.initials or len(self.names) > 2:
            return None
        if len(self.names) == 2:
            return (KeySpace.NAMES, " ".join(sorted(self.names)))
        return (KeySpace.AUTHOR, next(iter(self.names)))

    def holds(self, view: PaperView) -> bool:
        names = self.names
        if not names <= view.author_set:
            return False
        initials = self.initials
        for author in view.authors:
            if names <= author and (not initials or _initials_fit(initials, author - names)):
                return True
        return False


def _initials_fit(initials: tuple[str, ...], left: frozenset[str]) -> bool:
    remaining = sorted(left)
    for letter in initials:
        for i, word in enumerate(remaining):
            if word.startswith(letter):
                del remaining[i]
                break
        else:
            return False
    return True


@dataclass(frozen=True, slots=True)
class CategoryTerm:
    """An arXiv category (``cs.cl``) or a whole archive (``cs``), folded."""

    category: str

    @property
    def rank(self) -> int:
        return 0

    @property
    def text(self) -> str:
        archive, dot, subject = self.category.partition(".")
        if len(subject) == 2:  # cs.CL, astro-ph.GA, math.GT; but cond-mat.soft, physics.optics
            subject = subject.upper()
        return f"cat:{archive}{dot}{subject}"

    @property
    def keys(self) -> tuple[IndexKey, ...]:
        return ((KeySpace.CATEGORY, self.category),)

    @property
    def membership(self) -> IndexKey | None:
        return (KeySpace.CATEGORY, self.category)

    def holds(self, view: PaperView) -> bool:
        return self.category in view.categories


@dataclass(frozen=True, slots=True)
class SourceTerm:
    """Which source announced the paper: arxiv or hf (a paper with HF signals counts as hf)."""

    source: str

    @property
    def rank(self) -> int:
        return 1

    @property
    def text(self) -> str:
        return f"source:{self.source}"

    @property
    def keys(self) -> tuple[IndexKey, ...]:
        return ((KeySpace.SOURCE, self.source),)

    @property
    def membership(self) -> IndexKey | None:
        return (KeySpace.SOURCE, self.source)

    def holds(self, view: PaperView) -> bool:
        return self.source in view.sources


@dataclass(frozen=True, slots=True)
class UpvotesTerm:
    """At least ``minimum`` Hugging Face upvotes; a paper without HF signals never qualifies."""

    minimum: int

    @property
    def rank(self) -> int:
        return 7

    @property
    def text(self) -> str:
        return f"upvotes>={self.minimum}"

    @property
    def keys(self) -> tuple[IndexKey, ...]:
        steps = [step for step in UPVOTE_STEPS if step <= self.minimum]
        if not steps:
            return ((KeySpace.SOURCE, "hf"),)
        return ((KeySpace.UPVOTES, str(steps[-1])), (KeySpace.SOURCE, "hf"))

    @property
    def membership(self) -> IndexKey | None:
        if self.minimum == 0:
            return (KeySpace.SOURCE, "hf")
        if self.minimum in UPVOTE_STEPS:
            return (KeySpace.UPVOTES, str(self.minimum))
        return None

    def holds(self, view: PaperView) -> bool:
        upvotes = view.upvotes
        return upvotes is not None and upvotes >= self.minimum


# Every term has: ``text`` (its normal form), ``rank`` (its place in the normal form),
# ``keys`` (index keys, each one required for it to hold), ``membership`` (the one key whose
# presence alone decides it, if there is one) and ``holds(view)``.
Term = TextTerm | AuthorTerm | CategoryTerm | SourceTerm | UpvotesTerm


def _term_order(term: Term) -> tuple[int, str]:
    return (term.rank, term.text)


@dataclass(frozen=True, slots=True)
class Conjunct:
    """One AND-ed part of a query: any of ``terms`` holds, or (negated) none of them does."""

    terms: tuple[Term, ...]
    negated: bool = False

    @property
    def text(self) -> str:
        if len(self.terms) == 1:
            body = self.terms[0].text
        else:
            body = "(" + " OR ".join(t.text for t in self.terms) + ")"
        return "-" + body if self.negated else body

    def holds(self, view: PaperView) -> bool:
        for term in self.terms:
            if term.holds(view):
                return not self.negated
        return self.negated


def _conjunct_order(conjunct: Conjunct) -> tuple[bool, int, bool, str]:
    return (conjunct.negated, conjunct.terms[0].rank, len(conjunct.terms) > 1, conjunct.text)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed subscription query; equal queries have equal ``normalized`` text."""

    normalized: str
    conjuncts: tuple[Conjunct, ...] = field(compare=False, repr=False)

    @property
    def positive(self) -> tuple[Conjunct, ...]:
        return tuple(c for c in self.conjuncts if not c.negated)

    def matches(self, paper: Paper | PaperView) -> bool:
        """Whether the paper satisfies every conjunct (pass a PaperView to share the work)."""
        view = paper if isinstance(paper, PaperView) else PaperView(paper)
        for conjunct in self.conjuncts:  # noqa: SIM110 - hot path: a loop beats all(generator)
            if not conjunct.holds(view):
                return False
        return True

    def __str__(self) -> str:
        return self.normalized


# --- look-alike characters ---------------------------------------------------------------

# Letters of other scripts that look like Latin ones (after Unicode's confusables list, the
# ones a keyboard layout left on or a spoofer reaches for first), and look-alikes of the
# colon and the minus sign that NFKC leaves alone.
_LOOKALIKE_PAIRS: Final = (
    # Cyrillic
    "аa сc ԁd еe һh іi јj кk ӏl оo рp ԛq гr ѕs тt ѵv ԝw хx уy пn цu "
    "АA ВB СC ЕE НH ІI ЈJ КK ӀI МM ОO РP ЅS ТT ХX УY ҮY ԜW Ьb "
    # Greek
    "αa ϲc ιi ϳj κk νv οo ρp τt υu χx γy "
    "ΑA ΒB ϹC ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX "
    # Armenian
    "օo ՕO սu ՍU հh ոn ցg զq ՏS քf "
    # Latin letters NFKC keeps: dotless i and j, script a and g, small capitals
    "ıi ȷj ɑa ɡg ɩi ɪi ᴀa ᴄc ᴋk ᴏo ᴛt ᴜu ᴠv ᴡw ᴢz ꜱs "
    # colons and minus signs (not the letters that look like a colon, such as IPA's ː: a
    # letter is part of a word, and a stored word must stay one)
    "∶: ꞉: ˸: ։: ׃: ⁚: ︰: ‐- ‑- ‒- –- −- ˗-"
)
_LOOKALIKES: Final = str.maketrans({pair[0]: pair[1] for pair in _LOOKALIKE_PAIRS.split()})


@functools.lru_cache(maxsize=4096)
def _shape_of(ch: str) -> str:
    mapped = ch.translate(_LOOKALIKES)
    if mapped.isascii():
        return mapped
    compatible = unicodedata.normalize("NFKC", ch)  # full-width and styled forms: ａ, ：, 𝐜
    if len(compatible) == 1 and compatible.isascii():
        return compatible
    digit = unicodedata.decimal(ch, None)  # digits of other scripts: ٢٠
    return ch if digit is None else str(digit)


def _shape(text: str) -> str:
    """``text`` with each character that stands for an ASCII one replaced by it, one for one,
    so offsets into it are offsets into ``text``: what the query's structure is read from."""
    if text.isascii():
        return text
    return "".join([_shape_of(ch) for ch in text])


def _visible(text: str) -> str:
    """``text`` without invisible format characters (zero-width space, soft hyphen, bidi)."""
    if text.isascii():
        return text
    return "".join([ch for ch in text if unicodedata.category(ch) != "Cf"])


def _typed_in_latin(name: str) -> bool:
    """Whether ``name`` is Latin letters, maybe full-width or styled (not look-alikes)."""
    compatible = unicodedata.normalize("NFKC", _visible(name))
    return compatible.isascii() and compatible.isalpha()


# --- the parser ---------------------------------------------------------------------------

_QUOTES: Final = frozenset('"“”„«»')
_DELIMITERS: Final = frozenset("|()") | _QUOTES
_UPVOTES: Final = re.compile(r"(?i)upvotes\s*(>=|=>|≥|⩾|<=|=<|≤|⩽|>|<|:|=)\s*")
_CATEGORY: Final = re.compile(r"[a-z][a-z-]*(?:\.[a-z][a-z-]*)?")
_SOURCES: Final = {"arxiv": "arxiv", "hf": "hf", "huggingface": "hf"}
_FIELD_NAMES: Final = {
    "cat": "cat",
    "au": "au",
    "author": "au",
    "ti": "ti",
    "title": "ti",
    "abs": "abs",
    "abstract": "abs",
    "kw": "kw",
    "source": "source",
}
_TEXT_SCOPES: Final = {"ti": Scope.TITLE, "abs": Scope.ABSTRACT, "kw": Scope.KEYWORDS}


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: str  # "term", "or", "and", "not", "(", ")"
    pos: int
    term: Term | None = None


@dataclass(frozen=True, slots=True)
class _Unit:
    terms: tuple[Term, ...]
    negated: bool
    pos: int


class _Parser:
    def __init__(self, text: str, *, known_categories: bool = True) -> None:
        self.text = text
        self.shape = _shape(text)  # structure is read here; words are taken from text
        self.known_categories = known_categories
        self.lexemes: list[_Lexeme] = []
        self.i = 0
        self.terms = 0
        self.depth = 0

    # lexing ----------------------------------------------------------------------------

    def lex(self) -> None:
        shape, n, pos = self.shape, len(self.shape), 0
        while pos < n:
            ch = shape[pos]
            if ch.isspace():
                pos += 1
            elif ch == "|":
                self.lexemes.append(_Lexeme("or", pos))
                pos += 1
            elif ch in "()":
                self.lexemes.append(_Lexeme(ch, pos))
                pos += 1
            elif ch == "-":
                nxt = shape[pos + 1] if pos + 1 < n else ""
                if not nxt or nxt.isspace() or nxt in "|)-":
                    raise QueryError(
                        "a - with no term after it",
                        pos,
                        "write it right before the term to exclude, like -survey",
                    )
                self.lexemes.append(_Lexeme("not", pos))
                pos += 1
            elif ch in _QUOTES:
                value, end = self.phrase(pos)
                self.lexemes.append(_Lexeme("term", pos, self.text_term(None, value, pos, True)))
                pos = end
            else:
                pos = self.word(pos)

    def phrase(self, start: int) -> tuple[str, int]:
        """The phrase opening at ``start``; returns its content and the offset after it."""
        end = start + 1
        while end < len(self.shape) and self.shape[end] not in _QUOTES:
            end += 1
        if end >= len(self.shape):
            raise QueryError("unbalanced quote", start, 'close the phrase with "')
        return self.text[start + 1 : end], end + 1

    def word_end(self, pos: int) -> int:
        shape = self.shape
        while pos < len(shape) and not shape[pos].isspace() and shape[pos] not in _DELIMITERS:
            pos += 1
        return pos

    def word(self, start: int) -> int:
        text, shape = self.text, self.shape
        upvotes = _UPVOTES.match(shape, start)
        if upvotes is not None:
            op = upvotes.group(1)
            if op.startswith(("<", "=<", "≤", "⩽")):
                raise QueryError(
                    f"upvotes{text[upvotes.start(1) : upvotes.end(1)]} is not supported",
                    start,
                    "write upvotes>=N for at least N upvotes, or -upvotes>=N for fewer than N",
                )
            number_at = upvotes.end()
            end = self.word_end(number_at)
            digits = _visible(shape[number_at:end])
            if not digits.isascii() or not digits.isdigit():
                raise QueryError(
                    f"upvotes needs a whole number, not {text[number_at:end]!r}",
                    number_at,
                    "write upvotes>=20",
                )
            if len(digits.lstrip("0")) > _MAX_UPVOTE_DIGITS:
                raise QueryError(
                    f"{digits} upvotes is more than any paper gets",
                    number_at,
                    "use a smaller number",
                )
            minimum = int(digits) + (1 if op == ">" else 0)
            self.add_term(UpvotesTerm(minimum), start)
            return end
        end = self.word_end(start)
        named = self.field(start, end)
        if named is None:
            if shape[start:end] in ("OR", "AND", "NOT"):
                self.lexemes.append(_Lexeme(shape[start:end].lower(), start))
            else:
                word = text[start:end]
                self.lexemes.append(
                    _Lexeme("term", start, self.text_term(None, word, start, False))
                )
            return end
        canonical_field, colon = named
        name, value_at = text[start:colon], colon + 1
        quoted = False
        if value_at == end and value_at < len(text) and shape[value_at] in _QUOTES:
            value, end = self.phrase(value_at)
            value_shape = shape[value_at + 1 : end - 1]
            quoted = True
        else:
            value, value_shape = text[value_at:end], shape[value_at:end]
        if not value and not quoted:
            example = {
                "cat": "cat:cs.CL",
                "au": 'au:lecun or au:"Yann LeCun"',
                "source": "source:hf",
            }.get(canonical_field, f'{canonical_field}:transformer or {canonical_field}:"a phrase"')
            raise QueryError(f"{name}: has no value", value_at, f"write {example}")
        if canonical_field == "cat":
            term: Term = self.category(value, value_shape, value_at)
        elif canonical_field == "au":
            term = self.author(value, value_at)
        elif canonical_field == "source":
            source = _SOURCES.get(_visible(value_shape).strip().casefold())
            if source is None:
                raise QueryError(
                    f'unknown source "{value}"', value_at, "use source:arxiv or source:hf"
                )
            term = SourceTerm(source)
        else:
            term = self.text_term(_TEXT_SCOPES[canonical_field], value, value_at, quoted)
        self.lexemes.append(_Lexeme("term", start, term))
        self.count(start)
        return end

    def field(self, start: int, end: int) -> tuple[str, int] | None:
        """The field a word from ``start`` to ``end`` names before its colon, and where the
        colon is; None when the word names no field.

        Read through the shape, so ``cаt:`` (Cyrillic а) and ``ｃａｔ：`` are ``cat:``. A name
        typed in Latin letters that is no field is refused; one in another script (``кот:``)
        that only looks like letters of no field is text, as before.
        """
        colon = self.shape.find(":", start, end)
        if colon <= start:
            return None
        name = _visible(self.shape[start:colon]).casefold()
        if not (name.isascii() and name.isalpha()):
            return None
        canonical_field = _FIELD_NAMES.get(name)
        if canonical_field is not None:
            return canonical_field, colon
        if _typed_in_latin(self.text[start:colon]):
            raise QueryError(
                f'unknown field "{self.text[start:colon]}"',
                start,
                f"{_FIELDS_HINT} (or put the words in quotes to search for them)",
            )
        return None

    # terms -----------------------------------------------------------------------------

    def count(self, pos: int) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QueryError(
                f"more than {MAX_TERMS} terms",
                pos,
                "split the query into several subscriptions",
            )

    def add_term(self, term: Term, pos: int) -> None:
        self.lexemes.append(_Lexeme("term", pos, term))
        self.count(pos)

    def text_term(self, scope: Scope | None, value: str, pos: int, quoted: bool) -> TextTerm:
        tokens = tuple(sys.intern(w) for w in words(value))
        if not tokens:
            if quoted and not value.strip():
                raise QueryError(
                    "empty phrase", pos, "put words between the quotes, or remove them"
                )
            raise QueryError(
                f"{value!r} has no letters or digits", pos, "search for words, like diffusion"
            )
        stems = tuple(map(stem, tokens))
        term = TextTerm(scope if scope is not None else Scope.ANY, tokens, stems)
        if scope is None:  # field terms are counted by word()
            self.count(pos)
        return term

    def category(self, value: str, shape: str, pos: int) -> CategoryTerm:
        category = _visible(shape).strip().casefold()
        category = category.removesuffix(".*").removesuffix(".")
        if not _CATEGORY.fullmatch(category):
            raise QueryError(
                f'"{value}" is not an arXiv category',
                pos,
                _did_you_mean(category) or "write cat:cs.CL, or cat:cs for all of cs",
            )
        archive = category.partition(".")[0]
        if archive not in ARCHIVES:
            raise QueryError(
                f'unknown arXiv archive "{archive}"',
                pos,
                _did_you_mean(category)
                or "write a category like cat:cs.CL or an archive like cat:cs, cat:math, "
                "cat:stat, cat:astro-ph, cat:cond-mat, cat:hep-th, cat:q-bio or cat:eess",
            )
        if self.known_categories and canonical(category) is None:
            raise QueryError(
                f"no such arXiv category {value.strip()}",
                pos,
                _did_you_mean(category)
                or f"write cat:{archive} for all of {archive}, or pick one from {TAXONOMY_URL}",
            )
        return CategoryTerm(sys.intern(category))

    def author(self, value: str, pos: int) -> AuthorTerm:
        tokens = tuple(sys.intern(w) for w in words(value))
        if not any(len(t) > 1 for t in tokens):
            raise QueryError(
                "au: needs a name, not just initials", pos, 'write au:lecun or au:"Yann LeCun"'
            )
        return AuthorTerm.of(tokens)

    # parsing ---------------------------------------------------------------------------

    def peek(self) -> _Lexeme | None:
        return self.lexemes[self.i] if self.i < len(self.lexemes) else None

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.i]
        self.i += 1
        return lexeme

    def parse(self) -> list[Conjunct]:
        conjuncts: list[Conjunct] = []
        while (lexeme := self.peek()) is not None:
            if lexeme.kind == "and":
                self.take()
                after = self.peek()
                if not conjuncts or after is None or after.kind in ("or", "and", ")"):
                    raise QueryError(
                        "AND without a term on both sides", lexeme.pos, "write a AND b, or just a b"
                    )
                continue
            conjuncts.extend(self.conjunct())
        return conjuncts

    def conjunct(self) -> list[Conjunct]:
        units = [self.unit()]
        while (lexeme := self.peek()) is not None and lexeme.kind == "or":
            self.take()
            after = self.peek()
            if after is None or after.kind in ("or", "and", ")"):
                raise QueryError(
                    "OR without a term after it",
                    lexeme.pos,
                    "put a term on both sides, like a OR b",
                )
            units.append(self.unit())
        if len(units) == 1:
            unit = units[0]
            if unit.negated:  # -(a OR b) excludes a and excludes b
                return [Conjunct((t,), negated=True) for t in unit.terms]
            return [_alternatives(unit.terms)]
        for unit in units:
            if unit.negated:
                raise _negated_alternative(unit.pos)
        return [_alternatives(tuple(t for unit in units for t in unit.terms))]

    def unit(self) -> _Unit:
        lexeme = self.take()
        if lexeme.kind == "not":
            after = self.peek()
            if after is None or after.kind not in ("term", "("):
                raise QueryError(
                    "a - or NOT with no term after it",
                    lexeme.pos,
                    "write it right before the term to exclude, like -survey",
                )
            inner = self.unit()
            return _Unit(inner.terms, True, lexeme.pos)
        if lexeme.term is not None:
            return _Unit((lexeme.term,), False, lexeme.pos)
        if lexeme.kind == "(":
            return self.group(lexeme.pos)
        if lexeme.kind == "or":
            raise QueryError(
                "OR without a term before it", lexeme.pos, "put a term on both sides, like a OR b"
            )
        if lexeme.kind == ")":
            raise QueryError("unmatched )", lexeme.pos, "remove it, or open the group with (")
        raise QueryError(
            "AND without a term on both sides", lexeme.pos, "write a AND b, or just a b"
        )

    def group(self, start: int) -> _Unit:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise QueryError(
                f"parentheses nested more than {MAX_NESTING} deep",
                start,
                "one level is enough: parentheses only group alternatives, like (a OR b OR c)",
            )
        unit = self.alternatives(start)
        self.depth -= 1
        return unit

    def alternatives(self, start: int) -> _Unit:
        """The OR-ed terms of the group opened at ``start``, up to its closing parenthesis."""
        terms: list[Term] = []
        while True:
            lexeme = self.peek()
            if lexeme is None:
                raise QueryError("unclosed (", start, "close the group with )")
            if lexeme.kind == ")":
                self.take()
                if not terms:
                    raise QueryError(
                        "empty parentheses",
                        start,
                        'put alternatives inside, like (llm OR "language model")',
                    )
                return _Unit(tuple(terms), False, start)
            if terms:
                if lexeme.kind != "or":
                    raise QueryError(
                        "two terms in parentheses without OR",
                        lexeme.pos,
                        "write (a OR b), or drop the parentheses to require both",
                    )
                self.take()
                after = self.peek()
                if after is None or after.kind in ("or", "and", ")"):
                    raise QueryError(
                        "OR without a term after it",
                        lexeme.pos,
                        "put a term on both sides, like a OR b",
                    )
            unit = self.unit()
            if unit.negated:
                raise _negated_alternative(unit.pos)
            terms.extend(unit.terms)


def _did_you_mean(category: str) -> str:
    """``did you mean cat:cs.CL or cat:cs.CV?`` for the closest real categories, or ""."""
    names = [f"cat:{name}" for name in suggest(category)]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"did you mean {listed}?"


def _negated_alternative(pos: int) -> QueryError:
    return QueryError(
        "a negated term inside an OR group",
        pos,
        "exclude it on its own, outside the OR (a OR b -c), or drop the -",
    )


def _alternatives(terms: tuple[Term, ...]) -> Conjunct:
    unique = {t.text: t for t in terms}
    return Conjunct(tuple(sorted(unique.values(), key=_term_order)))


def _canonical(conjuncts: list[Conjunct]) -> tuple[Conjunct, ...]:
    """Drop duplicates, keep the highest upvotes floor, and order conjuncts for the normal form."""
    unique: dict[str, Conjunct] = {}
    floor: UpvotesTerm | None = None
    for c in conjuncts:
        term = c.terms[0]
        if not c.negated and len(c.terms) == 1 and isinstance(term, UpvotesTerm):
            if floor is None or term.minimum > floor.minimum:
                floor = term
            continue
        unique.setdefault(c.text, c)
    if floor is not None:
        unique.setdefault(floor.text, Conjunct((floor,)))
    if len(_SHARED_CONJUNCTS) > _SHARED_CONJUNCTS_SIZE:
        _SHARED_CONJUNCTS.clear()
    # many subscriptions say cat:cs.LG or -survey: one (immutable) Conjunct serves them all
    shared = [_SHARED_CONJUNCTS.setdefault(text, c) for text, c in unique.items()]
    return tuple(sorted(shared, key=_conjunct_order))


_SHARED_CONJUNCTS: dict[str, Conjunct] = {}
_SHARED_CONJUNCTS_SIZE: Final = 1 << 18


def parse_query(text: str) -> Query:
    """Parse a subscription query; raise QueryError naming the position and the fix."""
    return _parse(text, known_categories=True)


def parse_stored_query(normalized: str) -> Query:
    """Parse a query read back from storage (its normal form) as ``parse_query`` does, but
    keep a category the taxonomy does not know (stored before categories were checked, or
    taken out of the taxonomy since): refusing it would stop every subscription loading."""
    return _parse(normalized, known_categories=False)


def _parse(text: str, *, known_categories: bool) -> Query:
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"query too long ({len(text)} characters)",
            MAX_QUERY_LENGTH,
            f"keep it under {MAX_QUERY_LENGTH} characters, or split it into several subscriptions",
        )
    parser = _Parser(text, known_categories=known_categories)
    parser.lex()
    conjuncts = _canonical(parser.parse())
    if not conjuncts:
        raise QueryError(
            "empty query", 0, 'type at least one term, like cat:cs.CL or "diffusion model"'
        )
    positive = {c.text for c in conjuncts if not c.negated}
    if not positive:
        raise QueryError(
            "the query only excludes (it would match nearly every paper)",
            0,
            "add at least one positive term, like cat:cs.CL -survey",
        )
    for c in conjuncts:
        if c.negated and c.text[1:] in positive:
            pos = _position_of(parser, c)
            raise QueryError(
                f"{c.text[1:]} is both required and excluded", pos, "remove one of the two"
            )
    normalized = " ".join(c.text for c in conjuncts)
    if len(normalized) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"query too long once written out in full ({len(normalized)} characters)",
            0,
            f"keep it under {MAX_QUERY_LENGTH} characters, or split it into several subscriptions",
        )
    log.debug("parsed query %r as %r", text, normalized)
    return Query(normalized, conjuncts)


def _position_of(parser: _Parser, conjunct: Conjunct) -> int:
    """Where the excluded copy of a term was typed (best effort, for the error message)."""
    target = conjunct.terms[0].text
    lexemes = parser.lexemes
    hits = [i for i, lx in enumerate(lexemes) if lx.term is not None and lx.term.text == target]
    for i in hits:
        if i > 0 and lexemes[i - 1].kind == "not":
            return lexemes[i - 1].pos
    return lexemes[hits[-1]].pos if hits else 0
