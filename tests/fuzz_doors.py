"""Every door of zhongnao, fuzzed: one hypothesis strategy per door and one way to send an
input through the real door, shared by the suite (tests/test_fuzz_doors.py, a few hundred
inputs per door) and the bench (bench/fuzz.py, 10,000 per door).

The doors: the HTTP JSON incident API, the Open311 form, POST /api/v1/vehicles/positions,
POST /api/v1/vehicles/gtfs-rt, JT/T 808 frames to the real gateway over TCP, every Dash
callback posted as every principal, stock-take files through the real upload callback, and
POST /api/v1/buses/boarding (issue 13) with a terminal's key.

A door answers each input with an `Outcome`: the HTTP status (or the JT/T 808 result) and
the reason it gave. `Doors.send` never raises for what the product did: a 5xx, a crash of
the door, a 4xx without a reason and every log record at ERROR or above are what the
callers count (`Tally`), and what the suite asserts away.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import logging
import os
import re
import socket
import struct
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from datasources.feeds.jt808 import codec as c
from tests.auth_helpers import PRINCIPALS
from tests.browser import KEYS

EXAMPLES = int(os.environ.get("ZN_FUZZ_EXAMPLES", "200"))


def fuzz_settings(examples: int = EXAMPLES) -> hsettings:
    """Hypothesis settings of a door's fuzz: `examples` inputs, no deadline, no database
    (a run does not replay the last run's failures into the next door's count)."""
    return hsettings(max_examples=examples, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------ values
HOSTILE_TEXT = ("", " ", "\u0000", "<script>x</script>", "😀" * 3, "1e309", "-0", "NaN",
                "Infinity", "=cmd|' /C calc'!A0", "'; DROP TABLE x;--", "\r\n", "\u202e",
                "9" * 40, "中" * 30, "../../etc/passwd", "%s%n", "{}", "[]",
                "null", "true", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00")
HOSTILE_NUMBERS = (0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 10**400, 1e308, -1e308,
                   float("inf"), float("-inf"), float("nan"), 5e-324, -0.0, 0.5)
# Long text is built when drawn: hypothesis warns about a strategy whose repr is huge.
long_text = st.sampled_from([300, 10_000, 70_000]).map(lambda n: "x" * n)
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=60), st.sampled_from(HOSTILE_TEXT), long_text,
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(["hotline", "traffic", "incident.report", "104.45", "30.55"]))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)


def dumps(value: Any) -> bytes:
    """JSON as a hostile client may send it: NaN and Infinity included, huge ints too."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True).encode()
    except ValueError:  # an int over Python's digit limit
        return b'{"n": ' + b"9" * 5000 + b"}"


# ------------------------------------------------------------------ HTTP JSON incidents
FIELDS = ("type", "v", "msg_id", "source", "source_ref", "category", "priority", "title",
          "description", "lon", "lat", "reporter_name", "reporter_phone", "photo_url",
          "reported_at", "incident_id", "to_state", "station", "sku", "delta")
near_valid_report = st.fixed_dictionaries({}, optional={f: json_value for f in FIELDS}).map(
    lambda d: {"source": "hotline", "category": "traffic", "title": "t", "lon": 104.45,
               "lat": 30.55, **d})
# A good report with one or two hostile fields reaches the rules behind validation.
one_bad_field = st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=2).map(
    lambda d: {"source": "hotline", "category": "traffic", "title": "t", "lon": 104.45,
               "lat": 30.55, **d})
json_body = st.one_of(one_bad_field.map(dumps), near_valid_report.map(dumps),
                      json_value.map(dumps), st.binary(max_size=300))
incident = st.fixed_dictionaries({
    "body": json_body,
    "key": st.one_of(st.none(), st.text(max_size=20)),
    "ctype": st.sampled_from(["application/json", "text/plain", "", "application/x-www-form"]),
})

# ------------------------------------------------------------------ Open311 form
OPEN311_FIELDS = ("service_code", "lat", "long", "description", "address_string",
                  "first_name", "last_name", "phone", "media_url", "email", "jurisdiction_id",
                  "address_id", "device_id", "account_id")
form_value = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE_TEXT),
                       st.sampled_from([str(n) for n in HOSTILE_NUMBERS]))
open311 = st.fixed_dictionaries({
    "body": st.one_of(
        st.fixed_dictionaries({"api_key": st.sampled_from(["demo-key", "", "nope"])},
                              optional={k: form_value for k in OPEN311_FIELDS}
                              ).map(lambda d: urlencode(d).encode()),
        st.fixed_dictionaries({"api_key": st.just("demo-key"), "service_code": st.sampled_from(
            ["traffic", "city_management", "001"]), "lat": st.just("30.55"),
            "long": st.just("104.45")}, optional={k: form_value for k in OPEN311_FIELDS
                                                  if k not in ("service_code", "lat", "long")}
        ).map(lambda d: urlencode(d).encode()),
        st.binary(max_size=300)),
    "ctype": st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data", "",
                              "application/json"]),
})

# ------------------------------------------------------------------ vehicle positions (JSON)
NOW = datetime.now(UTC)
hostile_instant = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                     "0001-01-01", "9999-12-31T23:59:59Z", "", "now", "1e308",
                     NOW.isoformat()]),
    st.integers(), st.floats(allow_nan=True), json_value)
fix = st.fixed_dictionaries(
    {"plate": st.one_of(st.sampled_from(["川F·D72692", "川F·D54327"]), json_scalar),
     "lon": st.one_of(st.floats(103.9, 105.0), json_scalar),
     "lat": st.one_of(st.floats(30.2, 31.0), json_scalar),
     "at": hostile_instant},
    optional={"speed_kmh": json_scalar, "heading": json_scalar, "route": json_scalar,
              "trip": json_scalar, "onboard": json_scalar, "alarm": json_scalar,
              "occupancy_pct": json_scalar, "extra": json_value})
FIX_FIELDS = ("plate", "lon", "lat", "at", "speed_kmh", "heading", "route", "trip", "onboard",
              "alarm", "occupancy_pct")
good_fix = st.fixed_dictionaries({
    "plate": st.sampled_from(["川F·D72692", "川F·D54327", "川F·D32468", "川A12345"]),
    "lon": st.floats(103.9, 105.0), "lat": st.floats(30.2, 31.0),
    "at": st.sampled_from([NOW.isoformat(), datetime.now(UTC).isoformat()])},
    optional={"speed_kmh": st.floats(0, 250), "heading": st.floats(0, 360),
              "alarm": st.sampled_from([0, 1, 3]), "onboard": st.integers(0, 200)})
one_bad_fix = st.tuples(good_fix, st.dictionaries(st.sampled_from(FIX_FIELDS),
                                                  st.one_of(json_scalar, hostile_instant),
                                                  max_size=2)).map(lambda p: {**p[0], **p[1]})
positions = st.one_of(
    st.lists(st.one_of(good_fix, one_bad_fix), min_size=1, max_size=5).map(
        lambda fixes: dumps({"positions": fixes})),
    st.fixed_dictionaries({"positions": st.lists(fix, max_size=5)},
                          optional={"type": st.sampled_from(["vehicle.positions", "x"]),
                                    "v": json_scalar, "sent_at": json_scalar,
                                    "source": json_scalar, "msg_id": json_scalar}).map(dumps),
    json_value.map(dumps), st.binary(max_size=300))

# ------------------------------------------------------------------ GTFS-Realtime
rt_float = st.one_of(st.floats(allow_nan=True, width=32),
                     st.sampled_from([float("nan"), float("inf"), float("-inf"), 3.4e38,
                                      -3.4e38, 0.0, 30.55, 104.45]))
rt_id = st.one_of(st.text(max_size=20), st.sampled_from(["", "川F·D72692", "\u0000"]),
                  st.just(10_000).map(lambda n: "x" * n))  # a 10k-character id
rt_stamp = st.one_of(st.integers(0, 2**64 - 1),
                     st.sampled_from([0, 1, 2**63, 2**64 - 1, 253402300800, 253402300799,
                                      int(NOW.timestamp())]))


@st.composite
def feed_message(draw: Any) -> bytes:
    """A structurally valid FeedMessage with hostile values in every field it may carry."""
    from google.transit import gtfs_realtime_pb2 as rt

    feed = rt.FeedMessage()
    if draw(st.booleans()) or draw(st.booleans()):
        feed.header.gtfs_realtime_version = draw(st.sampled_from(["2.0", "1.0", "", "x"]))
    if draw(st.booleans()):
        feed.header.timestamp = draw(rt_stamp)
    for _ in range(draw(st.integers(0, 4))):
        e = feed.entity.add()
        e.id = draw(rt_id)
        if draw(st.integers(0, 9)) == 0:
            e.is_deleted = True
        if draw(st.integers(0, 9)) == 0:
            continue  # an entity without a vehicle (a trip update, say)
        v = e.vehicle
        if draw(st.booleans()):
            v.vehicle.id = draw(rt_id)
        if draw(st.booleans()):
            v.vehicle.license_plate = draw(rt_id)
        if draw(st.booleans()):
            v.vehicle.label = draw(rt_id)
        if draw(st.integers(0, 5)):
            v.position.latitude = draw(rt_float)
            v.position.longitude = draw(rt_float)
            if draw(st.booleans()):
                v.position.speed = draw(rt_float)
            if draw(st.booleans()):
                v.position.bearing = draw(rt_float)
        if draw(st.booleans()):
            v.timestamp = draw(rt_stamp)
        if draw(st.booleans()):
            v.trip.trip_id = draw(rt_id)
            v.trip.route_id = draw(rt_id)
        if draw(st.booleans()):
            v.occupancy_percentage = draw(st.integers(0, 2**32 - 1))
    return bytes(feed.SerializePartialToString())  # the header may be missing


gtfs_rt = st.fixed_dictionaries({
    "body": st.one_of(feed_message(), st.binary(max_size=300),
                      feed_message().map(lambda b: b[: len(b) // 2])),
    "ctype": st.sampled_from(["application/x-protobuf", "application/octet-stream", ""]),
})

# ------------------------------------------------------------------ JT/T 808 frames
FUZZ_PHONE = "13800138001"  # the demo register's terminal of 川F·D54327
FUZZ_PLATE = "川F·D54327"
KNOWN_IDS = (c.REGISTER, c.AUTH, c.HEARTBEAT, c.LOCATION, c.BATCH, c.TERMINAL_REPLY,
             c.PLATFORM_REPLY, c.REGISTER_REPLY)


def raw_frame(msg_id: int, props: int, phone: str, serial: int, body: bytes,
              version: int | None, bad_checksum: bool = False) -> bytes:
    """A frame with any header properties (encode_frame sets only the length)."""
    if version is not None:
        head = struct.pack(">HHB", msg_id, props | 0x4000, version) + c.bcd(phone.zfill(20))
    else:
        head = struct.pack(">HH", msg_id, props & ~0x4000) + c.bcd(phone.zfill(12))
    data = head + struct.pack(">H", serial & 0xFFFF) + body
    check = c.checksum(data) ^ (0x5A if bad_checksum else 0)
    return bytes([c.FLAG]) + c.escape(data + bytes([check])) + bytes([c.FLAG])


bcd_time = st.one_of(st.binary(min_size=6, max_size=6),
                     st.sampled_from(["991231235959", "000101000000", "261125063500",
                                      "991399996099", "000000000000", "680101000000",
                                      NOW.strftime("%y%m%d%H%M%S")]).map(bytes.fromhex))
u32 = st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([0, 90_000_000, 90_000_001,
                                                           180_000_000, 180_000_001,
                                                           30_573_971, 104_468_108, 2**32 - 1]))
u16 = st.integers(0, 0xFFFF)


@st.composite
def location_body(draw: Any) -> bytes:
    """A 0x0200 body with hostile alarm bits, coordinates, speed, heading and BCD time."""
    body = struct.pack(">IIIIHHH", draw(st.one_of(u32, st.just(1))), draw(u32), draw(u32),
                       draw(u32), draw(u16), draw(u16), draw(st.one_of(u16, st.integers(0, 360))))
    body += draw(bcd_time)
    for _ in range(draw(st.integers(0, 3))):
        extra = draw(st.binary(max_size=8))
        body += bytes([draw(st.integers(0, 255)), draw(st.sampled_from([len(extra), 255]))])
        body += extra
    return body


@st.composite
def register_body(draw: Any) -> bytes:
    version = draw(st.sampled_from([None, 1]))
    reg = c.Register(draw(u16), draw(u16), draw(st.text(max_size=8)), draw(st.text(max_size=8)),
                     draw(st.text(max_size=8)), draw(st.integers(0, 255)),
                     draw(st.one_of(st.sampled_from([FUZZ_PLATE, "川FD54327", "川F·D72692",
                                                     "", "x" * 300]), st.text(max_size=12))))
    try:
        return c.encode_register(reg, version)
    except UnicodeEncodeError:
        return draw(st.binary(max_size=60))


def _batch(items: list[bytes], declared: int | None) -> bytes:
    body = struct.pack(">HB", len(items) if declared is None else declared, 1)
    for item in items:
        body += struct.pack(">H", len(item)) + item
    return body


jt808_body = st.one_of(
    st.binary(max_size=80), location_body(), register_body(),
    st.builds(_batch, st.lists(location_body(), max_size=4),
              st.one_of(st.none(), st.integers(0, 0xFFFF))),
    st.builds(lambda code, n: bytes([n]) + code, st.binary(max_size=40), st.integers(0, 255)))


@st.composite
def jt808_frame(draw: Any) -> bytes:
    """One frame (or a run of bytes) as a hostile terminal may send it."""
    kind = draw(st.sampled_from(["frame", "frame", "frame", "checksum", "escape", "garbage",
                                 "cut", "props"]))
    if kind == "garbage":
        return bytes(draw(st.binary(min_size=1, max_size=200)))
    msg_id = draw(st.one_of(st.sampled_from(KNOWN_IDS), u16))
    body = draw(jt808_body)[:0x3FF]
    version = draw(st.sampled_from([None, None, 1, 0, 255]))
    phone = draw(st.sampled_from([FUZZ_PHONE, FUZZ_PHONE, "13800138000", "13900000009", "0",
                                  "99999999999"]))
    serial = draw(u16)
    props = len(body)
    if kind == "props":  # encrypted, subpackaged or a lying length
        props = draw(u16)
    frame = raw_frame(msg_id, props, phone, serial, body, version, kind == "checksum")
    if kind == "escape":
        at = draw(st.integers(1, max(1, len(frame) - 2)))
        frame = frame[:at] + bytes([c.ESC, draw(st.integers(3, 255))]) + frame[at:]
    if kind == "cut":
        frame = frame[:draw(st.integers(1, len(frame)))]
    return frame


jt808 = st.lists(jt808_frame(), min_size=1, max_size=3).map(b"".join)

# ------------------------------------------------------------------ stock-take files
HOSTILE_CELLS = ("inf", "-inf", "nan", "1e308", "1e309", "-1", "9" * 30, "3.5", "0x10",
                 "=1+1", '=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(1)",
                 "", " ", "\u0000", "中文", "10", "0", "1,000", "١٢")
cell = st.one_of(st.sampled_from(HOSTILE_CELLS), st.text(max_size=20),
                 st.just(200_000).map(lambda n: "x" * n),  # a 200 KB cell
                 st.sampled_from(["ES-01", "EC-00", "FL-SB", "SH-TN", "FL-LJ"]))
header_row = st.one_of(st.just(["station", "sku", "quantity"]),
                       st.permutations(["station", "sku", "quantity", "name"]).map(list),
                       st.lists(st.sampled_from(["station", "sku", "quantity", "STATION", "x",
                                                 ""]), max_size=4))
# Rows of real stations and items with a hostile count reach the stock rules.
counted_row = st.tuples(st.sampled_from(["ES-01", "EC-00", "ES-02", "XX-99"]),
                        st.sampled_from(["FL-SB", "SH-TN", "FL-LJ", "NO-SUCH"]),
                        st.one_of(st.sampled_from(HOSTILE_CELLS), st.integers(0, 500).map(str)))
table = st.one_of(
    st.tuples(header_row, st.lists(st.lists(cell, max_size=5), max_size=6)),
    st.tuples(st.just(["station", "sku", "quantity"]),
              st.lists(counted_row.map(list), min_size=1, max_size=6)))


def csv_file(rows: tuple[list[str], list[list[str]]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows([rows[0], *rows[1]])
    return buf.getvalue().encode("utf-8-sig")


def xlsx_file(rows: tuple[list[str], list[list[str]]]) -> bytes:
    """A real workbook; cells starting with '=' are written as formulas (openpyxl does)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in [rows[0], *rows[1]]:
        values: list[Any] = []
        for v in row:
            try:
                values.append(float(v) if v.lower() in ("inf", "-inf", "1e308") else v)
            except ValueError:
                values.append(v)
        try:
            ws.append(values)
        except Exception:  # openpyxl refuses control characters: keep the rest of the row
            ws.append([re.sub(r"[\x00-\x1f]", "", str(v)) for v in values])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


stocktake = st.fixed_dictionaries({
    "name": st.one_of(st.sampled_from(["盘点.csv", "s.xlsx", "S.XLSX", "a.csv", "a.txt",
                                       "x" * 300 + ".csv", "<b>.csv", "\u0000.csv"]),
                      st.text(max_size=12).map(lambda s: s + ".csv")),
    "data": st.one_of(st.binary(max_size=400), table.map(csv_file), table.map(xlsx_file),
                      table.map(xlsx_file).map(lambda b: b[: len(b) // 2])),
    "prefix": st.sampled_from(["data:text/csv;base64,", "data:application/octet-stream;base64,",
                               "", "data:,", "garbage"]),
})


# ------------------------------------------------------------------ boarding events (issue 13)
# A pupil of the demo register on R01-AM1, at a time its window holds (any day: the window
# is what places a tap on a trip), and hostile values in every field.
GOOD_TAP_AT = "2026-12-04T06:40:00+08:00"
boarding = st.one_of(
    st.fixed_dictionaries(
        {"pupil": st.one_of(st.sampled_from(["QSZX2026001", "QSXX2026001", "NOBODY"]),
                            json_scalar),
         "event": st.one_of(st.sampled_from(["board", "alight", "absent"]), json_scalar),
         "at": st.one_of(st.just(GOOD_TAP_AT), hostile_instant),
         "vehicle": st.one_of(st.sampled_from(["川F·D72692", "川X·00000"]), json_scalar),
         "key": st.one_of(st.text(alphabet="abcdef0123456789-", min_size=8, max_size=16),
                          json_scalar)},
        optional={"extra": json_value}).map(dumps),
    json_body, st.binary(max_size=200))


# ------------------------------------------------------------------ Dash callbacks
PRINCIPAL_NAMES = PRINCIPALS  # every role, an ingest key and nobody (the role matrix's)
hostile_value = st.one_of(json_value, st.sampled_from([0, 1, None, "zh", "en", {}, [],
                                                       {"id": 1, "version": 1}]))


def callbacks_of(app: Any) -> list[tuple[str, dict[str, Any]]]:
    """(output key, spec) of every server callback, the pages' live streams (no inputs,
    run over the websocket; posted over HTTP they answer 204) included."""
    return [(k, spec) for k, spec in app.callback_map.items()
            if spec.get("callback") is not None]


def _concrete(ident: str, draw: Any) -> Any:
    """A concrete component id for a declared one (a pattern's wildcards filled)."""
    if not ident.startswith("{"):
        return ident
    pattern = json.loads(ident)
    return {k: (draw(st.one_of(st.integers(-2, 5), st.text(max_size=6), json_scalar))
                if isinstance(v, list) else v) for k, v in pattern.items()}


def _is_all(ident: str) -> bool:
    return ident.startswith("{") and '["ALL"]' in ident.replace(" ", "")


def _prop_id(ident: Any) -> str:
    if isinstance(ident, dict):
        return json.dumps(ident, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return str(ident)


@st.composite
def callback_call(draw: Any, callbacks: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """A well-formed /_dash-update-component body for one callback, hostile values in every
    input and state, posted as one principal."""
    key, spec = draw(st.sampled_from(callbacks))
    named = [part.rsplit(".", 1) for part in key.strip(".").split("...")]
    many = key.startswith("..")

    def item(dep: dict[str, Any]) -> Any:
        ident = dep["id"]
        if _is_all(ident):
            return [{"id": _concrete(ident, draw), "property": dep["property"],
                     "value": draw(hostile_value)} for _ in range(draw(st.integers(0, 3)))]
        return {"id": _concrete(ident, draw), "property": dep["property"],
                "value": draw(hostile_value)}

    inputs = [item(d) for d in spec["inputs"]]
    state = [item(d) for d in spec.get("state", [])]
    fired = [i for group in inputs for i in (group if isinstance(group, list) else [group])]
    changed = [f"{_prop_id(i['id'])}.{i['property']}" for i in fired[:1]]
    body = {"output": key,
            "outputs": [{"id": i, "property": p} for i, p in named] if many
            else {"id": named[0][0], "property": named[0][1]} if "." in key else [],
            "inputs": inputs, "state": state, "changedPropIds": changed}
    return {"who": draw(st.sampled_from(PRINCIPAL_NAMES)), "body": dumps(body),
            "name": key}


def malformed_callback(callbacks: list[tuple[str, dict[str, Any]]]) -> Any:
    """Bodies Dash's renderer never sends: not JSON, not an object, keys missing or of the
    wrong type, an output no callback has, inputs that do not match the callback."""
    keys = st.sampled_from([k for k, _ in callbacks])
    shapes = st.one_of(
        st.binary(max_size=200),
        json_value.map(dumps),
        st.fixed_dictionaries({}, optional={
            "output": st.one_of(keys, json_scalar), "outputs": json_value,
            "inputs": json_value, "state": json_value, "changedPropIds": json_value,
            "parsedChangedPropsIds": json_value}).map(dumps),
        st.builds(lambda k, inputs, state: dumps({
            "output": k, "outputs": {"id": k.split(".")[0], "property": "x"},
            "inputs": inputs, "state": state, "changedPropIds": []}),
            keys, st.lists(json_value, max_size=4), st.lists(json_value, max_size=4)))
    return st.fixed_dictionaries({"who": st.sampled_from(PRINCIPAL_NAMES), "body": shapes,
                                  "name": st.just("malformed")})


# ------------------------------------------------------------------ outcomes and the log
@dataclass
class Outcome:
    """What a door answered one input: a status (HTTP, or JT/T 808 'jt808:<result>') and
    the reason it named ('' when it named none)."""

    status: int | str
    reason: str = ""

    @property
    def klass(self) -> str:
        if isinstance(self.status, int):
            return f"{self.status // 100}xx"
        return str(self.status)


def reason_of(r: Any) -> str:
    """The reason a refusal names: `error` (with a message or detail), Open311's code, or
    Dash's detail; '' when the body says nothing."""
    try:
        body = r.json()
    except ValueError:
        return ""
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Open311's shape
        return str(body[0].get("code", "")) if body[0].get("description") else ""
    if not isinstance(body, dict):
        return ""
    if body.get("error") and (body.get("message") or body.get("detail")):
        return str(body["error"])
    if isinstance(body.get("detail"), str) and body["detail"]:  # FastAPI's HTTPException
        return body["detail"].split(":")[0]
    return ""


class LogTrap(logging.Handler):
    """Every record at ERROR or above, from any logger, while installed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()[:300]}" + (
            f" [{r.exc_info[0].__name__}: {r.exc_info[1]}]" if r.exc_info and r.exc_info[0]
            else "") for r in self.records]

    @contextlib.contextmanager
    def installed(self) -> Iterator[LogTrap]:
        root = logging.getLogger()
        level = root.level
        root.setLevel(min(level, logging.ERROR))  # a quieter root would drop them unseen
        root.addHandler(self)
        # Loggers that do not propagate (uvicorn's) are watched directly.
        extra = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "dash")
                 if not logging.getLogger(n).propagate]
        for lg in extra:
            lg.addHandler(self)
        try:
            yield self
        finally:
            root.setLevel(level)
            root.removeHandler(self)
            for lg in extra:
                lg.removeHandler(self)


@dataclass
class Tally:
    """Per door: inputs, seconds, answers by class and reason, and what went wrong."""

    door: str
    inputs: int = 0
    seconds: float = 0.0
    classes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # 5xx, crashes, 4xx without reason
    logged: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome, sample: Any) -> None:
        self.inputs += 1
        self.classes[outcome.klass] += 1
        if outcome.reason:
            self.reasons[outcome.reason[:60]] += 1
        bad = ""
        if outcome.klass in ("5xx", "crash"):
            bad = f"{outcome.status} {outcome.reason[:300]}"
        elif outcome.klass == "4xx" and not outcome.reason:
            bad = f"{outcome.status} without a reason"
        if bad:
            self.failures.append(f"{bad} <- {repr(sample)[:400]}")

    @property
    def five_xx(self) -> int:
        return self.classes["5xx"]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.logged


# ------------------------------------------------------------------ the doors
class Doors:
    """The running app (a TestClient), its services and the JT/T 808 gateway's port; one
    `send_*` per door. Sessions of every principal are made once."""

    def __init__(self, client: Any, gateway_port: int):
        self.client, self.port = client, gateway_port
        self.services = client.zn
        self.callbacks = callbacks_of(client.app)
        self.jars = {who: self._jar(who) for who in PRINCIPAL_NAMES}
        self._terminal: socket.socket | None = None
        self._serial = 0
        self._splitter = c.Splitter()
        self._last = ""

    # -------------------------------------------------------------- principals
    def _jar(self, who: str) -> dict[str, str]:
        from dashboard.roles import ANON, GUARDIAN, INGEST
        from datasources.gate.web import CSRF_COOKIE, GUARDIAN_COOKIE, SESSION_COOKIE, csrf_token

        if who in (INGEST, ANON):
            return {CSRF_COOKIE: "fuzz-csrf-token"}
        accounts = self.services.accounts
        if who == GUARDIAN:  # a guardian's link, once opened (the first pupil's mother)
            from sqlalchemy import select

            from datasources.sql import models as m

            with self.services.store.session() as s:
                pupil = s.scalar(select(m.Guardian.pupil_id))
            link = accounts.add_key("guardian", f"guardian:{pupil}/1")
            return {GUARDIAN_COOKIE: link, CSRF_COOKIE: csrf_token(link)}
        name = f"fuzz-{who}"
        from tests.auth_helpers import TEST_UNITS  # a unit role's account names its unit

        user = accounts.user(name) or accounts.add_user(name, who, "fuzz-password-1",
                                                        unit_id=TEST_UNITS.get(who))
        token = accounts.start_session(user)
        return {SESSION_COOKIE: token, CSRF_COOKIE: csrf_token(token)}

    def _as(self, who: str) -> dict[str, str]:
        from datasources.gate.web import CSRF_COOKIE

        jar = self.jars[who]
        self.client.cookies.clear()
        for k, v in jar.items():
            self.client.cookies.set(k, v)
        headers = {"X-CSRFToken": jar[CSRF_COOKIE], "content-type": "application/json"}
        if who == "ingest":
            headers["X-Api-Key"] = KEYS["hotline"]
        return headers

    def _http(self, method: str, path: str, **kw: Any) -> Outcome:
        r = self.client.request(method, path, **kw)
        self._last = r.text
        if r.status_code >= 500:
            return Outcome(r.status_code, r.text[:300])
        return Outcome(r.status_code, reason_of(r) if r.status_code >= 400 else "")

    # -------------------------------------------------------------- HTTP doors
    def send_incident(self, x: dict[str, Any]) -> Outcome:
        self.client.cookies.clear()
        headers = {"X-Api-Key": KEYS["hotline"], "content-type": x["ctype"]}
        if x["key"] is not None and x["key"].isascii() and x["key"].isprintable():
            headers["Idempotency-Key"] = x["key"]
        return self._http("POST", "/api/v1/incidents", content=x["body"], headers=headers)

    def send_open311(self, x: dict[str, Any]) -> Outcome:
        self.client.cookies.clear()
        return self._http("POST", "/open311/v2/requests.json", content=x["body"],
                          headers={"content-type": x["ctype"]})

    def send_positions(self, body: bytes) -> Outcome:
        self.client.cookies.clear()
        return self._http("POST", "/api/v1/vehicles/positions", content=body,
                          headers={"X-Api-Key": KEYS["bus"],
                                   "content-type": "application/json"})

    def send_gtfs_rt(self, x: dict[str, Any]) -> Outcome:
        self.client.cookies.clear()
        return self._http("POST", "/api/v1/vehicles/gtfs-rt", content=x["body"],
                          headers={"X-Api-Key": KEYS["bus"], "content-type": x["ctype"]})

    def send_boarding(self, body: bytes, key: str = KEYS["terminal"]) -> Outcome:
        self.client.cookies.clear()
        return self._http("POST", "/api/v1/buses/boarding", content=body,
                          headers={"X-Api-Key": key, "content-type": "application/json"})

    # -------------------------------------------------------------- Dash callbacks
    def send_callback(self, x: dict[str, Any]) -> Outcome:
        headers = self._as(x["who"])
        return self._http("POST", "/_dash-update-component", content=x["body"],
                          headers=headers)

    def send_stocktake(self, x: dict[str, Any]) -> Outcome:
        """The file through the resources page's upload callback, as the officer."""
        contents = x["prefix"] + base64.b64encode(x["data"]).decode()
        key = next(k for k, spec in self.callbacks
                   if spec["inputs"] and spec["inputs"][0]["id"] == "rs-upload")
        named = [part.rsplit(".", 1) for part in key.strip(".").split("...")]
        body = {"output": key, "outputs": [{"id": i, "property": p} for i, p in named],
                "inputs": [{"id": "rs-upload", "property": "contents", "value": contents}],
                "state": [{"id": "rs-upload", "property": "filename", "value": x["name"]},
                          {"id": "rs-lang", "property": "data", "value": "zh"}],
                "changedPropIds": ["rs-upload.contents"]}
        headers = self._as("officer")
        out = self._http("POST", "/_dash-update-component", content=dumps(body),
                         headers=headers)
        if out.status == 200:  # the toast's class says whether the file was taken
            out.reason = "ok" if '"res-toast ok"' in self._last else "refused"
        return out

    # -------------------------------------------------------------- JT/T 808 gateway
    def _connect(self) -> socket.socket:
        """The fuzzing terminal (FUZZ_PHONE), registered and authenticated."""
        from tests.browser import Terminal

        term = Terminal(self.port, FUZZ_PHONE)
        term.login(plate=FUZZ_PLATE)
        self._term_obj = term
        return term.sock

    def send_jt808(self, blob: bytes) -> Outcome:
        """The bytes on the authenticated fuzzing connection, then a heartbeat: the answer
        is the results of the replies before the heartbeat's (the gateway must still
        answer it; a closed connection is a crash)."""
        if self._terminal is None:
            self._terminal = self._connect()
            self._splitter = c.Splitter()
        sock = self._terminal
        self._serial = (self._serial + 1) & 0xFFFF
        marker = self._serial
        try:
            # A 0x7E first: a cut frame before it must not swallow the heartbeat.
            sock.sendall(blob + bytes([c.FLAG]) + c.encode_frame(c.HEARTBEAT, FUZZ_PHONE,
                                                                 marker))
            results: list[str] = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed by the gateway")
                for raw in self._splitter.feed(chunk):
                    frame = c.decode_frame(raw)
                    if frame.header.msg_id == c.PLATFORM_REPLY:
                        serial, msg_id, result = c.parse_general_reply(frame.body)
                        if msg_id == c.HEARTBEAT and serial == marker:
                            status = results[-1] if results else "jt808:none"
                            return Outcome(status, status.split(":")[1])
                        results.append(f"jt808:{result}")
                    elif frame.header.msg_id == c.REGISTER_REPLY:
                        results.append(f"jt808:reg{c.parse_register_reply(frame.body)[1]}")
            return Outcome("crash", "no answer to the heartbeat in 10 s")
        except (OSError, c.FrameError) as exc:
            self._terminal = None
            with contextlib.suppress(OSError):
                sock.close()
            return Outcome("crash", f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self._terminal is not None:
            self._terminal.close()
            self._terminal = None

    # -------------------------------------------------------------- after the fuzz
    def good_inputs_pass(self) -> list[str]:
        """Each door takes a good input after the fuzz; returns what did not."""
        from dashboard.messages import VehiclePosition
        from datasources.feeds.gtfs_rt import vehicle_feed
        from tests.browser import Terminal

        wrong = []
        self.client.cookies.clear()
        # The fuzzed admin may have revoked a source's key (adm-revoke with a key's id, as an
        # admin may): that key stays refused, and its door takes a good input under a new one.
        accounts = self.services.accounts
        keys = {source: token if accounts.key_principal(token, "ingest") is not None
                else accounts.add_key("ingest", f"after the fuzz {source}", source)
                for source, token in KEYS.items()}
        good = {"source": "hotline", "category": "traffic", "title": "模糊测试之后",
                "lon": 104.45, "lat": 30.55}
        r = self.client.post("/api/v1/incidents", content=dumps(good),
                             headers={"X-Api-Key": keys["hotline"],
                                      "content-type": "application/json"})
        if r.status_code != 201:
            wrong.append(f"incidents: {r.status_code} {r.text[:200]}")
        r = self.client.post("/open311/v2/requests.json", content=urlencode({
            "api_key": keys["citizen"], "service_code": "traffic", "lat": "30.55",
            "long": "104.45",
            "description": "模糊测试之后"}).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"})
        if r.status_code not in (200, 201):
            wrong.append(f"open311: {r.status_code} {r.text[:200]}")
        now = datetime.now(UTC).replace(microsecond=0)
        fixes = {"positions": [{"plate": "川F·D32468", "lon": 104.46, "lat": 30.55,
                                "at": now.isoformat()}]}
        r = self.client.post("/api/v1/vehicles/positions", content=dumps(fixes),
                             headers={"X-Api-Key": keys["bus"],
                                      "content-type": "application/json"})
        if r.status_code != 202:
            wrong.append(f"positions: {r.status_code} {r.text[:200]}")
        feed = vehicle_feed([VehiclePosition(plate="川F·D12345", lon=104.46, lat=30.55,
                                             at=now)])
        r = self.client.post("/api/v1/vehicles/gtfs-rt", content=feed,
                             headers={"X-Api-Key": keys["bus"],
                                      "content-type": "application/x-protobuf"})
        if r.status_code != 202 or r.json().get("accepted") != 1:
            wrong.append(f"gtfs-rt: {r.status_code} {r.text[:200]}")
        tap = {"pupil": "QSZX2026001", "event": "board", "at": GOOD_TAP_AT,
               "vehicle": "川F·D72692", "key": "after-the-fuzz-0001"}
        out = self.send_boarding(dumps(tap), keys["terminal"])
        if out.status not in (200, 201):
            wrong.append(f"boarding: {out.status} {self._last[:200]}")
        headers = self._as("officer")
        body = {"output": "disp-queue.data", "outputs": {"id": "disp-queue",
                                                        "property": "data"},
                "inputs": [{"id": "disp-filters", "property": "data", "value": None}],
                "state": [{"id": "disp-lang", "property": "data", "value": "zh"}],
                "changedPropIds": ["disp-filters.data"]}
        r = self.client.post("/_dash-update-component", content=dumps(body), headers=headers)
        if r.status_code != 200:
            wrong.append(f"callback: {r.status_code} {r.text[:200]}")
        held = {i["sku"]: i["quantity"]
                for i in self.services.resources.res.station("ES-01")["items"]}
        sheet = f"station,sku,quantity\nES-01,SH-TN,{held['SH-TN'] + 1}\n".encode()
        out = self.send_stocktake({"name": "好.csv", "data": sheet,
                                   "prefix": "data:text/csv;base64,"})
        if out.status != 200 or out.reason != "ok":
            wrong.append(f"stock-take: {out.status} {out.reason}")
        term = Terminal.of(self.port, "川F·D72692")
        try:
            term.login()
            if term.report(now, 104.468108, 30.573971, 30) != c.OK:
                wrong.append("jt808: an honest terminal's report was not taken")
        finally:
            term.close()
        return wrong


# ------------------------------------------------------------------ the Redis ingest door
redis_raw = st.one_of(json_body, st.text(max_size=200).map(str.encode))


def send_redis(doors: Doors, raw: bytes) -> Outcome:
    """A message on the ingest channel, handled as the hub's subscriber would."""
    outcome = doors.services.intake.handle_raw(raw)
    if outcome.rejected:
        return Outcome("refused", str(outcome.rejected))
    if outcome.skipped or outcome.event is not None:
        return Outcome("taken", "skipped" if outcome.skipped else "event")
    return Outcome("crash", "neither taken, skipped nor refused")


# ------------------------------------------------------------------ running a door
DOOR_NAMES = ("incidents", "open311", "positions", "gtfs-rt", "jt808", "callbacks",
              "callbacks-malformed", "stocktake", "redis", "boarding")


def plan(doors: Doors, name: str) -> tuple[Any, Any]:
    """(strategy, send) of the door `name`."""
    return {
        "incidents": (incident, doors.send_incident),
        "open311": (open311, doors.send_open311),
        "positions": (positions, doors.send_positions),
        "gtfs-rt": (gtfs_rt, doors.send_gtfs_rt),
        "jt808": (jt808, doors.send_jt808),
        "callbacks": (callback_call(doors.callbacks), doors.send_callback),
        "callbacks-malformed": (malformed_callback(doors.callbacks), doors.send_callback),
        "stocktake": (stocktake, doors.send_stocktake),
        "redis": (redis_raw, lambda raw: send_redis(doors, raw)),
        "boarding": (boarding, doors.send_boarding),
    }[name]


def run_door(doors: Doors, name: str, examples: int = EXAMPLES) -> Tally:
    """Fuzz one door with `examples` inputs; every answer, failure and logged error tallied
    (nothing raised: the caller judges the tally)."""
    from hypothesis import given

    strategy, send = plan(doors, name)
    tally, trap = Tally(name), LogTrap()

    @fuzz_settings(examples)
    @given(strategy)
    def one(x: Any) -> None:
        try:
            out = send(x)
        except Exception as exc:  # noqa: BLE001 - a door that raises is what we count
            out = Outcome("crash", f"{type(exc).__name__}: {exc}")
        tally.add(out, x)

    with trap.installed():
        started = time.perf_counter()
        one()
        if name == "jt808":  # the gateway's flush of what the frames left queued
            time.sleep(0.3)
        tally.seconds = time.perf_counter() - started
    tally.logged = trap.lines()
    return tally


@contextlib.contextmanager
def open_doors(settings: Any) -> Iterator[Doors]:
    """The app in-process (a server error is a 500, as a client sees it) and the JT/T 808
    gateway publishing into the same Redis, with every principal signed in."""
    from datasources.redis.publisher import Publisher
    from tests.browser import app_client, running_gateway

    with app_client(settings) as client, running_gateway(
            Publisher.from_url(settings.redis_url, settings.redis_prefix)) as (_gw, port):
        doors = Doors(client, port)
        try:
            yield doors
        finally:
            doors.close()
