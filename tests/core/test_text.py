r"""Text cleaning: TeX accents, LaTeX, HTML, whitespace and sentences, on real arXiv text."""

from __future__ import annotations

import gzip
import json
import unicodedata
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from bot.core.text import (
    clean_abstract,
    clean_title,
    html_to_text,
    latex_to_text,
    split_sentences,
    strip_invisible,
    tex_to_unicode,
    unwrap,
)
from tests.paths import FIXTURES

RSS_FULL = FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_all_archives_2024-11-28_full.xml.gz"
SNAPSHOT = (
    FIXTURES / "arxiv_metadata_snapshot" / "kaggle_arxiv_metadata_oai_snapshot_first200.jsonl"
)
DC = "{http://purl.org/dc/elements/1.1/}"


@cache
def rss_items() -> tuple[tuple[str, str, str], ...]:
    """(title, creators, abstract) of every item in the recorded 1,504-item listing feed."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(gzip.decompress(RSS_FULL.read_bytes()), parser)
    return tuple(
        (
            item.findtext("title") or "",
            item.findtext(f"{DC}creator") or "",
            (item.findtext("description") or "").partition("Abstract:")[2],
        )
        for item in root.iter("item")
    )


@cache
def snapshot_rows() -> tuple[dict[str, Any], ...]:
    with SNAPSHOT.open(encoding="utf-8") as lines:
        return tuple(json.loads(line) for line in lines)


# ------------------------------------------------------------------------------------------
# strip_invisible and unwrap


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zero\u200bwidth", "zerowidth"),
        ("join\u200cer\u200d", "joiner"),
        ("\ufeffBOM at the start", "BOM at the start"),
        ("word\u2060joiner\u2064", "wordjoiner"),
        ("bidi \u202eevil\u202c text", "bidi evil text"),
        ("isolates \u2066a\u2069", "isolates a"),
        ("marks \u200e\u200f", "marks "),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("C1\x80\x9f controls", "C1 controls"),
        ("delete\x7f", "delete"),
        ("keeps\ttabs\nand newlines", "keeps\ttabs\nand newlines"),
        ("windows\r\nline", "windows\nline"),
        ("old mac\rline", "old mac\nline"),
        ("form\x0cfeed\x0bvtab\x85nel", "form\nfeed\nvtab\nnel"),
        ("Ünïcödé stays, ω too", "Ünïcödé stays, ω too"),
    ],
)
def test_strip_invisible_removes_only_invisible_characters(raw: str, expected: str) -> None:
    assert strip_invisible(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The arXiv API's hard wraps, as in the 2016 fixtures and the metadata snapshot.
        (
            "Computing genus 2 Hilbert-Siegel modular forms over $\\Q(\\sqrt{5})$ via\n  the "
            "Jacquet-Langlands correspondence",
            "Computing genus 2 Hilbert-Siegel modular forms over $\\Q(\\sqrt{5})$ via the "
            "Jacquet-Langlands correspondence",
        ),
        ("  We show that\n  the minimally coupled\n", "We show that the minimally coupled"),
        ("tabs\t\tand  spaces", "tabs and spaces"),
        ("no\u00a0break\u2009thin\u3000wide", "no break thin wide"),
        ("line\u2028separator", "line separator"),
        ("", ""),
        (" \n\t ", ""),
    ],
)
def test_unwrap_collapses_every_whitespace_run(raw: str, expected: str) -> None:
    assert unwrap(raw) == expected


# ------------------------------------------------------------------------------------------
# html_to_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Gould &amp; Morgan (2003)", "Gould & Morgan (2003)"),
        ("V_max&lt;17.5 and $r&gt;0$", "V_max<17.5 and $r>0$"),
        ("&quot;quoted&quot; &#8212; &#x2013; &eacute;", '"quoted" — – é'),
        ("<p>First.</p><p>Second.</p>", "\nFirst.\n\nSecond.\n"),
        ("line<br/>break<br>again<BR />", "line\nbreak\nagain\n"),
        (
            "<i>italic</i> and <b>bold</b> and <a href='https://x'>link</a>",
            "italic and bold and link",
        ),
        ('<span class="x" data-id=3>kept text</span>', "kept text"),
        ("before<!-- a comment -->after", "beforeafter"),
        ("H<sub>2</sub>O", "H2O"),
        # Not HTML: angle brackets in prose and math, made-up tokens, bare ampersands.
        (
            "The model emits <swi> to enter latent mode",
            "The model emits <swi> to enter latent mode",
        ),
        ("p<1 and q>2; a <b and c> d", "p<1 and q>2; a <b and c> d"),
        ("R&D, AT&T, Q&A", "R&D, AT&T, Q&A"),
        ("&notation is not &not;", "&notation is not ¬"),
        ("&unknownentity; stays", "&unknownentity; stays"),
    ],
)
def test_html_to_text_removes_tags_and_unescapes_entities(raw: str, expected: str) -> None:
    assert html_to_text(raw) == expected


def test_html_to_text_undoes_one_level_of_escaping_per_call() -> None:
    assert html_to_text("&amp;lt;i&amp;gt;") == "&lt;i&gt;"
    assert clean_title("&amp;lt;i&amp;gt;x") == "x"


# ------------------------------------------------------------------------------------------
# tex_to_unicode


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jos\\'e", "José"),
        ("Przemys{\\l}aw", "Przemysław"),
        ('Lundstr\\"om', "Lundström"),
        ("Vavry\\v{c}uk", "Vavryčuk"),
        ("Mikkel {\\O}bro", "Mikkel Øbro"),
        ("Rastislav \\v{S}r\\'amek", "Rastislav Šrámek"),
        ("C. Bal\\'azs", "C. Balázs"),
        ("{\\'E}cole", "École"),
        ("Fran\\c{c}ois", "François"),
        ("Mu\\~noz", "Muñoz"),
        ("L\\'ev\\^eque", "Lévêque"),
        ("B\\'ereng\\`ere", "Bérengère"),
        ("\\=a", "ā"),
        ("Smolak-Dy\\.zewska", "Smolak-Dyżewska"),
        ("\\.Zygierewicz", "Żygierewicz"),
        ("Do\\u{g}an", "Doğan"),
        ("Erd\\H{o}s", "Erdős"),
        ('\\r{a}ngstr\\"om', "ångström"),
        ("\\k{a} \\k{e}", "ą ę"),
        ("Stra\\ss e and Wei\\ss{}e", "Straße and Weiße"),
        ("\\ae \\AE \\oe \\OE \\aa \\AA", "æ Æ œ Œ å Å"),
        ("\\o \\O \\l \\L \\i \\j", "ø Ø ł Ł ı ȷ"),
        ('{\\"{o}} \\"{o} {\\"o} \\"o', "ö ö ö ö"),
        ("Mart\\'{\\i}nez D\\'\\i az {\\'\\i} Ru\\'\\i{} \\'\\i 2", "Martínez Díaz í Ruí í 2"),
        ("Krasnosel'ki\\u{\\i}", "Krasnosel'kiĭ"),
        ("Gu{\\dh}mundur", "Guðmundur"),
        ("Nebul{\\ae}", "Nebulæ"),
        ('\\"Ozen\\c{c}', "Özenç"),
        ("Pa\\c{s}cu \\c{t}", "Paşcu ţ"),
        ("Kol\\'a\\v{r}", "Kolář"),
        ("S\\o ren and 5 \\AA{} resolution", "Søren and 5 Å resolution"),
        # Left alone: unknown commands, math, line breaks, multi-letter accent arguments.
        ("\\alpha \\in \\infty \\Lambda \\omega", "\\alpha \\in \\infty \\Lambda \\omega"),
        ("\\b{eta} decay", "\\b{eta} decay"),
        ("\\\\'e", "\\\\'e"),
        ("\\cite{X} and \\ion{N}{ii}", "\\cite{X} and \\ion{N}{ii}"),
        ("split on \\r and \\v", "split on \\r and \\v"),
        ("no escapes at all", "no escapes at all"),
    ],
)
def test_tex_to_unicode_decodes_accents_and_special_letters(raw: str, expected: str) -> None:
    assert tex_to_unicode(raw) == expected


def test_tex_to_unicode_output_is_nfc_composed() -> None:
    decoded = tex_to_unicode("Jos\\'e \\v{S}r\\'amek \\b{e}")
    assert unicodedata.is_normalized("NFC", decoded)
    assert decoded.startswith("José Šrámek")
    assert decoded.endswith("e\u0331")  # no precomposed form exists: base + combining mark


@pytest.mark.parametrize(
    ("escaped", "decoded"),
    [
        ("Vavry\\v{c}uk", "Vavryčuk"),
        ("Przemys{\\l}aw", "Przemysław"),
        ("J\\'er\\'emie", "Jérémie"),
        ("Gu{\\dh}mundur", "Guðmundur"),
        ('G\\"unl\\"uk', "Günlük"),
        ("Sedl\\'a\\v{c}ek", "Sedláček"),
    ],
)
def test_tex_to_unicode_on_recorded_feed_creators(escaped: str, decoded: str) -> None:
    creators = [creators for _, creators, _ in rss_items() if escaped in creators]
    assert creators, f"{escaped!r} is no longer in the fixture"
    assert decoded in tex_to_unicode(creators[0])


def test_no_tex_escape_survives_in_any_recorded_author_string() -> None:
    authors = [creators for _, creators, _ in rss_items()]
    authors += [str(row["authors"]) for row in snapshot_rows()]
    escaped = [text for text in authors if "\\" in text]
    assert len(escaped) > 100  # the feed really is full of TeX escapes
    left = [text for text in map(tex_to_unicode, escaped) if "\\" in text]
    assert left == []


def test_tex_to_unicode_agrees_with_arxivs_own_parsed_author_names() -> None:
    # The metadata snapshot carries each author string twice: TeX-escaped, and parsed to
    # Unicode by arXiv. Every non-ASCII parsed name must come out of the escaped string.
    checked = 0
    for row in snapshot_rows():
        decoded = unwrap(tex_to_unicode(str(row["authors"])))
        for name_parts in row["authors_parsed"]:
            for part in name_parts:
                if part and not part.isascii():
                    assert unicodedata.normalize("NFC", unwrap(part)) in decoded
                    checked += 1
    assert checked >= 10


# ------------------------------------------------------------------------------------------
# latex_to_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Greek, symbols and Unicode already inside math.
        ("$\\omega$", "ω"),
        ("$ω$Test: WebView-Oriented Testing", "ωTest: WebView-Oriented Testing"),
        ("$\\alpha$-stable", "α-stable"),
        ("{\\Lambda}CDM", "ΛCDM"),
        ("$\\Lambda$CDM Cosmology", "ΛCDM Cosmology"),
        ("$1\\times1$ convolutional layer", "1×1 convolutional layer"),
        ("$256 \\times 256$", "256 × 256"),
        ("at $z \\sim$ 0.3", "at z ~ 0.3"),
        ("$n\\geq 2$ and $0 \\leq p < 1$ and $p \\neq q$", "n ≥ 2 and 0 ≤ p < 1 and p ≠ q"),
        ("$\\approx10^{15}$ and $\\pm 0.07$", "≈10¹⁵ and ± 0.07"),
        ("$(0,\\infty)$ and $\\ell_p$", "(0,∞) and ℓₚ"),
        ("$b\\to s\\,\\ell^+\\ell^-$", "b → s ℓ⁺ℓ⁻"),
        ("$A\\rightarrow B$, $A\\rightarrow{}B$, $x \\cdot y$", "A → B, A→B, x · y"),
        ("$\\mathbb{R}^3$, $\\mathbb{Z}_p$-modules, $\\mathbb{Q}$-Fano", "ℝ³, ℤₚ-modules, ℚ-Fano"),
        ("$\\mathcal{S}$-Path and $\\mathcal{U}(\\mathfrak{h})$", "𝒮-Path and 𝒰(𝔥)"),
        ("$\\Theta(m\\log n)$", "Θ(m log n)"),
        ("$\\sqrt{s}$ = 13 TeV, up to $ \\sqrt{s} = 13$ TeV", "√s = 13 TeV, up to √s = 13 TeV"),
        ("$\\frac{1}{3}<s<1$", "1/3<s<1"),
        ("$t\\bar{t}$ pairs, $\\bar\\nu_e$, $\\tilde{O}(n)$", "tt̄ pairs, ν̄ₑ, Õ(n)"),
        ("$\\varrho(\\tilde{A})\\neq \\emptyset$", "ϱ(Ã) ≠ ∅"),
        ("$f'(x)$ and $Z^\\prime$", "f′(x) and Z′"),
        ("$125^{\\circ}<l<235^{\\circ}$", "125°<l<235°"),
        ("$\\gamma^*$", "γ*"),
        ("$95\\%$ and $\\{V_1\\}$", "95% and {V₁}"),
        ("basis$\\unicode{x2013}$the", "basis–the"),
        ("\\(\\kappa^2(\\cdot)\\)", "κ²(·)"),
        ("$$1<p<2+\\varepsilon.$$", "1<p<2+ε."),
        # Super- and subscripts, only when Unicode has every character.
        ("$O(n^2)$", "O(n²)"),
        ("$x_1$", "x₁"),
        ("$H^3$Fusion", "H³Fusion"),
        ("Ta$_2$NiSe$_5$", "Ta₂NiSe₅"),
        ("CeTa$_7$O$_{19}$", "CeTa₇O₁₉"),
        ("$^{12}$C(0$^+_2$)", "¹²C(0⁺₂)"),
        ("$C^{1+\\alpha}$ maps", "C¹⁺ᵅ maps"),
        ("$D_{(s)}^{+}\\rightarrow\\pi^{+}\\pi^{+}\\pi^{-}$", "D₍ₛ₎⁺→π⁺π⁺π⁻"),
        ("$\\textrm{Ba}_{1-x}\\textrm{Ca}_{x}\\textrm{Ni}_{2}$", "Ba₁₋ₓCaₓNi₂"),
        ("$\\rm{Cu}_{3}-\\rm{As}$", "Cu₃-As"),
        ("$\\gtrsim 10^{-13}\\, \\rm{s^{-1}}$", "≳ 10⁻¹³ s⁻¹"),
        ("$S=-3, \\, I=1$ pentaquark", "S=-3, I=1 pentaquark"),
        ("$\\mathrm{U}(N)^2\\times \\mathrm{O}(D)$", "U(N)² × O(D)"),
        # Kept as source (dollars included) when a faithful rendering is not possible.
        ("$M^{+1.39}_{-0.59}$", "$M^{+1.39}_{-0.59}$"),
        ("$\\chi_{cJ}$", "$\\chi_{cJ}$"),
        ("$d_{x^{2}-y^{2}}$ orbital", "$d_{x^{2}-y^{2}}$ orbital"),
        ("$\\mathcal{C}at^{\\mathcal{V}}$", "$\\mathcal{C}at^{\\mathcal{V}}$"),
        ("$\\Q(\\sqrt{5})$", "$\\Q(\\sqrt{5})$"),
        ("$B_\\infty$ potentials", "$B_\\infty$ potentials"),
        (
            "$p^\\ell\\,{\\not\\equiv}\\,3~({\\rm mod}~4)$",
            "$p^\\ell\\,{\\not\\equiv}\\,3~({\\rm mod}~4)$",
        ),
        ("$\\sqrt[3]{x}$ and $a \\\\ b$ and $a & b$", "$\\sqrt[3]{x}$ and $a \\\\ b$ and $a & b$"),
        ("$x^{2^{3}}$ and ${x$", "$x^{2^{3}}$ and ${x$"),
        ("$\\unicode{x200B}$", "$\\unicode{x200B}$"),
        (
            "\\begin{equation*} x \\\\ y \\end{equation*} after",
            "\\begin{equation*} x \\\\ y \\end{equation*} after",
        ),
        # Text mode: never inside math, so these stay.
        ("(1^{+1.39}_{-0.59}) and V_max", "(1^{+1.39}_{-0.59}) and V_max"),
        ("costs $5 and $10", "costs $5 and $10"),
        ("a \\$5 fee", "a $5 fee"),
        # Text commands keep their text.
        ("\\textbf{x} \\emph{y} \\textit{z} \\mathrm{w} \\texttt{v}", "x y z w v"),
        ("\\textbf{\\underline{Ca}}usal \\textbf{50\\%}", "Causal 50%"),
        (
            "open-sourced at \\href{https://github.com/Kanyooo/EEG-DCNet}{here}.",
            "open-sourced at here.",
        ),
        (
            "at \\url{https://github.com/ch9397/FixedWing-MonoPPO}.",
            "at https://github.com/ch9397/FixedWing-MonoPPO.",
        ),
        (
            "[\\href{https://x.org/a}{DiVincenzo {\\it et al}. Phys. \\textbf{238}, 379-410}]",
            "[DiVincenzo et al. Phys. 238, 379-410]",
        ),
        ("{\\small FEGA} and {\\bf bold}", "FEGA and bold"),
        ("head \\& neck, 95\\% CI, \\#1, snake\\_case", "head & neck, 95% CI, #1, snake_case"),
        ("\\beta-CuGaO2 and \\pi\\pi scattering", "β-CuGaO2 and ππ scattering"),
        ("\\eg CLIP, \\ie this, Smith \\etal", "e.g. CLIP, i.e. this, Smith et al."),
        ("\\mathbb{R} and \\unicode{x2014}", "ℝ and —"),
        ("``Escola de Cosmologia''", "“Escola de Cosmologia”"),
        ("MEGNet~\\cite{Chen2019}, Fig.~1, 3~5 GeV, ~10%", "MEGNet, Fig. 1, 3~5 GeV, ~10%"),
        # Parenthetical citations and labels go; a footnote becomes an aside.
        (
            "the data programming paradigm \\citep{Ratner2016}, which",
            "the data programming paradigm, which",
        ),
        ("as in \\cite[see][p.~3]{a,b} and \\citep*{c}.", "as in and."),
        ("a model\\label{eq:1} here", "a model here"),
        ("a method (\\citep{a}) and one~(\\cite{b}).", "a method and one."),
        (
            "as \\citet{Smith2020} and Section~\\ref{sec:2} show",
            "as \\citet{Smith2020} and Section \\ref{sec:2} show",
        ),
        (
            "Our code\\footnote{Available at \\url{https://github.com/a/b}.} is open.",
            "Our code (Available at https://github.com/a/b) is open.",
        ),
        ("knowledge\\footnote{ }.", "knowledge."),
        ("Kawamata--Miyaoka, PHOENIX -- solver", "Kawamata--Miyaoka, PHOENIX -- solver"),
        ("\\LaTeX{} and \\TeX", "LaTeX and TeX"),
        ("no latex here", "no latex here"),
    ],
)
def test_latex_to_text_renders_simple_latex_and_keeps_the_rest(raw: str, expected: str) -> None:
    assert latex_to_text(raw) == expected


def test_latex_to_text_drops_nul_characters_it_uses_internally() -> None:
    assert latex_to_text("a\x000\x00 $x$") == "a0 x"


# ------------------------------------------------------------------------------------------
# clean_title and clean_abstract


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "Reparametrization Invariance, the controversial extraction of $\\alpha$\n  from "
            "$B\\to\\pi\\pi$ and New Physics",
            "Reparametrization Invariance, the controversial extraction of α from B→ππ and "
            "New Physics",
        ),
        (
            "A Precis\\~ao da Metrologia Qu\\^antica: Limite de Cram\\'er-Rao, "
            "Informa\\c{c}\\~ao de Fisher",
            "A Precisão da Metrologia Quântica: Limite de Cramér-Rao, Informação de Fisher",
        ),
        ("On an Erd\\H{o}s-Szekeres Game", "On an Erdős-Szekeres Game"),
        (
            'Almost sure well-posedness for Schr\\"odinger equation',
            "Almost sure well-posedness for Schrödinger equation",
        ),
        (
            "Privacy Personalised -- Attributes \\& Preferences",
            "Privacy Personalised -- Attributes & Preferences",
        ),
        ("Planetary Nebul{\\ae} and Related Objects", "Planetary Nebulæ and Related Objects"),
        (
            "Generalized Fast Krasnosel'ki\\u{\\i}-Mann Method",
            "Generalized Fast Krasnosel'kiĭ-Mann Method",
        ),
        ("A note on P\\'{o}lya-Szeg\\\"{o} inequality", "A note on Pólya-Szegö inequality"),
        ("<i>Italic</i> &amp; \u200bhidden\u202e", "Italic & hidden"),
        (
            "Evidence for an excitonic insulator phase in 1T-TiSe$_{2}$",
            "Evidence for an excitonic insulator phase in 1T-TiSe₂",
        ),
        ("  \n  ", ""),
    ],
)
def test_clean_title_composes_every_cleaning_step(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Abstract: We study x.", "We study x."),
        (" \nAbstract: We study x.", "We study x."),
        ("ABSTRACT. We study x.", "We study x."),
        ("Abstract: Abstract: twice", "twice"),
        ("Abstract interpretation is a theory", "Abstract interpretation is a theory"),
        ("  We study $\\alpha$.\n  It works.\n", "We study α. It works."),
    ],
)
def test_clean_abstract_drops_a_leading_abstract_label(raw: str, expected: str) -> None:
    assert clean_abstract(raw) == expected


def test_clean_abstract_on_a_recorded_feed_item() -> None:
    (abstract,) = [a for _, _, a in rss_items() if "EEG-DCNet" in a and "\\href" in a]
    cleaned = clean_abstract(abstract)
    assert cleaned.startswith("The electroencephalography (EEG)-based motor imagery")
    assert "1×1 convolutional layer" in cleaned
    assert cleaned.endswith("The experiment code is open-sourced at here.")
    assert "\\" not in cleaned
    assert "$" not in cleaned


def test_clean_is_idempotent_on_every_recorded_title_and_abstract() -> None:
    texts = [text for item in rss_items() for text in (item[0], item[2])]
    texts += [str(row[key]) for row in snapshot_rows() for key in ("title", "abstract")]
    assert len(texts) > 3000
    for text in texts:
        title = clean_title(text)
        assert clean_title(title) == title, text
        abstract = clean_abstract(text)
        assert clean_abstract(abstract) == abstract, text


# Fragments that exercise every step and how the steps interact.
_FRAGMENTS = [
    "\\",
    "$",
    "$$",
    "{",
    "}",
    "^",
    "_",
    "~",
    "``",
    "''",
    "&",
    ";",
    "<",
    ">",
    "&amp;",
    "&lt;",
    "&gt;",
    "&#36;",
    "&#92;",
    "&#8203;",
    "lt;",
    "amp;",
    "<p>",
    "</i>",
    "<br/>",
    "\\'",
    '\\"',
    "\\v",
    "\\c",
    "\\i",
    "\\l",
    "\\o",
    "\\ss",
    "\\&",
    "\\%",
    "\\$",
    "\\{",
    "\\}",
    "\\\\",
    "\\,",
    "\\alpha",
    "\\times",
    "\\sim",
    "\\frac",
    "\\sqrt",
    "\\mathbb",
    "\\textbf",
    "\\href",
    "\\url",
    "\\cite",
    "\\citep",
    "\\footnote",
    "\\label",
    "\\it",
    "\\unicode",
    "\\begin{equation}",
    "\\end{equation}",
    "\\(",
    "\\)",
    "x2013",
    "e",
    "o",
    "R",
    "2",
    " ",
    "\n",
    "\u200b",
    "\u00a0",
    "Abstract:",
    ".",
    "e\u0301",
]
markup = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=3)), max_size=30).map(
    "".join
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markup)
def test_clean_title_and_abstract_are_idempotent(text: str) -> None:
    title = clean_title(text)
    assert clean_title(title) == title
    abstract = clean_abstract(text)
    assert clean_abstract(abstract) == abstract


@settings(max_examples=300, deadline=None)
@given(st.one_of(markup, st.text()))
def test_cleaning_never_raises(text: str) -> None:
    for clean in (
        strip_invisible,
        unwrap,
        html_to_text,
        tex_to_unicode,
        latex_to_text,
        clean_title,
        clean_abstract,
    ):
        assert isinstance(clean(text), str)
    assert all(isinstance(sentence, str) for sentence in split_sentences(text))


@settings(max_examples=200, deadline=None)
@given(st.one_of(markup, st.text()))
def test_cleaned_text_is_one_trimmed_line_without_invisible_characters(text: str) -> None:
    cleaned = clean_abstract(text)
    assert cleaned == unwrap(cleaned)
    assert cleaned == strip_invisible(cleaned)
    assert unicodedata.is_normalized("NFC", cleaned)


def test_deep_nesting_is_kept_as_source_not_a_crash() -> None:
    deep = "$" + "{" * 500 + "x" + "}" * 500 + "$"
    assert latex_to_text(deep) == deep
    nested = "\\textbf{" * 200 + "x" + "}" * 200
    assert latex_to_text(nested) == "x"


# ------------------------------------------------------------------------------------------
# split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "We use pretrained models, e.g. BERT. It works.",
            ["We use pretrained models, e.g. BERT.", "It works."],
        ),
        ("That is, i.e. The rest. Next.", ["That is, i.e. The rest.", "Next."]),
        ("As Smith et al. Showed before. Next.", ["As Smith et al. Showed before.", "Next."]),
        (
            "See Fig. 3 and Figs. 4-5. Then Eq. (2) holds.",
            ["See Fig. 3 and Figs. 4-5.", "Then Eq. (2) holds."],
        ),
        ("Ours vs. Theirs is close. Next.", ["Ours vs. Theirs is close.", "Next."]),
        ("It costs approx. 5 GPUs. Next.", ["It costs approx. 5 GPUs.", "Next."]),
        ("Accuracy rose by 3.5% overall. Next.", ["Accuracy rose by 3.5% overall.", "Next."]),
        ("Version 2.0 is out. Next.", ["Version 2.0 is out.", "Next."]),
        (
            "Proposed by J. Smith and A. B. Jones. Next.",
            ["Proposed by J. Smith and A. B. Jones.", "Next."],
        ),
        ("Data from the U.S. Census. Next.", ["Data from the U.S. Census.", "Next."]),
        ("Is it true? Yes! We show it.", ["Is it true?", "Yes!", "We show it."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("It holds (see Sec. 4). We conclude.", ["It holds (see Sec. 4).", "We conclude."]),
        ("In 2020. 3D models followed.", ["In 2020.", "3D models followed."]),
        ("See No. 5 and p. 12. Done.", ["See No. 5 and p. 12.", "Done."]),
        ("The answer is no. We show why.", ["The answer is no.", "We show why."]),
        (
            "lowercase after. a period does not split.",
            ["lowercase after. a period does not split."],
        ),
        ("Ends with $x$. $k$-means next.", ["Ends with $x$.", "$k$-means next."]),
        ("Wait... The end.", ["Wait...", "The end."]),
        ("One sentence without a full stop", ["One sentence without a full stop"]),
        ("", []),
        ("   ", []),
    ],
)
def test_split_sentences_knows_scientific_abbreviations(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_sentences_on_a_recorded_abstract() -> None:
    (abstract,) = [a for _, _, a in rss_items() if "EEG-DCNet" in a and "\\href" in a]
    sentences = split_sentences(clean_abstract(abstract))
    assert len(sentences) == 7
    assert sentences[0].startswith("The electroencephalography")
    assert sentences[-1] == "The experiment code is open-sourced at here."
    assert all(sentence.endswith(".") for sentence in sentences)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["We", "show", "e.g.", "Fig.", "3.5%", "It.", "J.", "A", " ", "?", "x"]),
        max_size=40,
    ).map(" ".join)
)
def test_split_sentences_loses_no_words(text: str) -> None:
    assert " ".join(split_sentences(text)).split() == text.split()
