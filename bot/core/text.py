r"""Cleaning paper text for storage and display: TeX, light LaTeX, HTML, whitespace, sentences.

arXiv titles, abstracts and author strings arrive with TeX accent escapes (``Jos\'e``), inline
math (``$\omega$``), hard wraps and the odd HTML entity. These pure functions turn them into
plain Unicode. Whenever a faithful rendering is not possible the LaTeX source is kept as is:
readable source beats confident garbage.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import unicodedata
from collections.abc import Callable

__all__ = [
    "clean_abstract",
    "clean_title",
    "html_to_text",
    "latex_to_text",
    "split_sentences",
    "strip_invisible",
    "tex_to_unicode",
    "unwrap",
]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Invisible characters and whitespace

# Zero-width characters, bidi controls, BOM, and C0/C1 controls except tab and newline.
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069"
    "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]"
)
# Controls that end a line: turned into "\n" rather than removed, so they never glue words.
_LINE_BREAK_CONTROLS = re.compile("\r\n?|[\x0b\x0c\x85]")
_ANY_CONTROL = re.compile(
    "[\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def strip_invisible(text: str) -> str:
    """Remove zero-width and bidi control characters and C0/C1 controls (keeps \\n and \\t).

    Carriage returns, vertical tabs, form feeds and NEL are line breaks: they become "\\n".
    """
    if _ANY_CONTROL.search(text) is None:
        return text
    return _INVISIBLE.sub("", _LINE_BREAK_CONTROLS.sub("\n", text))


def unwrap(text: str) -> str:
    """Collapse every whitespace run (including the arXiv API's hard wraps) to one space."""
    return " ".join(text.split())  # str.split() splits on exactly what re's \s matches


# --------------------------------------------------------------------------------------------
# HTML

_BLOCK_TAGS = (
    "address|article|aside|blockquote|br|dd|div|dl|dt|figcaption|figure|footer|h[1-6]|header|"
    "hr|li|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul"
)
_INLINE_TAGS = (
    "a|abbr|b|bdi|bdo|big|cite|code|del|dfn|em|font|i|ins|kbd|mark|q|s|samp|small|span|"
    "strike|strong|sub|sup|time|tt|u|var|wbr"
)
# Attributes must look like name="value" (or name='value', name=value): "<b and c>" in an
# abstract's prose is not a tag.
_ATTRIBUTES = r"""(?:\s+[A-Za-z_:][-\w:.]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+))*\s*/?"""
_HTML_TAG = re.compile(
    rf"<!--.*?-->|<(?P<close>/?)(?:(?P<block>{_BLOCK_TAGS})|(?:{_INLINE_TAGS}))(?![\w-]){_ATTRIBUTES}>",
    re.IGNORECASE | re.DOTALL,
)
# Only terminated references: html.unescape alone would also decode "&not" in "&notation".
_HTML_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _tag_replacement(match: re.Match[str]) -> str:
    return "\n" if match["block"] else ""


def html_to_text(text: str) -> str:
    """Remove stray HTML tags (``<p>``, ``<i>``, ``<br/>``) and unescape HTML entities.

    Only known HTML tag names are removed, so ``a <swi> token`` or ``p<1`` in prose survive.
    One level of escaping is undone per call; ``clean_title``/``clean_abstract`` repeat.
    """
    if "<" in text:
        text = _HTML_TAG.sub(_tag_replacement, text)
    if "&" in text:
        text = _HTML_ENTITY.sub(lambda m: html.unescape(m[0]), text)
    return text


# --------------------------------------------------------------------------------------------
# TeX accents and special letters (as in arXiv author strings)

_COMBINING = {
    accent: unicodedata.lookup(f"COMBINING {name}")
    for accent, name in {
        "'": "ACUTE ACCENT",
        "`": "GRAVE ACCENT",
        "^": "CIRCUMFLEX ACCENT",
        '"': "DIAERESIS",
        "~": "TILDE",
        "=": "MACRON",
        ".": "DOT ABOVE",
        "c": "CEDILLA",
        "v": "CARON",
        "u": "BREVE",
        "H": "DOUBLE ACUTE ACCENT",
        "r": "RING ABOVE",
        "k": "OGONEK",
        "d": "DOT BELOW",
        "b": "MACRON BELOW",
    }.items()
}
_SPECIAL_LETTERS = {
    "ss": "ß",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "dh": "ð",
    "DH": "Ð",
    "dj": "đ",
    "DJ": "Đ",
    "th": "þ",
    "TH": "Þ",
    "ng": "ŋ",
    "NG": "Ŋ",
}
_ACCENT_BASE = r"(?:[A-Za-z]|\\[ij](?![A-Za-z]))"  # a letter, or dotless \i / \j
_EATEN_SPACE = r"[ \t](?=[A-Za-z])"  # TeX drops the space that ends a control word
_TEX_ESCAPE = re.compile(
    r"(?P<ob>\{\s*)?(?:"
    # \'e  \'{e}  \'\i  \'{\i}
    rf"""\\(?P<sym>['`^"~=.])(?:\{{\s*(?P<sarg>{_ACCENT_BASE})\s*\}}|(?P<sarg2>[A-Za-z])"""
    rf"|(?P<sarg3>\\[ij])(?![A-Za-z])(?:\{{\}})?(?P<ispace>{_EATEN_SPACE})?)"
    # \v{c}  \c{c}  \H{o}  \u{\i}  (braces required: "\r and" in prose is not an accent)
    rf"|\\(?P<word>[cvuHrkdb])\s*\{{\s*(?P<warg>{_ACCENT_BASE})\s*\}}"
    # \ss  \o  {\l}  \aa{}
    r"|\\(?P<letter>" + "|".join(sorted(_SPECIAL_LETTERS, key=len, reverse=True)) + r")"
    rf"(?![A-Za-z])(?P<empty>\{{\}})?(?P<space>{_EATEN_SPACE})?"
    r")(?(ob)\s*\})"
)


def _tex_escape(match: re.Match[str]) -> str:
    start = match.start()
    if start > 0 and match.string[start - 1] == "\\":
        return match[0]  # "\\'e" is a line break followed by 'e (a look-behind is slower)
    if accent := match["sym"] or match["word"]:
        base = match["sarg"] or match["sarg2"] or match["sarg3"] or match["warg"]
        base = base[-1]  # "\i" and "\j" carry accents as plain i and j
        decoded = unicodedata.normalize("NFC", base + _COMBINING[accent])
        space = match["ispace"]
    else:
        decoded = _SPECIAL_LETTERS[match["letter"]]
        space = match["space"]
    # TeX eats the space after a control word: "S\o ren" is Søren, "Mart\'\i nez" Martínez.
    # Only mid-word, though: "5 \AA resolution" means "5 Å resolution".
    if space and not (start > 0 and match.string[start - 1].isalpha()):
        return decoded + space
    return decoded


def tex_to_unicode(text: str) -> str:
    r"""Turn TeX accent escapes and special letters into Unicode: ``Jos\'e`` -> ``José``.

    Handles ``\'e``, ``\"{o}``, ``{\"o}``, ``\v{c}``, ``\'{\i}``, ``{\l}``, ``\ss`` and
    friends; unknown commands are left intact.
    """
    if "\\" not in text:
        return text
    return _TEX_ESCAPE.sub(_tex_escape, text)


# --------------------------------------------------------------------------------------------
# LaTeX symbols

_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ϵ",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "ϑ",
    "iota": "ι",
    "kappa": "κ",
    "varkappa": "ϰ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "omicron": "ο",
    "pi": "π",
    "varpi": "ϖ",
    "rho": "ρ",
    "varrho": "ϱ",
    "sigma": "σ",
    "varsigma": "ς",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "ϕ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "digamma": "ϝ",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Upsilon": "Υ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
}
# Relations and binary operators: spaced evenly when the source spaced them at all.
_RELATIONS = {
    "times": "×",
    "div": "÷",
    "cdot": "·",
    "pm": "±",
    "mp": "∓",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "leqslant": "⩽",
    "geqslant": "⩾",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "~",
    "simeq": "≃",
    "cong": "≅",
    "equiv": "≡",
    "propto": "∝",
    "ll": "≪",
    "gg": "≫",
    "lesssim": "≲",
    "gtrsim": "≳",
    "to": "→",
    "rightarrow": "→",
    "longrightarrow": "⟶",
    "leftarrow": "←",
    "gets": "←",
    "longleftarrow": "⟵",
    "Rightarrow": "⇒",
    "Leftarrow": "⇐",
    "leftrightarrow": "↔",
    "Leftrightarrow": "⇔",
    "iff": "⟺",
    "implies": "⟹",
    "mapsto": "↦",
    "in": "∈",
    "notin": "∉",
    "ni": "∋",
    "subset": "⊂",
    "subseteq": "⊆",
    "subsetneq": "⊊",
    "supset": "⊃",
    "supseteq": "⊇",
    "cup": "∪",
    "cap": "∩",
    "setminus": "∖",
    "oplus": "⊕",
    "otimes": "⊗",
    "wedge": "∧",
    "land": "∧",
    "vee": "∨",
    "lor": "∨",
    "mid": "|",
    "perp": "⊥",
    "parallel": "∥",
    "models": "⊨",
    "vdash": "⊢",
    "coloneqq": "≔",
    "circ": "∘",
}
_ORDINARY = {
    "infty": "∞",
    "ell": "ℓ",
    "hbar": "ℏ",
    "partial": "∂",
    "nabla": "∇",
    "forall": "∀",
    "exists": "∃",
    "neg": "¬",
    "lnot": "¬",
    "emptyset": "∅",
    "varnothing": "∅",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "oint": "∮",
    "aleph": "ℵ",
    "Re": "ℜ",
    "Im": "ℑ",
    "wp": "℘",
    "top": "⊤",
    "bot": "⊥",
    "angle": "∠",
    "triangle": "△",
    "bullet": "•",
    "star": "⋆",
    "ast": "∗",
    "dagger": "†",
    "ddagger": "‡",
    "odot": "⊙",
    "langle": "⟨",
    "rangle": "⟩",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "vert": "|",
    "Vert": "‖",
    "ldots": "…",
    "dots": "…",
    "cdots": "⋯",
    "vdots": "⋮",
    "ddots": "⋱",
    "prime": "′",
    "degree": "°",
    "colon": ":",
    "uparrow": "↑",
    "downarrow": "↓",
    "sharp": "♯",
    "flat": "♭",
    "checkmark": "✓",
    "Bbbk": "𝕜",
}
_SYMBOLS = {**_GREEK, **_RELATIONS, **_ORDINARY}
# Commands that only make sense in running text (some are common custom macros: cvpr.sty).
_TEXT_ONLY = {
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "eg": "e.g.",
    "ie": "i.e.",
    "etal": "et al.",
    "cf": "cf.",
    "textendash": "–",
    "textemdash": "—",
    "textdegree": "°",
    "textbullet": "•",
    "textasciitilde": "~",
    "copyright": "©",
    "textcopyright": "©",
    "textregistered": "®",
    "texttrademark": "™",
    "dag": "†",
    "ddag": "‡",
    "pounds": "£",
    "euro": "€",
}
_TEXT_SYMBOLS = {**_SYMBOLS, **_TEXT_ONLY}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MATH_FUNCTIONS = _words(
    "arccos arcsin arctan arg cos cosh cot coth csc deg det dim exp gcd hom inf ker lg "
    "lim liminf limsup ln log max min mod Pr sec sin sinh sup tan tanh"
)
_MATH_ACCENTS = {
    "bar": "\u0304",
    "overline": "\u0304",
    "hat": "\u0302",
    "widehat": "\u0302",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "dot": "\u0307",
    "ddot": "\u0308",
    "vec": "\u20d7",
    "check": "\u030c",
    "breve": "\u0306",
    "acute": "\u0301",
    "grave": "\u0300",
    "mathring": "\u030a",
    "not": "\u0338",
}
_FONT_WITH_ARGUMENT = _words(
    "mathrm mathbf mathit mathsf mathtt mathnormal boldsymbol bm pmb text textrm textbf "
    "textit textsf texttt textup textmd textnormal textsl emph mbox hbox operatorname "
    "underline"
)
_FONT_SWITCHES = _words(
    "rm bf it sf tt sl em normalfont displaystyle textstyle scriptstyle scriptscriptstyle "
    "tiny scriptsize footnotesize small normalsize large Large limits nolimits"
)
_SIZE_DELIMITERS = _words(
    "left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr"
)
_MATH_SPACES = {"quad": " ", "qquad": " ", "enspace": " ", "thinspace": " ", "negthinspace": ""}


def _letter_alphabet(style: str, legacy: str) -> dict[str, str]:
    """Map A-Z, a-z, 0-9 to a Unicode mathematical alphabet, with its Letterlike exceptions."""
    table: dict[str, str] = {}
    names = [(c, f"CAPITAL {c}") for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    names += [(c, f"SMALL {c.upper()}") for c in "abcdefghijklmnopqrstuvwxyz"]
    digits = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]
    names += [(str(i), f"DIGIT {name}") for i, name in enumerate(digits)]
    for char, name in names:
        for candidate in (f"MATHEMATICAL {style} {name}", f"{legacy} {name}"):
            try:
                table[char] = unicodedata.lookup(candidate)
            except KeyError:
                continue
            break
    return table


_ALPHABETS = {
    "mathbb": _letter_alphabet("DOUBLE-STRUCK", "DOUBLE-STRUCK"),
    "mathds": _letter_alphabet("DOUBLE-STRUCK", "DOUBLE-STRUCK"),
    "Bbb": _letter_alphabet("DOUBLE-STRUCK", "DOUBLE-STRUCK"),
    "mathcal": _letter_alphabet("SCRIPT", "SCRIPT"),
    "mathscr": _letter_alphabet("SCRIPT", "SCRIPT"),
    "mathfrak": _letter_alphabet("FRAKTUR", "BLACK-LETTER"),
}

_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδθιφχ′",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᶿᶥᵠᵡ′",
        strict=True,
    )
)
_SUBSCRIPTS = dict(
    zip(
        "0123456789+-−=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)
# Superscripts conventionally written inline: x^\circ is 25°, \gamma^* is γ*.
_SUPERSCRIPT_SPECIAL = {"∘": "°", "*": "*", "∗": "*", "†": "†", "‡": "‡"}

# --------------------------------------------------------------------------------------------
# LaTeX math spans

_MATH_TOKEN = re.compile(r"(\s+)|\\([A-Za-z]+)\*?|\\(.)|([{}^_])|(.)", re.DOTALL)
_MAX_MATH_SOURCE = 400  # longer spans are display equations: never worth rendering inline
_MAX_MATH_DEPTH = 20


class _Unrenderable(Exception):
    """Raised inside the math renderer when a span cannot be rendered faithfully."""


class _MathRenderer:
    """A tiny recursive-descent renderer for the LaTeX math found in titles and abstracts."""

    __slots__ = ("depth", "pos", "tokens")

    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[int, str]] = [
            (m.lastindex or 0, m[m.lastindex or 0]) for m in _MATH_TOKEN.finditer(source)
        ]
        self.pos = 0
        self.depth = 0

    def render(self) -> str:
        return unwrap(self._sequence(top=True))

    # Token kinds are the group numbers of _MATH_TOKEN.
    _WS, _WORD, _SYMBOL, _STRUCT, _CHAR = 1, 2, 3, 4, 5

    def _peek(self) -> tuple[int, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _sequence(self, *, top: bool) -> str:
        parts: list[str] = []
        while (token := self._peek()) is not None:
            if token == (self._STRUCT, "}"):
                if top:
                    raise _Unrenderable
                return "".join(parts)
            parts.append(self._item(parts))
        if not top:
            raise _Unrenderable  # an unclosed group
        return "".join(parts)

    def _group(self) -> str:
        self.depth += 1
        if self.depth > _MAX_MATH_DEPTH:
            raise _Unrenderable
        self.pos += 1  # the "{"
        inner = self._sequence(top=False)
        self.pos += 1  # the "}"
        self.depth -= 1
        return inner

    def _item(self, parts: list[str]) -> str:
        kind, value = self.tokens[self.pos]
        if kind == self._WS:
            self.pos += 1
            return " "
        if kind == self._STRUCT:
            if value == "{":
                return self._group()
            self.pos += 1
            return self._script(value, self._argument())
        if kind == self._WORD:
            return self._command(value, parts)
        self.pos += 1
        if kind == self._SYMBOL:
            return self._control_symbol(value)
        return self._char(value)

    def _argument(self) -> str:
        """The next argument: a group, a command, or a single character."""
        while (token := self._peek()) is not None and token[0] == self._WS:
            self.pos += 1
        if token is None:
            raise _Unrenderable
        kind, value = token
        if kind == self._STRUCT:
            if value != "{":
                raise _Unrenderable
            return self._group()
        if kind == self._WORD:
            return self._command(value, [])
        self.pos += 1
        if kind == self._SYMBOL:
            return self._control_symbol(value)
        return self._char(value)

    @staticmethod
    def _char(value: str) -> str:
        if value in "&#\\%$":
            raise _Unrenderable  # alignment, macro parameters: not inline math
        if value == "'":
            return "′"
        if value == "~":
            return " "
        return value

    @staticmethod
    def _control_symbol(value: str) -> str:
        if value in ",;: >":
            return " "
        if value == "!":
            return ""
        if value in "{}%#&_":
            return value
        if value == "|":
            return "‖"
        raise _Unrenderable

    def _script(self, marker: str, argument: str) -> str:
        if marker == "^":
            if special := _SUPERSCRIPT_SPECIAL.get(argument):
                return special
            table = _SUPERSCRIPTS
        else:
            table = _SUBSCRIPTS
        try:
            return "".join(table[char] for char in argument)
        except KeyError:
            raise _Unrenderable from None

    def _command(self, name: str, parts: list[str]) -> str:
        start = self.pos
        self.pos += 1
        space_before = start > 0 and self.tokens[start - 1][0] == self._WS
        following = self._peek()
        space_after = following is not None and following[0] == self._WS
        if name in _MATH_FUNCTIONS:
            # Upright names keep their spacing: "m\log n" is "m log n".
            before = " " if parts and parts[-1][-1:].isalnum() else ""
            after = ""
            if following is not None and following[0] in (self._WORD, self._CHAR):
                after = " " if following[0] == self._WORD or following[1].isalnum() else ""
            return before + name + after
        if space_after:
            self.pos += 1  # TeX ignores spaces after a control word
        if relation := _RELATIONS.get(name):
            return f" {relation} " if space_before or space_after else relation
        if symbol := _SYMBOLS.get(name):
            return symbol
        if name in _MATH_SPACES:
            return _MATH_SPACES[name]
        if name in _FONT_SWITCHES:
            return ""
        if name in _SIZE_DELIMITERS:
            if self._peek() == (self._CHAR, "."):
                self.pos += 1  # \left. and \right. are invisible
            return ""
        if name in _FONT_WITH_ARGUMENT:
            return self._argument()
        if alphabet := _ALPHABETS.get(name):
            try:
                return "".join(alphabet[char] for char in self._argument())
            except KeyError:
                raise _Unrenderable from None
        if mark := _MATH_ACCENTS.get(name):
            base = self._argument()
            if len(base) != 1:
                raise _Unrenderable
            return unicodedata.normalize("NFC", base + mark)
        if name == "sqrt":
            if self._peek() == (self._CHAR, "["):
                raise _Unrenderable  # n-th roots
            radicand = self._argument()
            return f"√{radicand}" if len(radicand) == 1 else f"√({radicand})"
        if name in ("frac", "dfrac", "tfrac"):
            numerator, denominator = self._argument(), self._argument()
            return f"{_operand(numerator)}/{_operand(denominator)}"
        if name == "unicode":
            return _unicode_char(self._argument())
        raise _Unrenderable


def _operand(text: str) -> str:
    text = text.strip()
    return text if len(text) == 1 or text.isalnum() else f"({text})"


def _unicode_char(code: str) -> str:
    """The character for ``\\unicode{x2013}`` (hex) or ``\\unicode{8211}`` (decimal)."""
    code = code.strip()
    try:
        value = int(code[1:], 16) if code[:1] in "xX" and code[1:] else int(code, 10)
        char = chr(value)
    except (ValueError, OverflowError):
        raise _Unrenderable from None
    if unicodedata.category(char).startswith("C") or char in "\\$":
        raise _Unrenderable  # controls, format characters, surrogates, unassigned
    return char


@functools.lru_cache(maxsize=4096)
def _render_math(source: str) -> str | None:
    """Plain-text rendering of one math span's content, or None to keep the source.

    Cached: the same spans ($\\infty$, $n$) recur across abstracts, and the confirming
    cleaning pass meets every span kept as source a second time.
    """
    if len(source) > _MAX_MATH_SOURCE:
        return None
    try:
        return _MathRenderer(source).render()
    except _Unrenderable:
        return None


# --------------------------------------------------------------------------------------------
# LaTeX in running text

_MATH_SPAN = re.compile(
    r"\\begin\{(?P<env>[A-Za-z]+\*?)\}.*?\\end\{(?P=env)\}"  # environments stay as source
    r"|\$\$(?P<display>(?:[^$\\]|\\.)+?)\$\$"
    r"|\$(?<!\\\$)(?P<inline>(?:[^$\\]|\\.)+?)\$(?!\d)"  # "$5 and $10" is money, not math
    r"|\\\((?P<paren>.+?)\\\)"
    r"|\\\[(?P<bracket>.+?)\\\]",
    re.DOTALL,
)
_PLACEHOLDER = re.compile("\x00([0-9]+)\x00")
_WRAPPERS = "|".join(
    sorted(_FONT_WITH_ARGUMENT | {"textsc", "uline", "url"}, key=len, reverse=True)
)
_SWITCHES = "|".join(
    sorted(
        _FONT_SWITCHES | {"bfseries", "itshape", "ttfamily", "upshape", "scshape", "huge", "Huge"},
        key=len,
        reverse=True,
    )
)
_CITATION = (
    r"\\(?:cite|citep|citealp|parencite|autocite|footcite|supercite|nocite|label)\*?"
    r"\s*(?:\[[^\[\]{}]*\]\s*)*\{[^{}]*\}"
)
# Innermost groups first (no braces inside), so the substitution repeats until nothing changes.
_TEXT_GROUP = re.compile(
    rf"\\(?:{_WRAPPERS})\s*\{{(?P<wrapped>[^{{}}]*)\}}"
    # A parenthetical citation or a label says nothing to a reader of a card: it goes, with
    # the space or tie before it (and the parentheses it alone filled). \citet and \ref stay:
    # they stand for words of the sentence.
    rf"|(?P<dropped>[ ~]?\(\s*{_CITATION}\s*\)|[ ~]?{_CITATION})"
    r"|\\footnote\s*\{(?P<footnote>[^{}]*)\}"
    r"|\\href\s*\{[^{}]*\}\s*\{(?P<link>[^{}]*)\}"
    rf"|\{{\\(?:{_SWITCHES})(?![A-Za-z])\s*(?P<switched>[^{{}}]*)\}}"
)
_TEXT_COMMAND = re.compile(
    r"\\(?P<alphabet>mathbb|mathcal|mathfrak|mathscr)\s*\{\s*(?P<letters>[A-Za-z0-9]+)\s*\}"
    r"|\\unicode\s*\{\s*(?P<code>[xX]?[0-9A-Fa-f]{1,6})\s*\}"
    r"|(?P<ob>\{)?\\(?P<name>[A-Za-z]+)(?(ob)\}|(?P<empty>\{\})?)"
    r"|\\(?P<escaped>[%&#_{}$])"
    r"|\\(?P<space>[ ,;:])"
    r"|\\[!\-/@]"
    r"|(?P<newline>\\\\)"
)
# Each alternative starts with its literal so the scan is fast; the contexts are look-arounds.
_QUOTES_AND_TIES = re.compile(r"``(?=\S)|''(?<=\S'')|~(?<=[A-Za-z.,;:)\]}]~)(?=[\w\\(\[{$\x00])")
_QUOTES_AND_TIES_MAP = {"``": "“", "''": "”", "~": " "}
_LATEX_MARKERS = ("\\", "$", "~", "``", "''")


def _text_group(match: re.Match[str]) -> str:
    if match["dropped"] is not None:
        return ""
    if (footnote := match["footnote"]) is not None:
        footnote = footnote.strip().rstrip(".").rstrip()
        return f" ({footnote})" if footnote else ""
    for name in ("wrapped", "link", "switched"):
        if (value := match[name]) is not None:
            return value
    return match[0]  # pragma: no cover - every alternative has a group


def _text_command(match: re.Match[str]) -> str:
    if name := match["name"]:
        symbol = _TEXT_SYMBOLS.get(name)
        return match[0] if symbol is None else symbol
    if alphabet_name := match["alphabet"]:
        alphabet = _ALPHABETS[alphabet_name]
        letters = match["letters"]
        if all(char in alphabet for char in letters):
            return "".join(alphabet[char] for char in letters)
        return match[0]
    if code := match["code"]:
        try:
            return _unicode_char(code)
        except _Unrenderable:
            return match[0]
    if escaped := match["escaped"]:
        return escaped
    if match["space"] or match["newline"]:
        return " "
    return ""  # \- \/ \@ \! : hyphenation hints and spacing corrections


def latex_to_text(text: str) -> str:
    r"""Render the LaTeX of titles and abstracts as readable text: ``$\alpha$-stable`` -> α-stable.

    Simple math becomes Unicode (Greek, symbols, sub/superscripts that Unicode has); text
    commands (``\textbf``, ``\emph``, ``\href``, ``\url``...) keep their text; parenthetical
    citations (``\cite``, ``\citep``...) and labels go; a footnote becomes an aside. A math
    span that cannot be rendered faithfully, and any environment, stays as source, dollars
    included.
    """
    if not any(marker in text for marker in _LATEX_MARKERS):
        return text
    text = text.replace("\x00", "")  # NUL marks the spans set aside below
    rendered: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        source = match["display"] or match["inline"] or match["paren"] or match["bracket"]
        plain = None if source is None else _render_math(source)
        rendered.append(match[0] if plain is None else plain)
        return f"\x00{len(rendered) - 1}\x00"

    if "$" in text or "\\" in text:
        text = _MATH_SPAN.sub(set_aside, text)
    if "\\" in text:
        changed = 1
        while changed:
            text, changed = _TEXT_GROUP.subn(_text_group, text)
        text = _TEXT_COMMAND.sub(_text_command, text)
    if "~" in text or "``" in text or "''" in text:
        text = _QUOTES_AND_TIES.sub(lambda m: _QUOTES_AND_TIES_MAP[m[0]], text)
    if rendered:
        text = _PLACEHOLDER.sub(lambda m: rendered[int(m[1])], text)
    return text


# --------------------------------------------------------------------------------------------
# The display compositions

_ABSTRACT_LABEL = re.compile(r"^(?:abstract\s*[:.]\s*)+", re.IGNORECASE)
_MAX_CLEAN_PASSES = 8


def _clean_once(text: str) -> str:
    text = html_to_text(strip_invisible(text))
    text = strip_invisible(text)  # entities such as &#8203; decode to invisible characters
    text = unwrap(latex_to_text(tex_to_unicode(text)))
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _clean_abstract_once(text: str) -> str:
    return _ABSTRACT_LABEL.sub("", _clean_once(text)).lstrip()


# A cleaned text without any of these is left unchanged by another pass: html_to_text needs
# "&" or "<", tex_to_unicode and latex_to_text need one of the others, and whitespace,
# invisible characters, NFC and the "Abstract:" label are already settled.
_RECLEAN_MARKERS = ("\\", "$", "&", "<", "~", "``", "''")


def _to_fixed_point(step: Callable[[str], str], text: str) -> str:
    # One pass can expose new work for another (double-escaped "&amp;lt;", "\&" next to
    # "lt;"), so repeat until nothing changes. Every change shortens the text, and real
    # input settles in one pass plus, when it had markup, the confirming one.
    for _ in range(_MAX_CLEAN_PASSES):
        cleaned = step(text)
        if cleaned == text or not any(marker in cleaned for marker in _RECLEAN_MARKERS):
            return cleaned
        text = cleaned
    log.debug("text still changing after %d cleaning passes", _MAX_CLEAN_PASSES)
    return text


def clean_title(text: str) -> str:
    """A title ready to store and show: HTML, TeX and LaTeX resolved, on one line."""
    return _to_fixed_point(_clean_once, text)


def clean_abstract(text: str) -> str:
    """An abstract ready to store and show, like ``clean_title`` minus a leading "Abstract:"."""
    return _to_fixed_point(_clean_abstract_once, text)


# --------------------------------------------------------------------------------------------
# Sentences

# A candidate boundary: a token ending in . ! or ? (maybe closed by quotes or brackets), then
# whitespace, then something that can start a sentence.
_SENTENCE_BOUNDARY = re.compile(
    r"[.!?]+[\"'”’)\]]*(?P<space>\s+)(?=[\"“‘'(\[]?[A-Z0-9À-ÖØ-ÞΑ-ΩА-Я$\\])"
)
_NO_BREAK_AFTER = re.compile(
    r"[(\[\"“‘']*(?:"
    r"(?:[A-Za-z]\.){2,}"  # e.g. i.e. U.S. a.k.a.
    r"|[A-Z]\."  # an initial: J. Smith
    r"|(?:al|approx|ca|cf|ch|chap|dr|eq|eqn|eqns|eqs|esp|fig|figs|ibid|incl|jr|lem|mr|mrs|ms|"
    r"prof|ref|refs|resp|sec|secs|sect|sr|st|suppl|tab|thm|viz|vol|vs|wrt)\."
    r")[\"'”’)\]]*",
    re.IGNORECASE,
)
# Abbreviations that only stay attached before a number: "No. 5", "p. 12", "pp. 3-9".
_NO_BREAK_BEFORE_NUMBER = re.compile(r"(?:no|nos|p|pp)\.", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Split an abstract into sentences without breaking on "e.g.", "et al.", "Fig. 2", "3.5%"."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_BOUNDARY.finditer(text):
        end = match.start("space")
        token_start = max(text.rfind(space, 0, end) for space in " \n\t") + 1
        token = text[token_start:end]
        if _NO_BREAK_AFTER.fullmatch(token):
            continue
        if (
            _NO_BREAK_BEFORE_NUMBER.fullmatch(token)
            and text[match.end() : match.end() + 1].isdigit()
        ):
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    if tail := text[start:].strip():
        sentences.append(tail)
    return sentences
