"""The wire of the Open311 door: JSON and XML answers in the spec's shapes, its error
format, and the POST body (form-encoded or multipart) with its `attribute[code]` fields."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

from fastapi.responses import Response
from python_multipart import parse_form
from python_multipart.exceptions import FormParserError

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
# A list under one of these keys holds elements named so in XML (<attributes><attribute>).
SINGULAR = {"attributes": "attribute", "values": "value", "services": "service",
            "service_requests": "request", "errors": "error"}
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.-]{1,64})\](\[\])?$")
MAX_FIELDS = 200
_BOUNDARY = re.compile(r';\s*boundary="?[0-9A-Za-z\'()+_,\-./:=? ]{1,70}"?\s*(;|$)', re.I)


def fmt_of(value: str | None) -> str:
    """The answer's format for a path's suffix: xml or json (the fallback for errors)."""
    return "xml" if (value or "").lower() == "xml" else "json"


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


def answer(body: list[Any] | dict[str, Any], root: str, fmt: str,
           status: int = 200) -> Response:
    """A GeoReport answer in `fmt` (root: the XML root element's name)."""
    if fmt == "xml":
        return Response(to_xml(root, body), status_code=status, media_type=XML_TYPE)
    return Response(json.dumps(body, ensure_ascii=False).encode("utf-8"), status_code=status,
                    media_type=JSON_TYPE)


def errors(status: int, description: str, fmt: str = "json") -> Response:
    """The spec's error answer: [{code, description}] or <errors><error>…</error></errors>."""
    return answer([{"code": status, "description": description}], "errors", fmt, status)


@dataclass
class Posted:
    """The fields of a GeoReport POST: plain fields, `attribute[code]` answers, files."""

    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # the names of file parts sent

    def add(self, name: str, value: str) -> None:
        """One field; `attribute[x]` and `attribute[x][]` go to the attributes (a field
        sent twice keeps its first value, as the spec's servers do)."""
        hit = _ATTRIBUTE.match(name)
        if hit:
            self.attributes.setdefault(hit.group(1), []).append(value)
        else:
            self.fields.setdefault(name, value)


class BadForm(ValueError):
    """A body that is not a form this door reads; the reason is a message key."""


def read_form(body: bytes, content_type: str) -> Posted:
    """The POST's fields from an urlencoded or multipart body; BadForm otherwise."""
    posted = Posted()
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("", "application/x-www-form-urlencoded"):
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS,
                              strict_parsing=False)
        except UnicodeDecodeError:
            raise BadForm("o311_not_utf8") from None
        except ValueError:
            raise BadForm("o311_bad_form") from None
        for k, v in pairs:
            posted.add(k, v)
        return posted
    if kind != "multipart/form-data":
        raise BadForm("o311_content_type")
    if not _BOUNDARY.search(content_type):
        raise BadForm("o311_bad_form")  # the parser would log it as its own error
    count = 0

    def on_field(f: Any) -> None:
        nonlocal count
        count += 1
        if count > MAX_FIELDS:
            raise BadForm("o311_bad_form")
        name = (f.field_name or b"").decode("utf-8")
        posted.add(name, (f.value or b"").decode("utf-8"))

    def on_file(f: Any) -> None:
        if f.size or f.file_name:  # a form's empty file input sends a nameless empty part
            posted.files.append((f.field_name or b"").decode("utf-8", "replace"))
        f.close()

    try:
        parse_form({"Content-Type": content_type.encode("latin-1"),
                    "Content-Length": str(len(body)).encode()},
                   io.BytesIO(body), on_field, on_file)
    except UnicodeDecodeError:
        raise BadForm("o311_not_utf8") from None
    except (FormParserError, ValueError, AttributeError) as exc:
        if isinstance(exc, BadForm):
            raise
        raise BadForm("o311_bad_form") from None
    return posted
