"""The arXiv taxonomy: complete (every category the recorded feeds carry is known), exact
(arXiv's spelling), and helpful about names that do not exist."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from functools import cache

import pytest
from lxml import etree

from bot.core.categories import (
    ARCHIVES,
    CATEGORIES,
    RETIRED,
    canonical,
    is_archive,
    is_category,
    suggest,
)
from bot.core.ids import OLD_STYLE_ARCHIVES
from tests.paths import FIXTURES

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_ATOM_CATEGORY = "{http://www.w3.org/2005/Atom}category"


@cache
def recorded_categories() -> frozenset[str]:
    """Every category the recorded arXiv RSS, API, OAI and metadata-snapshot answers carry."""
    found: set[str] = set()
    for path in sorted((FIXTURES / "arxiv_rss").iterdir()):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        root = etree.fromstring(data, _PARSER)
        found.update(c.text.strip() for c in root.iter("category") if c.text)
    for path in sorted((FIXTURES / "arxiv_api").rglob("*.xml")):
        root = etree.fromstring(path.read_bytes(), _PARSER)
        found.update(c.get("term", "") for c in root.iter(_ATOM_CATEGORY))
    for path in sorted((FIXTURES / "arxiv_oai").glob("*.xml")):
        # arXiv's OAI formats list a record's categories space-separated in <categories>
        text = path.read_text(encoding="utf-8")
        for listed in re.findall(r"<(?:\w+:)?categories>([^<]*)<", text):
            found.update(listed.split())
    snapshot = FIXTURES / "arxiv_metadata_snapshot"
    with (snapshot / "kaggle_arxiv_metadata_oai_snapshot_first200.jsonl").open() as lines:
        for line in lines:
            found.update(json.loads(line)["categories"].split())
    found.discard("")
    return frozenset(found)


def test_every_category_in_the_recorded_feeds_is_known_in_arxivs_spelling() -> None:
    recorded = recorded_categories()
    assert len(recorded) > 140  # the full listing day covers most of the taxonomy
    assert sorted(recorded - set(CATEGORIES)) == []


def test_the_taxonomy_has_every_subject_class_of_each_archive() -> None:
    per_archive = Counter(name.partition(".")[0] for name in CATEGORIES if "." in name)
    assert per_archive == {
        "astro-ph": 6,
        "cond-mat": 9,
        "cs": 40,
        "econ": 3,
        "eess": 4,
        "math": 32,
        "nlin": 5,
        "physics": 22,
        "q-bio": 10,
        "q-fin": 9,
        "stat": 6,
    }
    standalone = {name for name in CATEGORIES if "." not in name}
    assert standalone == {
        *("gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph"),
        *("nucl-ex", "nucl-th", "quant-ph"),
        *("astro-ph", "cond-mat", "q-bio"),  # bare on old papers
        *RETIRED,
    }
    assert len(CATEGORIES) == len(set(CATEGORIES)) == 176


@pytest.mark.parametrize(
    "name",
    ["cs.AI", "cs.GL", "cs.OH", "cs.SC", "math.GM", "math.MP", "q-bio.SC", "q-fin.GN", "q-fin.TR",
     "physics.pop-ph", "physics.atm-clus", "nlin.CG", "eess.SY", "cs.SY", "econ.GN", "stat.TH"],
)  # fmt: skip
def test_categories_seldom_seen_in_a_days_listing_are_known(name: str) -> None:
    assert name in CATEGORIES


def test_archives_are_the_current_and_retired_ones() -> None:
    assert OLD_STYLE_ARCHIVES < ARCHIVES
    new_style_only = ARCHIVES - OLD_STYLE_ARCHIVES
    assert new_style_only == {"econ", "eess", "q-fin", "stat"}
    assert set(RETIRED) < ARCHIVES
    assert all(successor in CATEGORIES for successor in RETIRED.values())
    assert {name.partition(".")[0] for name in CATEGORIES} <= ARCHIVES


@pytest.mark.parametrize(
    ("name", "spelling"),
    [
        ("cs.CL", "cs.CL"),
        ("CS.cl", "cs.CL"),
        (" cs.cl ", "cs.CL"),
        ("COND-MAT.MES-HALL", "cond-mat.mes-hall"),
        ("Physics.Optics", "physics.optics"),
        ("HEP-TH", "hep-th"),
        ("cs", "cs"),
        ("Astro-PH", "astro-ph"),
        ("cmp-lg", "cmp-lg"),
        ("cs.XX", None),
        ("cs.", None),
        ("test.dis-nn", None),  # arXiv's test archive is not for papers
        ("", None),
    ],
)
def test_canonical_gives_arxivs_spelling_in_any_case(name: str, spelling: str | None) -> None:
    assert canonical(name) == spelling
    assert is_category(name) is (spelling is not None)


def test_is_archive_knows_archives_only() -> None:
    assert is_archive("cs")
    assert is_archive("HEP-TH")
    assert is_archive("cmp-lg")
    assert not is_archive("cs.CL")
    assert not is_archive("machine-learning")


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("cs.CLL", ["cs.CL"]),  # one letter too many
        ("cs.LC", ["cs.CL"]),  # two letters swapped
        ("cs.CVV", ["cs.CV"]),
        ("cs.ML", ["cs.LG", "stat.ML"]),  # the name people use for machine learning
        ("cs.NLP", ["cs.CL"]),
        ("stat.LG", ["cs.LG", "stat.ML"]),
        ("math.LG", ["cs.LG"]),  # the subject class in another archive
        ("CL", ["cs.CL"]),  # a subject class alone
        ("gt", ["cs.GT", "math.GT"]),
        ("cond-mat.mes", ["cond-mat.mes-hall"]),  # the start of one
        ("physics.optic", ["physics.optics"]),
        ("quant", ["quant-ph"]),
        ("hepth", ["hep-th"]),  # dashes left out or typed as underscores
        ("hep_th", ["hep-th"]),
        ("condmat.soft", ["cond-mat.soft"]),
        ("astro-ph.GAL", ["astro-ph.GA"]),
        ("cs.L", ["cs.CL", "cs.DL", "cs.FL"]),  # at most three, the same archive first
        ("cs.cl", ["cs.CL"]),  # a real one is its own suggestion
        ("cs.XX", []),  # close to nothing
        ("machine-learning", []),
    ],
)
def test_suggest_names_the_closest_real_categories(name: str, suggested: list[str]) -> None:
    assert suggest(name) == suggested


def test_suggest_returns_at_most_limit_names() -> None:
    assert len(suggest("cs.CX")) == 3
    assert suggest("cs.CX", limit=1) == ["cs.CC"]
    assert all(is_category(name) for name in suggest("cs.CX", limit=50))
