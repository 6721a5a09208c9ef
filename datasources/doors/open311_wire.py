"""The wire of the Open311 door: JSON and XML answers in the spec's shapes, its error
format, and the POST body (form-encoded or multipart) with its `attribute[code]` fields."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import Response
from python_multipart import parse_form
from python_multipart.exceptions import FormParserError

from dashboard.i18n.georeport_wire import encode

FORMATS = ("json", "xml")
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.-]{1,64})\](\[\])?$")
MAX_FIELDS = 200
_BOUNDARY = re.compile(r';\s*boundary="?[0-9A-Za-z\'()+_,\-./:=? ]{1,70}"?\s*(;|$)', re.I)


def answer(body: list[Any] | dict[str, Any], root: str, fmt: str, status: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    """A GeoReport answer in `fmt` (root: the XML root element's name)."""
    raw, ctype = encode(body, root, fmt)
    return Response(raw, status_code=status, headers=headers, media_type=ctype)


def errors(status: int, description: str, fmt: str = "json",
           headers: dict[str, str] | None = None) -> Response:
    """The spec's error answer: [{code, description}] or <errors><error>…</error></errors>."""
    return answer([{"code": status, "description": description}], "errors", fmt, status,
                  headers)


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
