"""CAP 1.2 and Atom as XML, with lxml: write the message tree of dashboard/alerts/cap.py,
validate it against the OASIS schema vendored in datasources/schemas/CAP-v1.2.xsd, and
write the Atom feed of the issued messages (RFC 4287)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree

from dashboard.alerts.cap import CAP_MEDIA, CAP_NS, Node, cap_time
from dashboard.incidents.errors import BadInput

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "CAP-v1.2.xsd"
ATOM_NS = "http://www.w3.org/2005/Atom"


@functools.cache
def schema() -> etree.XMLSchema:
    """The CAP 1.2 schema, parsed once per process."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


def _element(parent: etree._Element | None, node: Node) -> etree._Element:
    name, value = node
    tag = f"{{{CAP_NS}}}{name}"
    el = etree.Element(tag, nsmap={None: CAP_NS}) if parent is None \
        else etree.SubElement(parent, tag)
    if isinstance(value, str):
        el.text = value
    else:
        for child in value:
            _element(el, child)
    return el


def to_xml(tree: Node) -> bytes:
    """The message as UTF-8 XML with its declaration, indented."""
    return etree.tostring(_element(None, tree), xml_declaration=True, encoding="UTF-8",
                          pretty_print=True)


def problems(xml: bytes | str) -> list[str]:
    """What the schema finds wrong with `xml` (empty when it validates); text that is not
    XML at all is one problem."""
    data = xml.encode() if isinstance(xml, str) else xml
    try:
        doc = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False,
                                                            no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not XML: {exc}"]
    check = schema()
    if check.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in check.error_log]


def valid_xml(tree: Node) -> bytes:
    """The message as XML, checked: BadInput('cap_invalid') naming the first problem when
    it does not validate (nothing is stored or sent then)."""
    xml = to_xml(tree)
    found = problems(xml)
    if found:
        raise BadInput("cap_invalid", detail=found[0][:200])
    return xml


@dataclass(frozen=True)
class FeedEntry:
    """One message as the Atom feed lists it."""

    identifier: str
    title: str
    summary: str
    sent: datetime
    msg_type: str


def atom_feed(title: str, base: str, entries: Iterable[FeedEntry], author: str,
              updated: datetime) -> bytes:
    """An Atom feed of messages, newest first; each entry links its CAP XML
    (`{base}/api/v1/cap/{identifier}.xml`, type application/cap+xml)."""
    a = f"{{{ATOM_NS}}}"
    feed = etree.Element(f"{a}feed", nsmap={None: ATOM_NS})
    etree.SubElement(feed, f"{a}id").text = f"{base}/api/v1/cap/feed.atom"
    etree.SubElement(feed, f"{a}title").text = title
    etree.SubElement(feed, f"{a}updated").text = cap_time(updated)
    etree.SubElement(feed, f"{a}link", rel="self", href=f"{base}/api/v1/cap/feed.atom",
                     type="application/atom+xml")
    etree.SubElement(etree.SubElement(feed, f"{a}author"), f"{a}name").text = author
    for e in entries:
        entry = etree.SubElement(feed, f"{a}entry")
        url = f"{base}/api/v1/cap/{e.identifier}.xml"
        etree.SubElement(entry, f"{a}id").text = f"urn:zhongnao:cap:{e.identifier}"
        etree.SubElement(entry, f"{a}title").text = e.title
        etree.SubElement(entry, f"{a}updated").text = cap_time(e.sent)
        etree.SubElement(entry, f"{a}published").text = cap_time(e.sent)
        etree.SubElement(entry, f"{a}link", rel="alternate", href=url, type=CAP_MEDIA)
        etree.SubElement(entry, f"{a}category", term=e.msg_type)
        etree.SubElement(entry, f"{a}summary").text = e.summary
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
