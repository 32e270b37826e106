"""Make untrusted paper text inert in chat messages, and trim it to platform limits.

Titles, authors and abstracts come from arXiv, Hugging Face and Semantic Scholar, so anyone
who can submit a paper controls them. Before such text reaches a Discord embed or a Slack
block it goes through ``scrub`` (invisible, bidi and control characters out), then the
platform's escape (no markdown, mentions, channel pings or masked links survive), then
``truncate`` (trim at a sentence or word boundary, never inside a character, a combining
sequence or an escape).

Lengths are measured by ``measure``: UTF-16 code units. Discord's API counts code points
(it runs on Python: discord-api-docs issue #1315) and Slack counts characters without saying
which kind; UTF-16 units are never fewer than code points, so a text that fits by this
measure fits on both platforms whichever way they count.
"""

from __future__ import annotations

import logging
import re
import unicodedata

__all__ = [
    "ZWSP",
    "discord_escape",
    "measure",
    "scrub",
    "slack_escape",
    "truncate",
]

log = logging.getLogger(__name__)

ZWSP = "\u200b"  # the only invisible character we emit: it breaks @everyone and @here

# Every format character (Unicode category Cf: zero-width spaces and joiners, bidi embeddings,
# overrides and isolates, the BOM, soft hyphen, tag characters ...), C0/C1 controls other than
# whitespace, lone surrogates, and the Hangul fillers that render as blank "names".
# tests/core/test_safety.py checks this against unicodedata so a new Cf character is noticed.
_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
    "]+"
)
# Any run of whitespace, line and paragraph separators included: untrusted text is one line,
# so it can never start a markdown line (heading, quote, list) in the middle of a message.
_SPACES = re.compile(r"\s+")


def scrub(text: str) -> str:
    """Drop invisible, bidi-control and control characters; fold whitespace runs to a space."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", text))


def measure(text: str) -> int:
    """The length platforms see, conservatively: UTF-16 code units (astral characters count 2)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- Discord -------------------------------------------------------------------------------

# Inline markdown that works anywhere in a line: emphasis, strike, code, spoilers, masked
# links, and the angle brackets of <@user>, <@&role>, <#channel>, <t:...>, </cmd:id>,
# <:emoji:id> and <https://...>. The backslash itself first, so input cannot escape our
# own escapes.
_DISCORD_INLINE = re.compile(r"([\\*_~`|\[\]<>])")
# Markdown that only works at the start of a line: headings (# ## ###), subtext (-#), quotes,
# and lists (- item, + item, 1. item). After ``scrub`` the only line start is the text's start.
_DISCORD_LINE_START = re.compile(r"^(\s*)([#>+-]|\d+(?=\.))")
_MASS_MENTION = re.compile(r"@(everyone|here|channel)", re.IGNORECASE)


def discord_escape(text: str, *, markdown: bool = True) -> str:
    """Untrusted text as inert Discord markdown: no formatting, mentions or masked links.

    ``markdown=False`` is for fields Discord shows as plain text (footer, author name, button
    labels), where a backslash would show: there only @everyone and @here are broken.
    """
    text = scrub(text)
    if markdown:
        text = _DISCORD_INLINE.sub(r"\\\1", text)
        text = _DISCORD_LINE_START.sub(_escape_line_start, text, count=1)
    return _MASS_MENTION.sub("@" + ZWSP + r"\1", text)


def _escape_line_start(match: re.Match[str]) -> str:
    lead, marker = match.group(1), match.group(2)
    if marker[0].isdigit():  # "1. item": escape the dot instead (handled by the lookahead)
        return f"{lead}{marker}\\"
    return f"{lead}\\{marker}"


# --- Slack ---------------------------------------------------------------------------------

_SLACK_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SLACK_SPECIAL = re.compile(r"[&<>]")
# Slack mrkdwn has no escape character, so markers that could open or close a span become
# look-alike characters that never format: backticks and tildes always, asterisks and
# underscores unless they sit inside a word (x_i, 2*3), where Slack does not format them.
_SLACK_LOOKALIKE = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_SLACK_MARKERS = re.compile(r"[~`]|(?<![^\W_])[*_]|[*_](?![^\W_])")


def slack_escape(text: str, *, mrkdwn: bool = True) -> str:
    """Untrusted text as inert Slack text: no <!channel>, <@U..>, <url|label>, or formatting.

    ``mrkdwn=False`` is for plain_text objects (header, button labels), where formatting
    characters are shown as they are and only ``& < >`` need escaping.
    """
    text = scrub(text)
    if mrkdwn:
        text = _SLACK_MARKERS.sub(lambda m: _SLACK_LOOKALIKE[m.group()], text)
        if text.lstrip().startswith(">"):  # "&gt; ..." at a line start is still a quote
            text = text.replace(">", "\u203a", 1)
    text = _SLACK_SPECIAL.sub(lambda m: _SLACK_ENTITIES[m.group()], text)
    return _MASS_MENTION.sub("@" + ZWSP + r"\1", text)


# --- Trimming ------------------------------------------------------------------------------

_ENTITY_TAIL = re.compile(r"&(?:#[0-9]{0,7}|#[xX][0-9a-fA-F]{0,6}|[A-Za-z]{0,8})$")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{1,8});")
_ENTITY_END = re.compile(_ENTITY.pattern + "$")
_SENTENCE_END = re.compile(r"(?<=[^\s.!?][.!?])[\"')\]”’]?\s")
_ABBREVIATIONS = frozenset({"al.", "e.g.", "i.e.", "etc.", "vs.", "cf.", "fig.", "eq.", "no."})
_DANGLING = frozenset(",;:([{/-–—·•")  # nothing a trimmed text should end on
_REGIONAL = range(0x1F1E6, 0x1F200)


def truncate(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` (by ``measure``) at a sentence or word boundary.

    A text that fits comes back unchanged. Otherwise the cut never splits a character, a
    combining sequence, an emoji sequence, a backslash escape (``\\*``) or an entity
    (``&amp;``); a cut after a whole sentence ends there, any other cut ends with ``ellipsis``.
    """
    if limit <= 0:
        return ""
    if measure(text) <= limit:
        return text
    if measure(ellipsis) >= limit:
        ellipsis = ""
    budget = limit - measure(ellipsis)
    cut = _safe_cut(text, _fit_index(text, budget))

    sentence = _last_sentence_end(text, cut)
    if sentence >= 0.6 * cut and sentence > 0:
        return _strip_trailing(text[:sentence])
    space = text.rfind(" ", 0, cut + 1)
    if space >= 0.5 * cut and space > 0:
        cut = space
    head = _strip_trailing(text[:cut])
    return head + ellipsis if head or ellipsis else ""


def _fit_index(text: str, budget: int) -> int:
    """The largest index whose prefix measures at most ``budget`` (or a little less)."""
    index = min(len(text), budget)
    over = measure(text[:index]) - budget
    while over > 0:
        index -= (over + 1) // 2
        over = measure(text[:index]) - budget
    return index


def _extends(char: str) -> bool:
    """Whether ``char`` belongs to the grapheme before it (a cut must not go before it)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin tones
        or 0x1160 <= code <= 0x11FF  # conjoining Hangul vowels and finals
        or code == 0x200D  # zero-width joiner (when scrub did not run)
    )


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back so that ``text[:cut]`` ends on a grapheme and escape boundary."""
    while 0 < cut < len(text):
        char, before = text[cut], text[cut - 1]
        if _extends(char) or before == "\u200d":
            cut -= 1
            continue
        if ord(char) in _REGIONAL and ord(before) in _REGIONAL:
            run = 0  # flags are pairs of regional indicators: never cut inside a pair
            while cut - run > 0 and ord(text[cut - run - 1]) in _REGIONAL:
                run += 1
            if run % 2:
                cut -= 1
                continue
        if _escapes_next(text, cut):  # the last backslash escapes text[cut]: keep them together
            cut -= 1
            continue
        tail = _ENTITY_TAIL.search(text, max(0, cut - 10), cut)
        if tail and _ENTITY.match(text, tail.start()):
            cut = tail.start()
            continue
        break
    return max(cut, 0)


def _escapes_next(text: str, end: int) -> bool:
    """Whether ``text[:end]`` ends in an odd run of backslashes (one escaping ``text[end]``)."""
    start = end
    while start > 0 and text[start - 1] == "\\":
        start -= 1
    return (end - start) % 2 == 1


def _last_sentence_end(text: str, cut: int) -> int:
    """The end of the last whole sentence within ``text[:cut]``, or -1."""
    best = -1
    for match in _SENTENCE_END.finditer(text, 0, min(len(text), cut + 1)):
        end = match.start() + len(match.group()) - 1  # keep a closing quote or bracket
        word = text[text.rfind(" ", 0, end) + 1 : end].rstrip("\"')]”’").lower()
        if end <= cut and word not in _ABBREVIATIONS:
            best = end
    return best


def _strip_trailing(text: str) -> str:
    """Drop trailing spaces and dangling punctuation, keeping escapes whole."""
    while True:
        text = text.rstrip()
        if (
            not text
            or text[-1] not in _DANGLING
            or _ENTITY_END.search(text, max(0, len(text) - 12))
        ):
            return text
        text = text[:-1]
        if _escapes_next(text, len(text)):
            text = text[:-1]  # the punctuation was escaped: drop its backslash too
