"""Safe XML parsing for the feeds: no entity expansion, no DTD, no network.

A document that declares a DTD (the only place an XML bomb or an external entity can live)
is refused outright: arXiv's feeds never carry one. An HTML page or a truncated body fails
to parse; every failure becomes ``SourceBadResponse``.
"""

from __future__ import annotations

from lxml import etree

from bot.services.ports import SourceBadResponse

__all__ = ["parse_xml"]


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


def parse_xml(data: bytes, *, source: str, what: str = "XML document") -> etree._Element:
    """Parse bytes into an element tree, refusing DTDs; raise SourceBadResponse on any fault."""
    if not data.strip():
        raise SourceBadResponse(source, f"empty body where an {what} was expected")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise SourceBadResponse(source, f"not a well-formed {what}: {_first_line(data)}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SourceBadResponse(source, f"the {what} declares a DTD; refused (possible XML bomb)")
    return root


def _first_line(data: bytes) -> str:
    head = data[:120].decode("utf-8", "replace").strip().splitlines()
    return repr(head[0]) if head else "(empty)"
