"""arXiv identifiers: whatever people paste (ids, ``arXiv:`` prefixes, links) to one canonical id.

The canonical id never carries the version (``2403.13043``, ``math/0309136``); the version is
kept beside it. Old-style ids lose their subject class (``math.GT/0309136`` -> ``math/0309136``),
as arXiv itself files them. The category arXiv's pages append for citing
(``arXiv:2403.13043 [cs.CL]``) is dropped: the id alone names the paper.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

__all__ = ["ACCEPTED_FORMS", "OLD_STYLE_ARCHIVES", "ArxivId", "InvalidArxivId", "parse_arxiv_id"]

log = logging.getLogger(__name__)

ACCEPTED_FORMS = (
    "2403.13043, 2403.13043v2, arXiv:2403.13043, hep-th/9901001, "
    "or an arxiv.org / huggingface.co / alphaxiv.org paper link"
)

# Archives whose papers got old-style ids (archive/YYMMNNN) before April 2007, from arXiv's
# taxonomy. Later archives (stat, q-fin, eess, econ) only ever had new-style ids.
OLD_STYLE_ARCHIVES = frozenset(
    {
        "acc-phys",
        "adap-org",
        "alg-geom",
        "ao-sci",
        "astro-ph",
        "atom-ph",
        "bayes-an",
        "chao-dyn",
        "chem-ph",
        "cmp-lg",
        "comp-gas",
        "cond-mat",
        "cs",
        "dg-ga",
        "funct-an",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math",
        "math-ph",
        "mtrl-th",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "patt-sol",
        "physics",
        "plasm-ph",
        "q-alg",
        "q-bio",
        "quant-ph",
        "solv-int",
        "supr-con",
    }
)

_ARXIV_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org"})
_HF_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})
_ALPHAXIV_HOSTS = frozenset({"alphaxiv.org", "www.alphaxiv.org"})
_KNOWN_HOSTS = _ARXIV_HOSTS | _HF_HOSTS | _ALPHAXIV_HOSTS

# Everything ASCII: "\d" would otherwise accept Arabic-Indic and other Unicode digits.
_CHAT_LINK = re.compile(r"<(?P<url>[^<>|]+)(?:\|[^<>]*)?>")
_URL = re.compile(
    r"(?:(?P<scheme>https?)://)?(?P<host>[a-z0-9.-]+)(?::[0-9]{1,5})?"
    r"(?P<path>/[^?#\s]*)?(?:\?[^#\s]*)?(?:#\S*)?",
    re.ASCII | re.IGNORECASE,
)
_ARXIV_PATH = re.compile(
    r"/(?:abs|html|format)/(?P<id>.+?)/?|/pdf/(?P<pdf>.+?)(?:\.pdf)?/?", re.ASCII
)
_HF_PATH = re.compile(r"/papers/(?P<id>.+?)/?", re.ASCII)
_ALPHAXIV_PATH = re.compile(r"/(?:abs|overview)/(?P<id>.+?)/?", re.ASCII)
_PREFIX = re.compile(r"arxiv:\s*", re.ASCII | re.IGNORECASE)
# The category arXiv's "Cite as" line puts after the id ("arXiv:2403.13043 [cs.CL]",
# "arXiv:hep-th/9901001 [hep-th]"): only one well-formed category, at the very end.
_CATEGORY_TAG = re.compile(r"\[[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]+(?:-[A-Za-z]+)?)?\]\Z", re.ASCII)
_VERSION = r"(?:[vV](?P<version>[0-9]*))?"  # "V3": upper-cased along with the prefix
_NEW_STYLE = re.compile(rf"(?P<yymm>[0-9]{{4}})\.(?P<number>[0-9]+){_VERSION}", re.ASCII)
_OLD_STYLE = re.compile(
    r"(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.(?P<subject>[A-Za-z]+(?:-[A-Za-z]+)?))?"
    rf"/(?P<yymm>[0-9]{{4}})(?P<number>[0-9]+){_VERSION}",
    re.ASCII,
)
# A link to some other site (host with a path), and an id inside longer text: only used to
# explain a rejection.
_LINK_LIKE = re.compile(
    r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::[0-9]+)?/.*", re.ASCII | re.IGNORECASE
)
_EMBEDDED_ID = re.compile(
    r"(?<![0-9.])[0-9]{4}\.[0-9]{4,5}(?:v[0-9]+)?(?![0-9])|[a-z-]+(?:\.[A-Za-z-]+)?/[0-9]{7}",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class ArxivId:
    """A canonical arXiv id (never versioned) and the version, when the input named one."""

    id: str
    version: int | None = None

    def __post_init__(self) -> None:
        if self.version is not None and self.version < 1:
            raise ValueError(f"arXiv versions start at 1, got {self.version}")

    @property
    def versioned(self) -> str:
        """``2403.13043v2`` when the version is known, else the bare id."""
        return self.id if self.version is None else f"{self.id}v{self.version}"

    def __str__(self) -> str:
        return self.versioned


class InvalidArxivId(ValueError):
    """The text is not an arXiv id or paper link; the message says why and what to type."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(text, reason)
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        shown = self.text.strip()
        if not shown:
            return f"No arXiv id given. Try {ACCEPTED_FORMS}."
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{shown!r} is not an arXiv id: {self.reason}. Try {ACCEPTED_FORMS}."


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse an arXiv id, ``arXiv:`` id, or arxiv.org / Hugging Face / alphaXiv paper link.

    An id may carry the category arXiv's pages put after it (``arXiv:2403.13043 [cs.CL]``).
    Slack's ``<url>`` and ``<url|label>`` wrapping and surrounding whitespace are accepted.
    Raises InvalidArxivId, whose message explains the problem to the person who typed it.
    """
    candidate = text.strip()
    if not candidate:
        raise InvalidArxivId(text, "the text is empty")
    if chat_link := _CHAT_LINK.fullmatch(candidate):
        candidate = chat_link["url"].strip()
    if "://" in candidate or _known_host(candidate):
        return _parse_bare(_id_from_link(candidate, text), text)
    if tag := _CATEGORY_TAG.search(candidate):
        candidate = candidate[: tag.start()].rstrip()
    return _parse_bare(candidate, text)


def _known_host(candidate: str) -> bool:
    host, slash, _ = candidate.partition("/")
    return bool(slash) and host.lower() in _KNOWN_HOSTS


def _id_from_link(link: str, text: str) -> str:
    """The id part of a paper link's path; raises when the link is not a paper link."""
    url = _URL.fullmatch(link)
    if url is None:
        raise InvalidArxivId(text, "that is not a link to a paper")
    host = url["host"].lower()
    path = url["path"] or ""
    if host in _ARXIV_HOSTS:
        page = _ARXIV_PATH.fullmatch(path)
        if page is None:
            raise InvalidArxivId(
                text, "that arxiv.org link is not a paper page (/abs/, /pdf/, /html/ or /format/)"
            )
        return page["id"] or page["pdf"]
    if host in _HF_HOSTS:
        page = _HF_PATH.fullmatch(path)
        if page is None:
            raise InvalidArxivId(text, "that Hugging Face link is not a paper page (/papers/ID)")
        return str(page["id"])
    if host in _ALPHAXIV_HOSTS:
        page = _ALPHAXIV_PATH.fullmatch(path)
        if page is None:
            raise InvalidArxivId(text, "that alphaXiv link is not a paper page (/abs/ID)")
        return str(page["id"])
    raise InvalidArxivId(
        text, f"{host} is not arxiv.org, huggingface.co or alphaxiv.org, so it has no arXiv id"
    )


def _parse_bare(candidate: str, text: str) -> ArxivId:
    """Parse an id with an optional ``arXiv:`` prefix and version."""
    if prefix := _PREFIX.match(candidate):
        candidate = candidate[prefix.end() :]
    if match := _NEW_STYLE.fullmatch(candidate):
        return _new_style(match, text)
    if match := _OLD_STYLE.fullmatch(candidate):
        return _old_style(match, text)
    if _LINK_LIKE.fullmatch(candidate):
        raise InvalidArxivId(text, "that link is not to arxiv.org, huggingface.co or alphaxiv.org")
    if _EMBEDDED_ID.search(candidate):
        raise InvalidArxivId(text, "there is other text around the id; paste only the id or link")
    raise InvalidArxivId(text, "ids look like YYMM.NNNNN or archive/YYMMNNN")


def _new_style(match: re.Match[str], text: str) -> ArxivId:
    yymm, number = match["yymm"], match["number"]
    month = int(yymm[2:])
    if not 1 <= month <= 12:
        raise InvalidArxivId(text, f"month {yymm[2:]} does not exist (ids start with YYMM)")
    if yymm < "0704":
        raise InvalidArxivId(
            text,
            "ids of the form YYMM.NNNNN start in April 2007 (0704); "
            "older papers have ids like hep-th/9901001",
        )
    if yymm <= "1412" and len(number) != 4:
        raise InvalidArxivId(
            text, "ids from 0704 to 1412 have four digits after the dot, like 0704.0001"
        )
    if yymm >= "1501" and len(number) != 5:
        raise InvalidArxivId(
            text, "ids from 1501 on have five digits after the dot, like 2403.13043"
        )
    if int(number) == 0:
        raise InvalidArxivId(text, "paper numbers start at 1")
    return ArxivId(f"{yymm}.{number}", _version(match, text))


def _old_style(match: re.Match[str], text: str) -> ArxivId:
    archive, yymm, number = match["archive"], match["yymm"], match["number"]
    if archive not in OLD_STYLE_ARCHIVES:
        raise InvalidArxivId(
            text, f"{archive} is not an arXiv archive with old-style ids (like hep-th or math)"
        )
    if len(number) != 3:
        raise InvalidArxivId(
            text, "old-style ids have seven digits after the slash, like hep-th/9901001"
        )
    year, month = int(yymm[:2]), int(yymm[2:])
    if not (year >= 91 or year <= 7):
        raise InvalidArxivId(text, "old-style ids are from 1991 to 2007 (years 91 to 07)")
    if not 1 <= month <= 12:
        raise InvalidArxivId(text, f"month {yymm[2:]} does not exist (ids have YYMM after the /)")
    if int(number) == 0:
        raise InvalidArxivId(text, "paper numbers start at 1")
    return ArxivId(f"{archive}/{yymm}{number}", _version(match, text))


def _version(match: re.Match[str], text: str) -> int | None:
    digits = match["version"]
    if digits is None:
        return None
    if not digits:
        raise InvalidArxivId(text, "a version needs a number, like v2")
    if digits.startswith("0"):
        raise InvalidArxivId(text, "versions start at v1 and have no leading zeros")
    return int(digits)
