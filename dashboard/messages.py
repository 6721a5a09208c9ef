"""Versioned JSON messages crossing a boundary (Redis, HTTP, files), validated on entry.

Every message is a JSON object with `v` (schema version) and `type`. `parse_inbound`,
`parse_vehicle_message` and `parse_event` turn raw bytes into typed objects or raise
`MessageError` with a short machine `reason` (used as the rejection counter) and a
human `detail`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from dashboard.incidents.errors import BadInput
from dashboard.incidents.hotline import NO_RESULT, visit_note, visit_score
from dashboard.incidents.lifecycle import CATEGORY_BY_CODE, PRIORITIES, SOURCES, STATES
from dashboard.incidents.video import BAD_LINK, EVENT_TYPES, NO_OFFSET, UNKNOWN_TYPE
from dashboard.inputs import MAX_ID, MAX_YEAR, MIN_YEAR, in_calendar, load_json, not_plain
from dashboard.inputs import photo_url as plain_photo_url
from dashboard.town import CAMERA_ID, Camera

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 256 * 1024
MAX_TEXT = 2000
# The text of a time outside the accepted calendar (dashboard/inputs.py); the HTTP doors
# translate it.
BAD_DATE = f"not a valid date (years {MIN_YEAR}–{MAX_YEAR})"
BAD_URL = "a photo link must be an http(s) address without blanks, quotes or markup"
# The most one step may move of an item (a receipt, an issue, an adjustment, a dispatch), or
# one count of people at a shelter or of an item in a stock-take: the same bound at every
# door (Redis, the console, the stock-take file; dashboard/resources/stock.parse_quantity).
MAX_QUANTITY = 100_000


class MessageError(ValueError):
    """An inbound message that was rejected; `reason` is a short counter key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def clean_text(value: str | None) -> str | None:
    """Strip text; refuse control characters and markup (HTML/script)."""
    if value is None:
        return None
    why = not_plain(value)  # the one rule (dashboard/inputs.py), pages use it too
    if why == "control":
        raise ValueError("control characters are not allowed")
    if why == "markup":
        raise ValueError("markup (HTML/script) is not allowed in text")
    return value.strip()


Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=MAX_TEXT)
    v: Literal[1] = 1
    # Idempotency key chosen by the source; a message re-sent with the same msg_id is
    # handled once. Without it, identical bytes within a minute count as one message.
    msg_id: str | None = Field(default=None, min_length=8, max_length=64,
                               pattern=r"^[A-Za-z0-9_.:-]+$")

    def to_json(self) -> str:
        """Serialise as the wire JSON."""
        return self.model_dump_json(exclude_none=True)


# ---------------------------------------------------------------- inbound (ingest channel)
class IncidentReport(_Message):
    """A new report from a grid worker, the 12345 hotline, a citizen or a video alert."""

    type: Literal["incident.report"] = "incident.report"
    source: str
    source_ref: str | None = Field(default=None, max_length=64)
    category: str
    priority: str = "normal"
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=MAX_TEXT)
    lon: Lon
    lat: Lat
    reporter_name: str | None = Field(default=None, max_length=40)
    reporter_phone: str | None = Field(default=None, pattern=r"^[0-9+\- ]{3,20}$")
    photo_url: str | None = None  # dashboard/inputs.photo_url: http(s), no markup, <= 500
    # A photo the product kept (photos.id, issue 15: the field report door stores it first);
    # an id it never kept, or one another work order shows, attaches nothing.
    photo: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    reported_at: datetime | None = None
    # 雪亮工程 (issue 15): the camera and AI event type of a video alert (the burst rule
    # merges one camera's alerts of one type) and the platform's clip of it.
    camera_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,24}$")
    event_type: str | None = Field(default=None, pattern=r"^[a-z_]{1,24}$")
    clip_url: str | None = None

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in SOURCES:
            raise ValueError(f"unknown source {value!r}; one of {', '.join(SOURCES)}")
        return value

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORY_BY_CODE:
            raise ValueError(f"unknown category {value!r}")
        return value

    @field_validator("priority")
    @classmethod
    def _known_priority(cls, value: str) -> str:
        if value not in PRIORITIES:
            raise ValueError(f"unknown priority {value!r}; one of {', '.join(PRIORITIES)}")
        return value

    @field_validator("title", "description", "reporter_name", "source_ref")
    @classmethod
    def _safe_text(cls, value: str | None) -> str | None:
        return clean_text(value)

    @field_validator("photo_url", "clip_url")
    @classmethod
    def _plain_link(cls, value: str | None) -> str | None:
        try:
            return plain_photo_url(value)
        except BadInput:
            raise ValueError(BAD_URL) from None

    @field_validator("reported_at")
    @classmethod
    def _in_calendar(cls, value: datetime | None) -> datetime | None:
        # Year 1 or 9999 overflowed on the way to UTC (a 500) or made a work order of year 1.
        if value is not None and not in_calendar(value):
            raise ValueError(BAD_DATE)
        return value


# ---------------------------------------------------------------- issue 15: 12345, 雪亮工程
class HotlineVisit(BaseModel):
    """The hotline's 回访 result: `score` 1–5, or `satisfied` true/false; a `note`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    satisfied: bool | None = None
    score: int | None = Field(default=None, ge=1, le=5)
    note: str = Field(default="", max_length=400)

    @field_validator("note")
    @classmethod
    def _plain(cls, value: str) -> str:
        return clean_text(value) or ""

    @model_validator(mode="after")
    def _one_result(self) -> HotlineVisit:
        if self.score is None and self.satisfied is None:
            raise ValueError(NO_RESULT)
        return self

    @property
    def satisfaction(self) -> int:
        """The score the work order is closed with (hotline.visit_score)."""
        return visit_score(self.score, self.satisfied)

    def history_note(self) -> str:
        return visit_note(self.note, self.satisfaction)


class VideoEvent(BaseModel):
    """One AI camera event as the camera platform posts it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=500)
    camera_id: str = Field(pattern=CAMERA_ID)
    event_type: str
    at: datetime
    # The platform's own id of the event: a retry with the same id is the same event.
    event_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    snapshot_url: str | None = None
    clip_url: str | None = None
    note: str = Field(default="", max_length=400)
    confidence: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)

    @field_validator("event_type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(f"{UNKNOWN_TYPE} {value!r}; one of {', '.join(EVENT_TYPES)}")
        return value

    @field_validator("snapshot_url", "clip_url")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        try:
            return plain_photo_url(value)
        except BadInput:
            raise ValueError(BAD_LINK) from None

    @field_validator("note")
    @classmethod
    def _plain(cls, value: str) -> str:
        return clean_text(value) or ""

    @field_validator("at")
    @classmethod
    def _in_calendar(cls, value: datetime) -> datetime:
        if not in_calendar(value):
            raise ValueError(BAD_DATE)
        if value.tzinfo is None:
            raise ValueError(NO_OFFSET)
        return value


def video_report(event: VideoEvent, camera: Camera) -> IncidentReport:
    """The incident.report an event becomes: the type's category and priority, placed at
    the camera, the snapshot as its photo, the camera and type kept for the burst rule."""
    kind = EVENT_TYPES[event.event_type]
    text = f"摄像头 {camera.name}（{camera.id}）识别到{kind.zh}"
    if event.confidence is not None:
        text += f"，置信度 {event.confidence:.0%}"
    if event.note:
        text += f"。{event.note}"
    return IncidentReport(source="video", source_ref=event.event_id,
                          category=kind.category, priority=kind.priority,
                          title=f"{kind.zh}：{camera.name}"[:100], description=text,
                          lon=camera.lon, lat=camera.lat, photo_url=event.snapshot_url,
                          reported_at=event.at, camera_id=camera.id, event_type=kind.code,
                          clip_url=event.clip_url)


class IncidentProgress(_Message):
    """A field or console step of an incident through the loop (e.g. accepted, resolved)."""

    type: Literal["incident.progress"] = "incident.progress"
    incident_id: int = Field(gt=0, le=MAX_ID)
    to_state: str
    actor: str = Field(min_length=1, max_length=40)
    assignee: str | None = Field(default=None, min_length=1, max_length=40)
    # Whom a dispatch names: a grid worker's id (grid_workers.id) or 'team:CODE'.
    assignee_id: str | None = Field(default=None, min_length=1, max_length=40,
                                    pattern=r"^[A-Za-z0-9:_-]+$")
    note: str = Field(default="", max_length=500)

    @field_validator("to_state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if value not in STATES:
            raise ValueError(f"unknown state {value!r}")
        return value

    @field_validator("actor", "note", "assignee")
    @classmethod
    def _safe_text(cls, value: str | None) -> str | None:
        return clean_text(value) if value is not None else None


class StockMovement(_Message):
    """Supplies received (+) or issued (−) at a station; never an overwritten number."""

    type: Literal["stock.movement"] = "stock.movement"
    station: str = Field(min_length=1, max_length=16)
    sku: str = Field(min_length=1, max_length=32)
    delta: int = Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)
    reason: str = Field(min_length=1, max_length=200)
    actor: str = Field(default="system", max_length=40)

    @field_validator("delta")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("delta must not be zero")
        return value

    @field_validator("reason", "actor")
    @classmethod
    def _safe_text(cls, value: str) -> str:
        return clean_text(value) or ""


InboundMessage = Annotated[
    IncidentReport | IncidentProgress | StockMovement, Field(discriminator="type")
]
_INBOUND = TypeAdapter(InboundMessage)


# ---------------------------------------------------------------- vehicles channel
class VehiclePosition(BaseModel):
    """One GPS fix of one vehicle, WGS-84."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    plate: str = Field(min_length=1, max_length=16)
    lon: Lon
    lat: Lat
    speed_kmh: float = Field(default=0.0, ge=0, le=250, allow_inf_nan=False)
    heading: float = Field(default=0.0, ge=0, le=360, allow_inf_nan=False)
    at: datetime
    route: str | None = Field(default=None, max_length=16)
    trip: str | None = Field(default=None, max_length=24)
    onboard: int | None = Field(default=None, ge=0, le=200)
    # JT/T 808 alarm flags (bit 0 = SOS); feeds without alarms leave it out.
    alarm: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)
    # Load as a percentage of seats, when a feed gives that instead of a head count
    # (GTFS-Realtime occupancy_percentage).
    occupancy_pct: float | None = Field(default=None, ge=0, le=300, allow_inf_nan=False)

    @field_validator("plate", "route", "trip")
    @classmethod
    def _safe_text(cls, value: str | None) -> str | None:
        return clean_text(value)


class VehiclePositions(_Message):
    """A batch of positions (a source may send one fix or a whole fleet per message)."""

    type: Literal["vehicle.positions"] = "vehicle.positions"
    positions: list[VehiclePosition] = Field(min_length=1, max_length=5000)
    sent_at: float | None = None
    # "sim" marks the demo simulator's batches; real doors leave it out.
    source: Literal["sim"] | None = None


# ---------------------------------------------------------------- events channel
class IncidentView(BaseModel):
    """What every screen needs to know about one incident."""

    model_config = ConfigDict(frozen=True)
    id: int
    ref: str
    source: str
    category: str
    priority: str
    title: str
    state: str
    lon: float
    lat: float
    grid: str | None = None
    village: str | None = None
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime | None = None
    closed_at: datetime | None = None
    level: str = "grid"
    assignee: str | None = None
    assignee_id: str | None = None  # the person's (grid_workers.id) or team's id
    unit_id: str | None = None  # the receiving unit it is with (units.id), issue 14
    prev_unit_id: str | None = None  # the unit it came from (a 退回 goes back there)
    satisfaction: int | None = None
    urge_count: int = 0
    supervised: bool = False
    version: int = 0
    report_count: int = 1
    grid_worker: str | None = None
    rework_count: int = 0  # 返工
    extend_count: int = 0  # approved 延期
    extend_request: str | None = None  # a pending 延期 request ('48h')
    # 雪亮工程 (issue 15): a video alert's camera and snapshot (the wall's focus card).
    camera_id: str | None = None
    photo_url: str | None = None
    photo: str | None = None  # the photo the product keeps of it (photos.id), issue 15
    dup_of: int | None = None  # flagged "possible duplicate of" this work order (issue 18)


class StockView(BaseModel):
    """Quantity of one supply item at one station."""

    model_config = ConfigDict(frozen=True)
    station: str
    sku: str
    quantity: int
    min_level: int


EventType = Literal["incident.created", "incident.updated", "stock.changed", "rejected",
                    "station.changed", "rota.changed",  # rota: a shift or leave edited
                    "callup.changed"]  # 应急抽调: a call-up made or answered


class Event(_Message):
    """A committed fact, numbered by the shared event sequence (a gap means resync)."""

    type: EventType
    seq: int = Field(ge=0)
    at: datetime
    incident: IncidentView | None = None
    stock: StockView | None = None
    # Issue 5: a station's whole row (stock, reservations, teams) after a resource step.
    station: dict[str, Any] | None = None
    reason: str | None = None
    # A `rejected` event may stand for several refusals of one reason (a gateway's batch).
    count: int | None = Field(default=None, ge=1, le=1_000_000)
    sent_at: float | None = None


# ---------------------------------------------------------------- parsing
def _load(raw: bytes | str) -> Any:
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_MESSAGE_BYTES:
        raise MessageError("too_large", f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        data = load_json(raw)  # also 100k-deep nesting and 5,000-digit integers
    except BadInput as exc:
        raise MessageError("bad_json", str(exc.params.get("detail", "not valid JSON"))) from exc
    if not isinstance(data, dict):
        raise MessageError("bad_shape", "a message must be a JSON object")
    version = data.get("v", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise MessageError("bad_version", f"unsupported schema version {version!r}")
    return data


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _validate(adapter_or_model: Any, data: Any) -> Any:
    try:
        if isinstance(adapter_or_model, TypeAdapter):
            return adapter_or_model.validate_python(data)
        return adapter_or_model.model_validate(data)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        reason = "unknown_type" if "union_tag_invalid" in kinds else "invalid"
        raise MessageError(reason, _describe(exc)) from exc


def parse_inbound(raw: bytes | str) -> IncidentReport | IncidentProgress | StockMovement:
    """Validate one message of the ingest channel."""
    data = _load(raw)
    if "type" not in data:
        raise MessageError("invalid", "type: field required")
    return _validate(_INBOUND, data)


def parse_vehicle_message(raw: bytes | str) -> VehiclePositions:
    """Validate one message of the vehicles channel."""
    return _validate(VehiclePositions, _load(raw))


def parse_event(raw: bytes | str) -> Event:
    """Validate one message of the events channel."""
    return _validate(Event, _load(raw))


def finite(*values: float) -> bool:
    """True when every value is a finite number."""
    return all(math.isfinite(v) for v in values)
