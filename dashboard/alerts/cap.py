"""A warning as CAP 1.2 (OASIS) in the Chinese profile (GB/T 35965.1-2018 应急信息交互协议
第1部分：预警信息): the vocabulary, the identifier rule, a draft as the officer fills it in,
and the message as plain data (a tree of element names and text, in the schema's order).

Pure: no XML library here. datasources/flows/cap_xml.py writes the tree with lxml and
validates it against the vendored schema (datasources/schemas/CAP-v1.2.xsd); docs/cap.md
has an example message and the sources of each rule.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Union

from dashboard.incidents.errors import BadInput
from dashboard.inputs import echo, plain_text, text_param, whole_number
from dashboard.timeutil import LOCAL_TZ, as_utc

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MEDIA = "application/cap+xml"
CHANNEL = "cap"  # the outbox's channel and kind of a pushed CAP message

# ------------------------------------------------------------------ the vocabulary (CAP 1.2)
STATUSES: tuple[str, ...] = ("Actual", "Exercise", "System", "Test", "Draft")
ISSUABLE_STATUSES: tuple[str, ...] = ("Actual", "Exercise", "Test")  # what the console offers
MSG_TYPES: tuple[str, ...] = ("Alert", "Update", "Cancel")
SCOPES: tuple[str, ...] = ("Public", "Restricted", "Private")
# The Chinese four colours of a warning level map onto CAP's severity (红 I 特别严重 →
# Extreme, 橙 II → Severe, 黄 III → Moderate, 蓝 IV → Minor); Unknown is not offered.
SEVERITIES: tuple[str, ...] = ("Extreme", "Severe", "Moderate", "Minor")
SEVERITY_COLOURS: dict[str, str] = {"Extreme": "red", "Severe": "orange",
                                    "Moderate": "yellow", "Minor": "blue"}
URGENCIES: tuple[str, ...] = ("Immediate", "Expected", "Future", "Past", "Unknown")
CERTAINTIES: tuple[str, ...] = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
CATEGORIES: tuple[str, ...] = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health",
                               "Env", "Transport", "Infra", "CBRNE", "Other")
RESPONSES: tuple[str, ...] = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor",
                              "Assess", "AllClear", "None")


@dataclass(frozen=True)
class EventType:
    """A kind of warning the centre issues: its CAP category and the responses it asks for
    (labels in zh/en: dashboard/i18n/cap_text.py, `cap_ev_<code>`)."""

    code: str
    category: str
    responses: tuple[str, ...]


EVENTS: dict[str, EventType] = {e.code: e for e in (
    EventType("flood", "Met", ("Prepare", "Evacuate")),  # 洪涝
    EventType("geo_hazard", "Geo", ("Evacuate", "Avoid")),  # 地质灾害 (landslide, debris flow)
    EventType("bus_incident", "Transport", ("Monitor",)),  # 校车事件 on a route
    EventType("road_closure", "Transport", ("Avoid",)),  # 道路封闭
    EventType("fire", "Fire", ("Evacuate", "Avoid")),  # 火灾
    EventType("other", "Other", ("Monitor",)),  # 其他
)}

# Durations the console offers for 有效期 (hours); the rule takes any whole 1..MAX_HOURS.
EXPIRY_HOURS: tuple[int, ...] = (2, 6, 12, 24, 48, 72)
MAX_HOURS = 168
MAX_HEADLINE = 120
MAX_DESCRIPTION = 2000
MAX_INSTRUCTION = 1000
MAX_REASON = 200

# ------------------------------------------------------------------ the identifier (GB/T 35965.1)
# 预警信息唯一标识 ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N, 31 characters (GB/T 35965.1 附录 A.1.1):
# the issuing unit's code (A.1.2: 6-digit area code by GB/T 2260, 3-digit organisation code
# by GB/T 4657, 3-digit sub-unit code default 000, 2-digit extension default 00), the entry
# time in Beijing time (A.1.3), and a serial 0-9 of one unit's messages in one second.
UNIT_CODE = re.compile(r"^(\d{6})(\d{3})(\d{3})(\d{2})$")
IDENTIFIER = re.compile(r"^(\d{14})_(\d{14})_(\d)$")
IDENTIFIER_LENGTH = 31
MAX_SERIAL = 9


@dataclass(frozen=True)
class Identifier:
    """A parsed warning identifier."""

    unit: str  # the 14-digit issuing unit code
    area: str  # 6-digit administrative area code
    organisation: str  # 3-digit organisation (sector) code
    sub_unit: str
    extension: str
    at: datetime  # entry time, aware (Beijing time)
    serial: int

    def __str__(self) -> str:
        return make_identifier(self.unit, self.at, self.serial)


def unit_code(area: str, organisation: str = "000", sub_unit: str = "000",
              extension: str = "00") -> str:
    """The 14-digit issuing unit code (ZZZZZZDDDUUUXX); BadInput('cap_unit_code') unless
    each part has its digits."""
    code = f"{area}{organisation}{sub_unit}{extension}"
    if not UNIT_CODE.match(code) or len(area) != 6 or len(organisation) != 3 \
            or len(sub_unit) != 3 or len(extension) != 2:
        raise BadInput("cap_unit_code", value=echo(code))
    return code


def make_identifier(unit: str, at: datetime, serial: int) -> str:
    """ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N for the unit's message entered at `at` (any zone;
    written in Beijing time) with serial `serial` (0-9)."""
    if not UNIT_CODE.match(unit):
        raise BadInput("cap_unit_code", value=echo(unit))
    if not 0 <= serial <= MAX_SERIAL:
        raise BadInput("cap_serial", value=serial)
    stamp = as_utc(at).astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S")
    return f"{unit}_{stamp}_{serial}"


def parse_identifier(value: Any) -> Identifier:
    """A warning identifier as the doors take it; BadInput('cap_identifier') for anything
    that is not 31 characters of the GB/T 35965.1 layout with a real date and time."""
    text = value if isinstance(value, str) else ""
    got = IDENTIFIER.match(text)
    if got is None or len(text) != IDENTIFIER_LENGTH:
        raise BadInput("cap_identifier", value=echo(value))
    unit, stamp, serial = got.groups()
    try:
        at = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise BadInput("cap_identifier", value=echo(value)) from None
    area, organisation, sub_unit, extension = UNIT_CODE.match(unit).groups()  # type: ignore[union-attr]
    return Identifier(unit, area, organisation, sub_unit, extension, at, int(serial))


def cap_time(at: datetime) -> str:
    """A CAP date-time: Beijing time with its offset, seconds, no 'Z' (the schema's pattern
    \\d\\d\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[-,+]\\d\\d:\\d\\d)."""
    return as_utc(at).astimezone(LOCAL_TZ).replace(microsecond=0).isoformat()


def references(sender: str, identifier: str, sent: datetime) -> str:
    """One entry of <references>: sender,identifier,sent."""
    return f"{sender},{identifier},{cap_time(sent)}"


# ------------------------------------------------------------------ areas
def polygon_text(ring: Sequence[Sequence[float]]) -> str:
    """A GeoJSON ring ([lon, lat] pairs) as CAP's polygon: 'lat,lon lat,lon …', closed
    (the first pair again at the end), at least four pairs."""
    pairs = [f"{float(p[1]):.6f},{float(p[0]):.6f}" for p in ring]
    if pairs and pairs[0] != pairs[-1]:
        pairs.append(pairs[0])
    if len(pairs) < 4:
        raise BadInput("cap_polygon", points=len(pairs))
    return " ".join(pairs)


def geometry_polygons(geometry: Mapping[str, Any]) -> tuple[str, ...]:
    """The outer rings of a grid's GeoJSON Polygon or MultiPolygon as CAP polygons."""
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return (polygon_text(coords[0]),) if coords else ()
    if kind == "MultiPolygon":
        return tuple(polygon_text(poly[0]) for poly in coords if poly)
    return ()


@dataclass(frozen=True)
class Area:
    """One affected grid: its name, its polygons, its code as a geocode."""

    desc: str
    polygons: tuple[str, ...]
    geocodes: tuple[tuple[str, str], ...] = ()


# ------------------------------------------------------------------ the draft
@dataclass(frozen=True)
class Draft:
    """A warning as the officer fills it in, checked (check_draft)."""

    event: str
    severity: str
    urgency: str
    certainty: str
    headline: str
    description: str
    instruction: str
    grids: tuple[str, ...]
    hours: int
    status: str = "Actual"
    lang: str = "zh"

    def as_dict(self) -> dict[str, Any]:
        """The draft as plain JSON (kept with the message, read back for a cancel)."""
        return {"event": self.event, "severity": self.severity, "urgency": self.urgency,
                "certainty": self.certainty, "headline": self.headline,
                "description": self.description, "instruction": self.instruction,
                "grids": list(self.grids), "hours": self.hours, "status": self.status,
                "lang": self.lang}


def _choice(value: Any, allowed: Collection[str], name: str) -> str:
    text = value if isinstance(value, str) else ""
    if text not in allowed:
        raise BadInput("cap_choice", name=name, value=echo(value))
    return text


def _text(value: Any, name: str, limit: int, required: bool = False) -> str:
    text = plain_text(text_param(value, name), name)
    if required and not text:
        raise BadInput("cap_required", name=name)
    if len(text) > limit:
        raise BadInput("cap_too_long", name=name, max=limit)
    return text


def check_draft(raw: Mapping[str, Any], known_grids: Collection[str]) -> Draft:
    """The form's values as a Draft, or BadInput naming the first thing wrong (its zh/en
    text is `err_<code>`): an event, severity, urgency, certainty or status outside the
    lists, no headline, text too long or with markup, no grid or one the town lacks, an
    expiry outside 1..168 hours."""
    if not isinstance(raw, Mapping):
        raise BadInput("cap_required", name="event")
    event = _choice(raw.get("event"), EVENTS, "event")
    severity = _choice(raw.get("severity"), SEVERITIES, "severity")
    urgency = _choice(raw.get("urgency"), URGENCIES, "urgency")
    certainty = _choice(raw.get("certainty"), CERTAINTIES, "certainty")
    status = _choice(raw.get("status", "Actual"), ISSUABLE_STATUSES, "status")
    headline = _text(raw.get("headline"), "headline", MAX_HEADLINE, required=True)
    description = _text(raw.get("description"), "description", MAX_DESCRIPTION)
    instruction = _text(raw.get("instruction"), "instruction", MAX_INSTRUCTION)
    grids_raw = raw.get("grids")
    if isinstance(grids_raw, str):
        grids_raw = [grids_raw]
    if not isinstance(grids_raw, list | tuple) or not grids_raw:
        raise BadInput("cap_no_area")
    grids: list[str] = []
    for code in grids_raw:
        if not isinstance(code, str) or code not in known_grids:
            raise BadInput("cap_unknown_grid", grid=echo(code))
        if code not in grids:
            grids.append(code)
    if raw.get("hours") in (None, ""):
        raise BadInput("cap_required", name="expiry")
    try:
        hours = whole_number(raw.get("hours"), "hours", 1, MAX_HOURS)
    except BadInput:
        raise BadInput("cap_hours", max=MAX_HOURS) from None
    lang = "en" if raw.get("lang") == "en" else "zh"
    return Draft(event, severity, urgency, certainty, headline, description, instruction,
                 tuple(grids), hours, status, lang)


# ------------------------------------------------------------------ the message
@dataclass(frozen=True)
class Info:
    """One <info> block."""

    language: str
    category: str
    event: str
    responses: tuple[str, ...]
    urgency: str
    severity: str
    certainty: str
    expires: datetime
    sender_name: str
    headline: str
    description: str
    instruction: str
    areas: tuple[Area, ...]
    effective: datetime | None = None
    event_code: tuple[str, str] | None = None
    web: str = ""


@dataclass(frozen=True)
class Message:
    """One CAP alert message."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str = "Public"
    note: str = ""
    references: str = ""
    infos: tuple[Info, ...] = field(default_factory=tuple)


Node = tuple[str, Union[str, list["Node"]]]  # noqa: UP007 - a recursive alias needs Union


def _info_tree(info: Info) -> list[Node]:
    nodes: list[Node] = [("language", info.language), ("category", info.category),
                         ("event", info.event)]
    nodes += [("responseType", r) for r in info.responses]
    nodes += [("urgency", info.urgency), ("severity", info.severity),
              ("certainty", info.certainty)]
    if info.event_code:
        nodes.append(("eventCode", [("valueName", info.event_code[0]),
                                    ("value", info.event_code[1])]))
    if info.effective is not None:
        nodes.append(("effective", cap_time(info.effective)))
    nodes.append(("expires", cap_time(info.expires)))
    nodes.append(("senderName", info.sender_name))
    nodes.append(("headline", info.headline))
    if info.description:
        nodes.append(("description", info.description))
    if info.instruction:
        nodes.append(("instruction", info.instruction))
    if info.web:
        nodes.append(("web", info.web))
    for area in info.areas:
        inner: list[Node] = [("areaDesc", area.desc)]
        inner += [("polygon", p) for p in area.polygons]
        inner += [("geocode", [("valueName", k), ("value", v)]) for k, v in area.geocodes]
        nodes.append(("area", inner))
    return nodes


def alert_tree(msg: Message) -> Node:
    """The message as ('alert', [(name, text or children), …]) in the schema's order."""
    if msg.status not in STATUSES or msg.msg_type not in MSG_TYPES or msg.scope not in SCOPES:
        raise ValueError(f"not CAP: {msg.status}/{msg.msg_type}/{msg.scope}")
    nodes: list[Node] = [("identifier", msg.identifier), ("sender", msg.sender),
                         ("sent", cap_time(msg.sent)), ("status", msg.status),
                         ("msgType", msg.msg_type), ("scope", msg.scope)]
    if msg.note:
        nodes.append(("note", msg.note))
    if msg.references:
        nodes.append(("references", msg.references))
    nodes += [("info", _info_tree(info)) for info in msg.infos]
    return ("alert", nodes)


@dataclass(frozen=True)
class Issuer:
    """Who issues: the unit code (identifier and <sender>), the centre's name, the area's
    GB/T 2260 code (a geocode of every area)."""

    unit: str
    sender: str
    name: str
    web: str = ""

    @property
    def area(self) -> str:
        """The 6-digit administrative area code, the unit code's first part."""
        return self.unit[:6]


def build_alert(draft: Draft, issuer: Issuer, identifier: str, sent: datetime,
                areas: Sequence[Area], event_label: str) -> Message:
    """The CAP message of an issued draft (msgType Alert), expiring `draft.hours` after
    `sent`; one <info> in the language the officer wrote in."""
    kind = EVENTS[draft.event]
    info = Info(language="en-US" if draft.lang == "en" else "zh-CN", category=kind.category,
                event=event_label, responses=kind.responses, urgency=draft.urgency,
                severity=draft.severity, certainty=draft.certainty,
                expires=sent + timedelta(hours=draft.hours), sender_name=issuer.name,
                headline=draft.headline, description=draft.description,
                instruction=draft.instruction, areas=tuple(areas), effective=sent,
                event_code=("zhongnao", draft.event), web=issuer.web)
    return Message(identifier, issuer.sender, sent, draft.status, "Alert", infos=(info,))


def build_cancel(original: Message, identifier: str, sent: datetime, reason: str,
                 prefix: str) -> Message:
    """The Cancel of `original`: a new identifier, <references> to the original
    (sender,identifier,sent), the reason as <note>, its info kept with 解除 (AllClear)."""
    infos = tuple(replace(i, responses=("AllClear",), headline=f"{prefix}{i.headline}"[:200],
                          effective=sent)
                  for i in original.infos)
    return Message(identifier, original.sender, sent, original.status, "Cancel",
                   scope=original.scope, note=reason,
                   references=references(original.sender, original.identifier, original.sent),
                   infos=infos)


def check_reason(value: Any) -> str:
    """Why a warning is cancelled: plain text, required, at most MAX_REASON characters."""
    return _text(value, "reason", MAX_REASON, required=True)


def is_current(expires: datetime, cancelled: bool, now: datetime) -> bool:
    """A warning is in force until it expires or is cancelled."""
    return not cancelled and as_utc(expires) > as_utc(now)
