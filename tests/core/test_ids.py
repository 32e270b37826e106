"""arXiv ids: every form people paste parses to the canonical id and version, or says why not."""

from __future__ import annotations

import gzip
import json
import pickle
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bot.core.ids import (
    ACCEPTED_FORMS,
    OLD_STYLE_ARCHIVES,
    ArxivId,
    InvalidArxivId,
    parse_arxiv_id,
)
from tests.paths import FIXTURES

ATOM = "{http://www.w3.org/2005/Atom}"

# (input, canonical id, version)
ACCEPTED = [
    # New-style ids, bare and versioned.
    ("2403.13043", "2403.13043", None),
    ("2403.13043v2", "2403.13043", 2),
    ("2403.13043v12", "2403.13043", 12),
    ("0704.0001", "0704.0001", None),
    ("1412.9999v3", "1412.9999", 3),
    ("1501.00001", "1501.00001", None),
    ("2607.23193", "2607.23193", None),  # a Hugging Face Daily Papers id from the fixtures
    ("9912.12345", "9912.12345", None),  # no clock in core: any YY from 07 to 99
    # The arXiv: prefix, in any case, with or without a space.
    ("arXiv:2403.13043", "2403.13043", None),
    ("arxiv:2403.13043v2", "2403.13043", 2),
    ("ARXIV: 2403.13043", "2403.13043", None),
    ("arXiv:hep-th/9901001v1", "hep-th/9901001", 1),
    # An upper-case V, as when the whole id is typed in capitals.
    ("ARXIV:2403.13043V3", "2403.13043", 3),
    ("2403.13043V2", "2403.13043", 2),
    ("hep-th/9901001V1", "hep-th/9901001", 1),
    # arXiv's "Cite as" form: the id and its primary category, which is dropped. (An earlier
    # issue had "2403.13043 [cs.CL]" refused as other text; issue 9 asks to accept it.)
    ("arXiv:2403.13043 [cs.CL]", "2403.13043", None),
    ("arXiv:2403.13043v2 [cs.CL]", "2403.13043", 2),
    ("arXiv:hep-th/9901001 [hep-th]", "hep-th/9901001", None),
    ("arXiv:math/0309136v1 [math.GT]", "math/0309136", 1),
    ("arXiv:2403.13043 [cond-mat.str-el]", "2403.13043", None),
    ("2403.13043 [cs.CL]", "2403.13043", None),
    ("2403.13043[cs.CL]", "2403.13043", None),
    # Old-style ids; the subject class is dropped.
    ("hep-th/9901001", "hep-th/9901001", None),
    ("hep-th/9108001", "hep-th/9108001", None),
    ("quant-ph/0201082v1", "quant-ph/0201082", 1),
    ("math.GT/0309136", "math/0309136", None),
    ("math.GT/0309136v2", "math/0309136", 2),
    ("cond-mat.str-el/0301001", "cond-mat/0301001", None),
    ("cs.CL/0703001", "cs/0703001", None),
    ("physics.optics/0301001", "physics/0301001", None),
    ("solv-int/9901001", "solv-int/9901001", None),
    ("cmp-lg/9404001", "cmp-lg/9404001", None),
    # arxiv.org links: abs, pdf, html, format; http(s), www, export; versions; .pdf;
    # trailing slashes, query strings and fragments.
    ("https://arxiv.org/abs/2403.13043", "2403.13043", None),
    ("https://arxiv.org/abs/2403.13043v2", "2403.13043", 2),
    ("http://arxiv.org/abs/2104.12255v1", "2104.12255", 1),  # an API entry id
    ("http://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001", 1),
    ("https://arxiv.org/pdf/2403.13043", "2403.13043", None),
    ("https://arxiv.org/pdf/2403.13043v2.pdf", "2403.13043", 2),
    ("https://arxiv.org/pdf/hep-th/9901001v1", "hep-th/9901001", 1),
    ("https://arxiv.org/pdf/math.GT/0309136.pdf", "math/0309136", None),
    ("https://arxiv.org/html/2403.13043v1", "2403.13043", 1),
    ("https://arxiv.org/html/2403.13043v1/#S3", "2403.13043", 1),
    ("https://arxiv.org/format/2403.13043", "2403.13043", None),
    ("https://www.arxiv.org/abs/2403.13043/", "2403.13043", None),
    ("http://export.arxiv.org/abs/2403.13043v2", "2403.13043", 2),
    ("https://arxiv.org/abs/2403.13043?context=cs.CL", "2403.13043", None),
    ("https://arxiv.org/abs/2403.13043v3#comments", "2403.13043", 3),
    ("HTTPS://ARXIV.ORG/abs/2403.13043", "2403.13043", None),
    ("arxiv.org/abs/2403.13043", "2403.13043", None),
    ("www.arxiv.org/pdf/2403.13043v2", "2403.13043", 2),
    # Hugging Face and alphaXiv paper pages.
    ("https://huggingface.co/papers/2403.13043", "2403.13043", None),
    ("https://huggingface.co/papers/2403.13043#community", "2403.13043", None),
    ("huggingface.co/papers/2403.13043", "2403.13043", None),
    ("https://hf.co/papers/2403.13043", "2403.13043", None),
    ("https://www.alphaxiv.org/abs/2403.13043", "2403.13043", None),
    ("https://alphaxiv.org/abs/2403.13043v2", "2403.13043", 2),
    ("https://www.alphaxiv.org/overview/2403.13043", "2403.13043", None),
    # Slack's link wrapping (Discord users type the same to suppress embeds).
    ("<https://arxiv.org/abs/2403.13043>", "2403.13043", None),
    ("<https://arxiv.org/abs/2403.13043v2|arxiv.org/abs/2403.13043v2>", "2403.13043", 2),
    ("<http://arxiv.org/pdf/2403.13043|the paper>", "2403.13043", None),
    # Surrounding whitespace.
    ("  2403.13043v2\n", "2403.13043", 2),
    ("\t<https://huggingface.co/papers/2403.13043> ", "2403.13043", None),
]

# (input, words the reason must contain)
REJECTED = [
    ("", "No arXiv id given"),
    ("   \n", "No arXiv id given"),
    ("2403.1304", "five digits after the dot"),
    ("2403.130435", "five digits after the dot"),
    ("1501.0001", "five digits after the dot"),
    ("0704.00001", "four digits after the dot"),
    ("1412.12345", "four digits after the dot"),
    ("2400.13043", "month 00"),
    ("2413.13043", "month 13"),
    ("0703.1234", "April 2007"),
    ("0612.12345", "April 2007"),
    ("2403.00000", "start at 1"),
    ("2403.13043v0", "start at v1"),
    ("2403.13043v01", "leading zeros"),
    ("2403.13043v", "needs a number"),
    ("2403.13043v2abc", "other text"),
    ("2403.13043.", "other text"),
    # Only one well-formed category tag, at the end, is taken for arXiv's "Cite as" form.
    ("2403.13043 [not a category]", "other text"),
    ("2403.13043 [cs.CL] extra", "other text"),
    ("2403.13043 [cs.CL", "other text"),
    ("2403.13043 []", "other text"),
    ("2403.13043 [cs.CL] [cs.LG]", "other text"),
    ("2403.13043 [CS.CL]", "other text"),
    ("[cs.CL]", "YYMM.NNNNN"),
    ("https://arxiv.org/abs/2403.13043 [cs.CL]", "not a link to a paper"),
    ("see 2403.13043 please", "other text"),
    ("arXiv:2403.13043 is great", "other text"),
    ("hep-th/9901001 and more", "other text"),
    ("hep-th/990100", "seven digits"),
    ("hep-th/99010011", "seven digits"),
    ("hep-th/9913001", "month 13"),
    ("hep-th/0801001", "1991 to 2007"),
    ("hep-th/8901001", "1991 to 2007"),
    ("hep-th/9901000", "start at 1"),
    ("econ/9901001", "econ is not an arXiv archive"),
    ("stat/0601001", "stat is not an arXiv archive"),
    ("foo-bar/9901001", "foo-bar is not an arXiv archive"),
    ("HEP-TH/9901001", "YYMM.NNNNN"),
    ("https://example.com/abs/2403.13043", "example.com is not arxiv.org"),
    ("https://scholar.google.com/scholar?q=2403.13043", "scholar.google.com is not arxiv.org"),
    ("example.com/abs/2403.13043", "not to arxiv.org"),
    ("https://arxiv.org/list/cs.CL/recent", "not a paper page"),
    ("https://arxiv.org/api/errors#incorrect_id_format_for_abc", "not a paper page"),
    ("https://arxiv.org/abs/", "not a paper page"),
    ("https://arxiv.org/abs/2403.13043/extra", "other text"),
    ("https://huggingface.co/datasets/squad", "not a paper page"),
    ("https://alphaxiv.org/explore", "not a paper page"),
    ("ftp://arxiv.org/abs/2403.13043", "not a link to a paper"),
    ("abc", "YYMM.NNNNN"),
    ("0000.0000", "month 00"),
    ("٢٤٠٣.١٣٠٤٣", "YYMM.NNNNN"),  # Arabic-Indic digits are not arXiv digits
    ("2403·13043", "YYMM.NNNNN"),
]


@pytest.mark.parametrize(("text", "canonical", "version"), ACCEPTED)
def test_parse_arxiv_id_accepts_every_pasted_form(
    text: str, canonical: str, version: int | None
) -> None:
    assert parse_arxiv_id(text) == ArxivId(canonical, version)


@pytest.mark.parametrize(("text", "reason"), REJECTED)
def test_parse_arxiv_id_rejects_with_a_reason_a_person_can_act_on(text: str, reason: str) -> None:
    with pytest.raises(InvalidArxivId) as caught:
        parse_arxiv_id(text)
    message = str(caught.value)
    assert reason in message
    assert ACCEPTED_FORMS in message
    assert "\n" not in message  # one line: it is shown as a chat reply or a CLI error


def test_the_tables_cover_at_least_forty_real_world_inputs() -> None:
    assert len(ACCEPTED) + len(REJECTED) >= 40


def test_invalid_arxiv_id_is_a_value_error_that_carries_its_data() -> None:
    with pytest.raises(ValueError, match="month 13") as caught:
        parse_arxiv_id("2413.13043")
    error = caught.value
    assert isinstance(error, InvalidArxivId)
    assert error.text == "2413.13043"
    assert error.reason.startswith("month 13")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.text, copy.reason, str(copy)) == (error.text, error.reason, str(error))


def test_invalid_arxiv_id_message_shortens_long_input() -> None:
    with pytest.raises(InvalidArxivId) as caught:
        parse_arxiv_id("x" * 500)
    message = str(caught.value)
    assert "x" * 57 + "..." in message
    assert "x" * 58 not in message


@pytest.mark.parametrize(
    ("arxiv_id", "versioned"),
    [
        (ArxivId("2403.13043", 2), "2403.13043v2"),
        (ArxivId("2403.13043", None), "2403.13043"),
        (ArxivId("math/0309136", 1), "math/0309136v1"),
    ],
)
def test_arxiv_id_versioned_and_str(arxiv_id: ArxivId, versioned: str) -> None:
    assert arxiv_id.versioned == versioned
    assert str(arxiv_id) == versioned


def test_arxiv_id_is_a_frozen_value_and_refuses_version_zero() -> None:
    assert ArxivId("2403.13043", 2) == ArxivId("2403.13043", 2)
    assert len({ArxivId("2403.13043", 2), ArxivId("2403.13043", 2)}) == 1
    with pytest.raises(AttributeError):
        ArxivId("2403.13043").version = 3  # type: ignore[misc]  # the point: it is frozen
    with pytest.raises(ValueError, match="start at 1"):
        ArxivId("2403.13043", 0)


# ------------------------------------------------------------------------------------------
# Every id in the recorded responses


@cache
def recorded_ids() -> tuple[str, ...]:
    """Ids and paper links exactly as the recorded arXiv, HF and S2 responses carry them."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    found: list[str] = []
    for path in sorted((FIXTURES / "arxiv_api").rglob("*.xml")):
        root = etree.fromstring(path.read_bytes(), parser)
        found += [
            entry.findtext(f"{ATOM}id") or ""
            for entry in root.iter(f"{ATOM}entry")
            if entry.findtext(f"{ATOM}title") != "Error"
        ]
    feed = FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_all_archives_2024-11-28_full.xml.gz"
    root = etree.fromstring(gzip.decompress(feed.read_bytes()), parser)
    for item in root.iter("item"):
        found.append(item.findtext("link") or "")
        found.append((item.findtext("guid") or "").removeprefix("oai:arXiv.org:"))
        found.append((item.findtext("description") or "").split()[0])  # "arXiv:2411.17700v1"
    for path in sorted((FIXTURES / "hf_daily_papers").glob("*.json")):
        found += [entry["paper"]["id"] for entry in json.loads(path.read_text(encoding="utf-8"))]
    snapshot = FIXTURES / "arxiv_metadata_snapshot"
    with (snapshot / "kaggle_arxiv_metadata_oai_snapshot_first200.jsonl").open() as lines:
        found += [json.loads(line)["id"] for line in lines]
    s2 = FIXTURES / "semantic_scholar" / "semanticscholar_py_Paper_turing1950_full.json.gz"
    citations = json.loads(gzip.decompress(s2.read_bytes()))["citations"]
    found += [
        c["externalIds"]["ArXiv"] for c in citations if (c.get("externalIds") or {}).get("ArXiv")
    ]
    return tuple(found)


def test_every_recorded_id_and_link_parses() -> None:
    ids = recorded_ids()
    assert len(ids) > 5000
    parsed = [parse_arxiv_id(text) for text in ids]
    assert any("/" in arxiv_id.id for arxiv_id in parsed)  # old-style ones are in there
    assert all("v" not in arxiv_id.id for arxiv_id in parsed)


@pytest.mark.parametrize(
    ("guid", "link", "description"),
    [("oai:arXiv.org:1401.3665v4", "https://arxiv.org/abs/1401.3665", "arXiv:1401.3665v4")],
)
def test_a_recorded_replace_item_keeps_its_version_beside_the_id(
    guid: str, link: str, description: str
) -> None:
    assert guid.removeprefix("oai:arXiv.org:") in recorded_ids()
    assert parse_arxiv_id(guid.removeprefix("oai:arXiv.org:")) == ArxivId("1401.3665", 4)
    assert parse_arxiv_id(link) == ArxivId("1401.3665", None)
    assert parse_arxiv_id(description) == ArxivId("1401.3665", 4)


# ------------------------------------------------------------------------------------------
# Round trips


@st.composite
def new_style_ids(draw: st.DrawFn) -> str:
    year = draw(st.integers(7, 99))
    month = draw(st.integers(4 if year == 7 else 1, 12))
    yymm = f"{year:02d}{month:02d}"
    if yymm <= "1412":
        return f"{yymm}.{draw(st.integers(1, 9999)):04d}"
    return f"{yymm}.{draw(st.integers(1, 99999)):05d}"


@st.composite
def old_style_ids(draw: st.DrawFn) -> tuple[str, str]:
    """(the id as written, possibly with a subject class; its canonical form)."""
    archive = draw(st.sampled_from(sorted(OLD_STYLE_ARCHIVES)))
    year = draw(st.sampled_from([91, 92, 95, 98, 99, 0, 1, 3, 5, 7]))
    rest = f"{year:02d}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 999)):03d}"
    subject = draw(st.sampled_from(["", ".GT", ".CL", ".str-el", ".optics", ".SI"]))
    return f"{archive}{subject}/{rest}", f"{archive}/{rest}"


ids = st.one_of(new_style_ids().map(lambda i: (i, i)), old_style_ids())
versions = st.one_of(st.none(), st.integers(1, 60))


@st.composite
def pasted(draw: st.DrawFn) -> tuple[str, ArxivId]:
    """One id and version, written in any accepted form, with the ArxivId it stands for."""
    written, canonical = draw(ids)
    version = draw(versions)
    ident = written + ("" if version is None else f"v{version}")
    typed = written + ("" if version is None else draw(st.sampled_from("vV")) + str(version))
    scheme = draw(st.sampled_from(["https://", "http://", ""]))
    tail = draw(st.sampled_from(["", "/", "?context=cs.CL", "#section", "/?a=1#b"]))
    form = draw(st.sampled_from(["bare", "prefix", "abs", "pdf", "html", "hf", "alphaxiv"]))
    if form in ("bare", "prefix"):
        tag = draw(
            st.sampled_from(["", " [cs.CL]", " [hep-th]", " [cond-mat.str-el]", "[math.GT]"])
        )
        text = typed + tag
        if form == "prefix":
            text = draw(st.sampled_from(["arXiv:", "arxiv:", "ARXIV:", "arXiv: "])) + text
    elif form == "pdf":
        host = draw(st.sampled_from(["arxiv.org", "www.arxiv.org", "export.arxiv.org"]))
        suffix = draw(st.sampled_from(["", ".pdf"]))
        text = f"{scheme}{host}/pdf/{ident}{suffix}{tail}"
    elif form in ("abs", "html"):
        host = draw(st.sampled_from(["arxiv.org", "www.arxiv.org", "export.arxiv.org"]))
        page = draw(st.sampled_from(["abs", "html", "format"])) if form == "html" else "abs"
        text = f"{scheme}{host}/{page}/{ident}{tail}"
    elif form == "hf":
        text = f"{scheme}huggingface.co/papers/{ident}{tail}"
    else:
        page = draw(st.sampled_from(["abs", "overview"]))
        text = f"{scheme}www.alphaxiv.org/{page}/{ident}{tail}"
    if form not in ("bare", "prefix") and draw(st.booleans()):
        label = draw(st.sampled_from(["", "|" + text, "|the paper"]))
        text = f"<{text}{label}>"
    padding = draw(st.sampled_from(["", " ", "\n", "  \t"]))
    return padding + text + padding[::-1], ArxivId(canonical, version)


@settings(max_examples=500, deadline=None)
@given(pasted())
def test_every_accepted_form_parses_back_to_the_same_id(case: tuple[str, ArxivId]) -> None:
    text, expected = case
    assert parse_arxiv_id(text) == expected


@settings(max_examples=300, deadline=None)
@given(pasted())
def test_parsing_the_canonical_string_is_a_fixed_point(case: tuple[str, ArxivId]) -> None:
    parsed = parse_arxiv_id(case[0])
    assert parse_arxiv_id(str(parsed)) == parsed
    assert parse_arxiv_id(parsed.id) == ArxivId(parsed.id, None)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), pasted().map(lambda case: case[0][: len(case[0]) // 2])))
def test_parse_arxiv_id_raises_only_invalid_arxiv_id(text: str) -> None:
    try:
        parsed: ArxivId | None = parse_arxiv_id(text)
    except InvalidArxivId as error:
        parsed, message = None, str(error)
    if parsed is None:
        assert ACCEPTED_FORMS in message
    else:
        assert parse_arxiv_id(str(parsed)) == parsed
