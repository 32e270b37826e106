"""The arXiv category taxonomy, shipped as data: every archive and subject class, current and
retired, so a subscription or a setting naming one that does not exist is refused with a
suggestion instead of silently matching nothing.

From arXiv's own taxonomy (arxiv.org/category_taxonomy and its definitions in arxiv-base):
archives (``cs``, ``math``, ``hep-th`` ...), their subject classes (``cs.CL``, ``math.AG``,
``cond-mat.soft`` ...), the archives retired in the 1990s (``cmp-lg``, ``alg-geom`` ...),
which old papers still carry as their category, and the three archives old papers carry bare
(``astro-ph``, ``cond-mat``, ``q-bio``). Aliases (``math.MP`` = ``math-ph``, ``cs.SY`` =
``eess.SY`` ...) are categories in their own right: arXiv lists a paper under both names.

Names are compared case-insensitively; ``canonical`` gives arXiv's spelling (``cs.CL``,
``cond-mat.mes-hall``). New categories are rare (a handful a decade): add them here.
"""

from __future__ import annotations

import functools
from types import MappingProxyType
from typing import Final

__all__ = [
    "ARCHIVES",
    "CATEGORIES",
    "RETIRED",
    "TAXONOMY_URL",
    "canonical",
    "is_archive",
    "is_category",
    "suggest",
]

TAXONOMY_URL: Final = "https://arxiv.org/category_taxonomy"

# Current archives and their subject classes; an archive with none is a category itself.
_SUBJECT_CLASSES: Final = {
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "cs": (
        "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE "
        "NI OH OS PF PL RO SC SD SE SI SY"
    ),
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "gr-qc": "",
    "hep-ex": "",
    "hep-lat": "",
    "hep-ph": "",
    "hep-th": "",
    "math": (
        "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA RT "
        "SG SP ST"
    ),
    "math-ph": "",
    "nlin": "AO CD CG PS SI",
    "nucl-ex": "",
    "nucl-th": "",
    "physics": (
        "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph "
        "flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph"
    ),
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "quant-ph": "",
    "stat": "AP CO ME ML OT TH",
}

# Archives that take no new papers, each a category on its old papers, and where it went.
RETIRED: Final = MappingProxyType(
    {
        "acc-phys": "physics.acc-ph",
        "adap-org": "nlin.AO",
        "alg-geom": "math.AG",
        "ao-sci": "physics.ao-ph",
        "atom-ph": "physics.atom-ph",
        "bayes-an": "physics.data-an",
        "chao-dyn": "nlin.CD",
        "chem-ph": "physics.chem-ph",
        "cmp-lg": "cs.CL",
        "comp-gas": "nlin.CG",
        "dg-ga": "math.DG",
        "funct-an": "math.FA",
        "mtrl-th": "cond-mat.mtrl-sci",
        "patt-sol": "nlin.PS",
        "plasm-ph": "physics.plasm-ph",
        "q-alg": "math.QA",
        "solv-int": "nlin.SI",
        "supr-con": "cond-mat.supr-con",
    }
)

# Archives that old papers carry as a bare category, from before they had subject classes
# (astro-ph until 2008, cond-mat until 2004, q-bio until 2003).
_BARE_ON_OLD_PAPERS: Final = ("astro-ph", "cond-mat", "q-bio")

ARCHIVES: Final = frozenset(_SUBJECT_CLASSES) | frozenset(RETIRED)
"""Every archive, current and retired: what ``cat:ARCHIVE`` (a whole archive) accepts."""

CATEGORIES: Final = tuple(
    sorted(
        [
            f"{archive}.{subject}" if subject else archive
            for archive, subjects in _SUBJECT_CLASSES.items()
            for subject in (subjects.split() or [""])
        ]
        + list(RETIRED)
        + list(_BARE_ON_OLD_PAPERS),
        key=str.casefold,
    )
)
"""Every category a paper can carry, in arXiv's spelling (``cs.CL``, ``hep-th``, ``cmp-lg``)."""

# folded name -> arXiv's spelling, for categories and whole archives alike
_SPELLING: Final = MappingProxyType(
    {name.casefold(): name for name in (*CATEGORIES, *sorted(ARCHIVES))}
)

# Names people write for a category that has another code, and what they mean by it.
_MEANT: Final = MappingProxyType(
    {
        "cs.ml": ("cs.LG", "stat.ML"),
        "cs.nlp": ("cs.CL",),
        "cs.rl": ("cs.LG",),
        "stat.lg": ("cs.LG", "stat.ML"),
    }
)


def canonical(name: str) -> str | None:
    """arXiv's spelling of a category or archive (``CS.cl`` -> ``cs.CL``), or None if unknown."""
    return _SPELLING.get(name.strip().casefold())


def is_category(name: str) -> bool:
    """Whether ``name`` (any letter case) is a category or a whole archive, current or
    retired: what a ``cat:`` term and the arXiv categories setting accept."""
    return canonical(name) is not None


def is_archive(name: str) -> bool:
    """Whether ``name`` (any letter case) is an archive, current or retired (``cs``, ``hep-th``)."""
    return name.strip().casefold() in ARCHIVES


def suggest(name: str, limit: int = 3) -> list[str]:
    """The real categories or archives closest to ``name``, best first (at most ``limit``).

    Close means: one or two typing slips away (``cs.CLL``, ``cs.LC`` -> ``cs.CL``), the same
    subject class in another archive (``stat.LG`` -> ``cs.LG``), a known category it begins
    (``cond-mat.mes`` -> ``cond-mat.mes-hall``), the same name but for dashes
    (``hepth``, ``hep_th`` -> ``hep-th``), or a subject class alone (``CL`` -> ``cs.CL``).
    A name that is real is its own suggestion; a name close to nothing gets ``[]``.
    """
    return list(_suggest(name.strip().casefold().replace("_", "-"))[:limit])


@functools.lru_cache(maxsize=256)
def _suggest(key: str) -> tuple[str, ...]:
    if key in _SPELLING:
        return (_SPELLING[key],)
    if key in _MEANT:
        return _MEANT[key]
    archive, dot, subject = key.partition(".")
    undashed = key.replace("-", "")
    letters = sorted(key)
    slack = 1 if len(subject if dot else key) <= 5 else 2  # a two-letter class allows one slip
    scored: list[tuple[float, bool, str]] = []
    for folded, spelling in _SPELLING.items():
        their_archive, _, their_subject = folded.partition(".")
        if folded.replace("-", "") == undashed:
            score = 0.5
        elif their_subject and their_subject == (subject if dot else key):
            score = 0.75  # the subject class is right, the archive is wrong or missing
        elif len(key) >= 3 and folded.startswith(key):
            score = 1.0
        else:
            distance = _distance(key, folded, slack)
            if distance > slack:
                continue
            # two neighbours swapped (cs.LC -> cs.CL) is likelier than a wrong letter
            score = distance - 0.25 if distance == 1 and sorted(folded) == letters else distance
        scored.append((score, their_archive != archive, spelling))
    if not scored:
        return ()
    best = min(scored)[0]
    return tuple(spelling for score, _, spelling in sorted(scored) if score == best)


def _distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from ``a`` to ``b``; any answer
    above ``limit`` is returned as ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)
