"""Safe XML parsing for the feeds: no entity expansion, no DTD, no network.

A document that declares a DTD (the only place an XML bomb or an external entity can live)
is refused outright, before the parser sees it: arXiv's feeds never carry one. An HTML page
(a wrong URL, a proxy's or a portal's page) is named as such. One record (an RSS item, an
Atom entry) that is not well-formed on its own, such as one invalid UTF-8 byte, is cut out and
reported, and the rest parsed by the same parser; any other failure is ``SourceBadResponse``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from lxml import etree

from bot.services.ports import SourceBadResponse

__all__ = ["BrokenRecord", "parse_records", "parse_xml"]

# What may come before the root element: a BOM, the XML declaration, comments, PIs. Each
# comment matches one way only, and the possessive *+ never gives one back: a head of many
# comments costs one pass, not one try per way of grouping them.
_PROLOG = rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?[^>]*\?>\s*|<!--(?:(?!-->).)*-->\s*)*+"
# An HTML page: an HTML doctype without an internal subset, or an <html> root.
_HTML = re.compile(
    _PROLOG + rb"<(?:!doctype\s+html\b[^\[>]*>|html[\s>/])", re.IGNORECASE | re.DOTALL
)
_DOCTYPE = re.compile(_PROLOG + rb"<!DOCTYPE\b", re.DOTALL)
_TITLE = re.compile(rb"<title[^>]*>([^<]{1,300})</title", re.IGNORECASE)
_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']+)")
_SNIFF_BYTES = 4096
# Checking records one by one parses the rest of the document once per record: only worth it
# when that rest is small (arXiv's channel head is about 2 kB).
_MAX_FRAME_BYTES = 64 * 1024
_CLOSERS = frozenset(b" \t\r\n/>")
_POSITION = re.compile(r",? line \d+, column \d+$")


@dataclass(frozen=True, slots=True)
class BrokenRecord:
    """A record cut out of a document because it is not well-formed on its own, and why."""

    raw: bytes
    offset: int  # where the record starts in the document
    reason: str

    def text_of(self, tag: str) -> str | None:
        """The text of the record's first ``<tag>``, as far as it can be read (a label)."""
        match = re.search(rb"<" + re.escape(tag.encode()) + rb"(?:\s[^>]*)?>([^<]*)<", self.raw)
        if match is None:
            return None
        return _text(match.group(1))[:200] or None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(
    data: bytes,
    *,
    source: str,
    what: str = "XML document",
    where: str = "the URL",
    setting: str | None = None,
) -> etree._Element:
    """Parse bytes into an element tree, refusing DTDs; raise SourceBadResponse on any fault.

    ``where`` and ``setting`` name the URL and the setting that holds it, for the message
    about an HTML page.
    """
    root, _ = parse_records(data, source=source, what=what, where=where, setting=setting)
    return root


def parse_records(
    data: bytes,
    *,
    source: str,
    what: str = "XML document",
    record: str | None = None,
    where: str = "the URL",
    setting: str | None = None,
) -> tuple[etree._Element, tuple[BrokenRecord, ...]]:
    """Like ``parse_xml``; a ``<record>`` element that spoils the document alone is cut out.

    Returns the root of what remains and the records cut out, in document order. Only when
    the whole document fails to parse are its records checked one by one, so a good document
    costs one parse.
    """
    if not data.strip():
        raise SourceBadResponse(source, f"empty body where an {what} was expected")
    head = data[:_SNIFF_BYTES]
    if _HTML.match(head):
        raise _html_page(source, head, what, where, setting)
    if _DOCTYPE.match(head):
        raise _dtd(source, what)
    broken: tuple[BrokenRecord, ...] = ()
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        salvaged = _salvage(data, record) if record is not None else None
        if salvaged is None:
            raise SourceBadResponse(
                source, f"not a well-formed {what}: {_first_line(data)}"
            ) from exc
        root, broken = salvaged
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _dtd(source, what)
    if isinstance(root.tag, str) and etree.QName(root).localname.lower() == "html":
        raise _html_page(source, head, what, where, setting)
    return root, broken


def _dtd(source: str, what: str) -> SourceBadResponse:
    return SourceBadResponse(source, f"the {what} declares a DTD; refused (possible XML bomb)")


def _html_page(
    source: str, head: bytes, what: str, where: str, setting: str | None
) -> SourceBadResponse:
    match = _TITLE.search(head)
    title = _text(match.group(1))[:80] if match else ""
    named = f' ("{title}")' if title else ""
    advice = f": check {setting}" if setting else ""
    return SourceBadResponse(
        source, f"{where} answered with an HTML page{named}, not an {what}{advice}"
    )


def _record_spans(data: bytes, tag: str) -> list[tuple[int, int]]:
    """Where each complete ``<tag ...>...</tag>`` lies, in one pass of ``find``.

    Byte-level, so a bad byte cannot hide a tag: ``<`` and ``>`` never occur inside a
    multi-byte UTF-8 sequence. An opening tag without its closing one ends the list.
    """
    opening, closing = b"<" + tag.encode(), b"</" + tag.encode()
    spans: list[tuple[int, int]] = []
    position = 0
    while (start := _find_tag(data, opening, position)) >= 0:
        head_end = data.find(b">", start)
        if head_end < 0:
            break
        if data[head_end - 1] == ord("/"):  # <tag/>: an empty record
            spans.append((start, head_end + 1))
            position = head_end + 1
            continue
        end = _find_tag(data, closing, head_end)
        end_gt = data.find(b">", end) if end >= 0 else -1
        if end_gt < 0:
            break
        spans.append((start, end_gt + 1))
        position = end_gt + 1
    return spans


def _find_tag(data: bytes, tag: bytes, position: int) -> int:
    """The next ``tag`` followed by a space, ``/`` or ``>`` (so ``<item`` is not ``<items``)."""
    while (found := data.find(tag, position)) >= 0:
        after = found + len(tag)
        if after < len(data) and data[after] in _CLOSERS:
            return found
        position = after
    return -1


def _salvage(data: bytes, record: str) -> tuple[etree._Element, tuple[BrokenRecord, ...]] | None:
    """The document without the records that are not well-formed on their own, parsed.

    None when that does not help: the fault lies outside the records (the channel, a
    truncated tail), or no record is at fault. Every parse uses the same safe parser.
    """
    spans = _record_spans(data, record)
    if not spans:
        return None
    head, tail = data[: spans[0][0]], data[spans[-1][1] :]
    if _parses(head + tail) is None:
        return None  # the fault is outside the records: the document is spoilt as a whole
    broken: dict[int, BrokenRecord] = {}
    if _is_utf8(head):
        # The common fault, found cheaply: a byte that is not UTF-8 (Latin-1, a cut sequence).
        for start, end in spans:
            try:
                data[start:end].decode("utf-8")
            except UnicodeDecodeError as exc:
                at = start + exc.start
                reason = f"not valid UTF-8 (byte 0x{data[at]:02X} at offset {at})"
                broken[start] = BrokenRecord(data[start:end], start, reason)
    root = _parses(_cut(data, spans, broken)) if broken else None
    if root is None and len(head) + len(tail) <= _MAX_FRAME_BYTES:
        # Any other fault of a record alone (a control character, a stray '<'): check each.
        for start, end in spans:
            if start in broken:
                continue
            try:
                etree.fromstring(head + data[start:end] + tail, parser=_parser())
            except etree.XMLSyntaxError as exc:
                reason = f"not well-formed XML ({_POSITION.sub('', str(exc.msg))})"
                broken[start] = BrokenRecord(data[start:end], start, reason)
        root = _parses(_cut(data, spans, broken)) if broken else None
    if root is None:
        return None
    return root, tuple(broken[start] for start in sorted(broken))


def _cut(data: bytes, spans: list[tuple[int, int]], broken: dict[int, BrokenRecord]) -> bytes:
    pieces: list[bytes] = []
    kept_from = 0
    for start, end in spans:
        if start in broken:
            pieces.append(data[kept_from:start])
            kept_from = end
    pieces.append(data[kept_from:])
    return b"".join(pieces)


def _parses(data: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError:
        return None


def _is_utf8(head: bytes) -> bool:
    """Whether the document is UTF-8: declared so, or declaring nothing (XML's default)."""
    match = _ENCODING.match(head)
    return match is None or match.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8")


def _text(raw: bytes) -> str:
    """Raw character data as readable text: any bad byte replaced, entities and spaces tidied."""
    return " ".join(html.unescape(raw.decode("utf-8", "replace")).split())


def _first_line(data: bytes) -> str:
    head = data[:120].decode("utf-8", "replace").strip().splitlines()
    return repr(head[0]) if head else "(empty)"
