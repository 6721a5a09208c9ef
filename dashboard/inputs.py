"""What a door takes from outside, parsed once and bounded: dates, instants, numbers, ids,
text and JSON bodies. Every door (HTTP JSON, Open311, field API, briefs, audit, bus track) and
the message schemas call these, so hostile values (year 1 or 9999, 1e308, inf, a 20-digit id,
a 5,000-digit integer, 100k-deep JSON, a list where text belongs) get the same clear refusal
everywhere instead of an overflow deep inside.

A refusal is `BadInput(code, **params)` (http_status 400); its text in zh or en comes from the
i18n table (`err_<code>`, dashboard/i18n/errors.py). Values are echoed shortened.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from dashboard.incidents.errors import BadInput

# The calendar a door accepts. Wide enough for any real report, history or brief (the
# JT/T 808 two-digit years map to the same century), narrow enough that no arithmetic on a
# date (a time zone, a day added, 90 days back) can leave Python's datetime range.
MIN_YEAR, MAX_YEAR = 2000, 2099
# Row ids are SQL INTEGER (32-bit on PostgreSQL).
MAX_ID = 2**31 - 1
_ECHO = 40
MAX_URL = 500
# Nothing a link needs and markup or a broken-out attribute does: blanks, quotes, angle
# brackets, backslashes, control characters.
_NOT_IN_URL = re.compile(r"[\s<>\"'`\\\x00-\x1f\x7f]")
# Text is kept as text: no tag (an opening or closing one, a comment, a doctype), no
# javascript: link, no control character but tab, LF and CR. The message schemas
# (dashboard/messages.clean_text) and every page that takes typed text check with these.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!]|javascript:", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def echo(value: Any) -> str:
    """A value as a refusal may show it: text, at most 40 characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _ECHO else text[:_ECHO - 1] + "…"


def text_param(value: Any, name: str) -> str | None:
    """A text parameter (a query string, a form field): None when absent; a list, a number or
    an object where text belongs is refused."""
    if value is None or isinstance(value, str):
        return value
    raise BadInput("bad_text", name=name)


def not_plain(text: str) -> str | None:
    """Why `text` is not plain text ("control" characters or "markup"), or None."""
    if _CONTROL.search(text):
        return "control"
    if _MARKUP.search(text):
        return "markup"
    return None


def plain_text(value: Any, name: str, code: str = "bad_plain") -> str:
    """Typed text as the record keeps it, stripped ("" when absent): BadInput(code, name=)
    for anything but a string, or for markup (HTML/script) or control characters in it.
    The record stores text as text and hands it back as such (the REST API included), so
    markup is refused where it comes in instead of escaped where it goes out."""
    if value is None:
        return ""
    if not isinstance(value, str) or not_plain(value):
        raise BadInput(code, name=name)
    return value.strip()


def photo_url(value: Any, name: str = "photo_url") -> str | None:
    """A photo link as the field page, the field API and the report doors take it: an
    absolute http(s) address with a host, without blanks, quotes or markup, at most 500
    characters; None when empty. BadInput("bad_url") for anything else (javascript:,
    data:, "http://x/<script>", a list)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        ok = (0 < len(text) <= MAX_URL and not _NOT_IN_URL.search(text)
              and parts.scheme.lower() in ("http", "https") and bool(parts.hostname))
    except ValueError:  # a malformed port or IPv6 address
        ok = False
    if not ok:
        raise BadInput("bad_url", name=name, value=echo(value))
    return text


# ---------------------------------------------------------------- dates and instants
def in_calendar(value: date) -> bool:
    """True when the date (or datetime) is in the years a door accepts. Check the year as
    given, before any time-zone arithmetic (9999-12-31T23:59-14:00 overflows on its way to
    UTC)."""
    return MIN_YEAR <= value.year <= MAX_YEAR


def parse_day(value: Any, name: str = "day", not_after: date | None = None) -> date:
    """A calendar day YYYY-MM-DD in the accepted years (and not after `not_after`)."""
    text = text_param(value, name)
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        day = None
    if day is None or not in_calendar(day):
        raise BadInput("bad_date", name=name, value=echo(text or ""), min=MIN_YEAR,
                       max=MAX_YEAR)
    if not_after is not None and day > not_after:
        raise BadInput("day_ahead", name=name, day=day.isoformat())
    return day


def parse_instant(value: Any, name: str = "time", naive: tzinfo = UTC) -> datetime:
    """An ISO 8601 / W3C instant (Z or an offset; `naive` is the zone of one without) as
    aware UTC, in the accepted years."""
    text = text_param(value, name) or ""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or not in_calendar(when):
        raise BadInput("bad_date", name=name, value=echo(text), min=MIN_YEAR, max=MAX_YEAR)
    if when.tzinfo is None:
        when = when.replace(tzinfo=naive)
    return when.astimezone(UTC)


# ---------------------------------------------------------------- phones
# A phone as a town's sheets and forms write it (13912345678, +86-139..., 028-8888-1234): the
# one rule for the pupils' register, the grid staff roster and the stations' teams (issue 16).
PHONE = re.compile(r"^\+?[0-9][0-9-]{5,18}[0-9]$")


def phone_number(value: Any, name: str = "phone", required: bool = False) -> str:
    """A phone number as typed, stripped ("" when empty and not required); BadInput
    ("bad_phone") for anything else."""
    text = (text_param(value, name) or "").strip()
    if not text and not required:
        return ""
    if not PHONE.match(text):
        raise BadInput("bad_phone", name=name, value=echo(text))
    return text


# ---------------------------------------------------------------- numbers and ids
def bounded_number(value: Any, name: str, lo: float, hi: float) -> float:
    """A finite number from lo to hi (text or a JSON number); BadInput("bad_number") else."""
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, str):
            if len(value) > _ECHO:
                raise ValueError
            number = float(value)
        elif isinstance(value, int | float):
            number = float(value)  # OverflowError for an int beyond a float
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not (math.isfinite(number) and lo <= number <= hi):
        raise BadInput("bad_number", name=name, value=echo(value), min=_figure(lo),
                       max=_figure(hi))
    return number


def whole_number(value: Any, name: str, lo: int, hi: int) -> int:
    """A whole number from lo to hi (text like "12" or "12.0", or a JSON number)."""
    number = bounded_number(value, name, lo, hi)
    if number != int(number):
        raise BadInput("bad_number", name=name, value=echo(value), min=lo, max=hi)
    return int(number)


def parse_id(value: Any, name: str = "id") -> int:
    """A row id (1 to 2^31-1) from a path or query, or a JSON integer a page sent back
    (a component's id, a store's data); BadInput("bad_id") otherwise (a 20-digit id, text,
    a float, a boolean, a list, None)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not (text.isascii() and text.isdigit() and
                                         len(text) <= 10) or not 0 < int(text) <= MAX_ID:
        raise BadInput("bad_id", name=name, value=echo(value))
    return int(text)


def _figure(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


# ---------------------------------------------------------------- JSON bodies
def load_json(raw: bytes | str) -> Any:
    """A JSON document, or BadInput("bad_json"): not UTF-8 JSON, nested beyond Python's
    recursion limit (100k-deep brackets), or an integer literal of more than 4,300 digits
    (Python refuses to convert it). Bodies are size-limited before they get here."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError too
        raise BadInput("bad_json", detail=f"not valid JSON: {exc}"[:200]) from exc
