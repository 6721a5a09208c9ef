"""GeoReport v2's wire shapes, pure: the spec's XML for a list or an object, and its error
answer, so the Open311 door, the gate and the body limit all refuse in the same shape."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
PREFIX = "/open311"
# A list under one of these keys holds elements named so in XML (<attributes><attribute>).
SINGULAR = {"attributes": "attribute", "values": "value", "services": "service",
            "service_requests": "request", "errors": "error"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, key: str, value: Any) -> None:
    node = ET.SubElement(parent, key)
    if isinstance(value, dict):
        for k, v in value.items():
            _fill(node, k, v)
    elif isinstance(value, list):
        for item in value:
            _fill(node, SINGULAR.get(key, "item"), item)
    else:
        node.text = _text(value)


def to_xml(root: str, body: list[Any] | dict[str, Any]) -> bytes:
    """`body` as the spec's XML: a list under `root` as repeated children (<services>
    <service>…), an object as `root`'s children; None is an empty element, booleans are
    true/false. UTF-8 with the XML declaration, as the spec asks."""
    top = ET.Element(root)
    if isinstance(body, list):
        for item in body:
            _fill(top, SINGULAR.get(root, "item"), item)
    else:
        for k, v in body.items():
            _fill(top, k, v)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="unicode") \
        .encode("utf-8")


def encode(body: list[Any] | dict[str, Any], root: str, fmt: str) -> tuple[bytes, str]:
    """(bytes, content type) of a GeoReport answer in `fmt` (json or xml)."""
    if fmt == "xml":
        return to_xml(root, body), XML_TYPE
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), JSON_TYPE


def path_format(path: str) -> str:
    """The answer's format a path asks for by its suffix: xml, else json."""
    return "xml" if path.lower().endswith(".xml") else "json"


def is_open311(path: str) -> bool:
    """True for a path of the Open311 door (its refusals take the spec's shape)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_body(status: int, description: str, fmt: str) -> tuple[bytes, str]:
    """The spec's error answer: [{code, description}] or <errors><error>…</error></errors>."""
    return encode([{"code": status, "description": description}], "errors", fmt)
