"""雪亮工程 video alerts (issue 15): the AI camera events the town takes, what work order each
becomes, and the event as a camera platform sends it. Pure: the door
(datasources/doors/hotline_video.py) looks the camera up and hands the report to intake; a
burst from one camera for one scene merges by the store's merge rule (Store.create_incident,
ZN_VIDEO_BURST_MINUTES)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dashboard.incidents.errors import BadInput
from dashboard.inputs import MAX_YEAR, MIN_YEAR, in_calendar, not_plain
from dashboard.inputs import photo_url as checked_url
from dashboard.town import CAMERA_ID, Camera


@dataclass(frozen=True)
class EventType:
    """One kind of AI camera event and the work order it opens."""

    code: str
    zh: str
    en: str
    category: str  # a duty category (lifecycle.CATEGORIES)
    priority: str  # urgent | high | normal


EVENT_TYPES: dict[str, EventType] = {e.code: e for e in (
    EventType("fire_smoke", "烟火识别", "Smoke or fire", "fire", "urgent"),
    EventType("person_down", "人员倒地", "Person down", "public_security", "urgent"),
    EventType("water_level", "水位超警", "Water above the warning mark", "water", "urgent"),
    EventType("river_intrusion", "河道人员闯入", "Person in the river zone", "water", "high"),
    EventType("crowd", "人员聚集", "Crowd gathering", "public_security", "high"),
    EventType("intrusion", "区域入侵", "Intrusion", "public_security", "high"),
    EventType("street_vending", "占道经营", "Street vending on the road", "city_management",
              "normal"),
    EventType("garbage", "暴露垃圾", "Exposed rubbish", "environment", "normal"),
    EventType("illegal_parking", "违章停车", "Illegal parking", "traffic", "normal"),
)}


def event_label(code: str | None, lang: str) -> str:
    """The event type's name in `lang` (the code itself when unknown)."""
    kind = EVENT_TYPES.get(code or "")
    if kind is None:
        return code or ""
    return kind.en if lang == "en" else kind.zh


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
            raise ValueError(f"unknown event_type {value!r}; one of {', '.join(EVENT_TYPES)}")
        return value

    @field_validator("snapshot_url", "clip_url")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        try:
            return checked_url(value)
        except BadInput:
            raise ValueError("a link must be an http(s) address without blanks, quotes or "
                             "markup") from None

    @field_validator("note")
    @classmethod
    def _plain(cls, value: str) -> str:
        if not_plain(value):
            raise ValueError("markup (HTML/script) is not allowed in text")
        return value.strip()

    @field_validator("at")
    @classmethod
    def _in_calendar(cls, value: datetime) -> datetime:
        if not in_calendar(value):
            raise ValueError(f"not a valid date (years {MIN_YEAR}–{MAX_YEAR})")
        if value.tzinfo is None:
            raise ValueError("the time needs its offset (2026-12-05T09:30:00+08:00)")
        return value


def report_fields(event: VideoEvent, camera: Camera) -> dict[str, Any]:
    """The incident.report an event becomes: the type's category and priority, placed at
    the camera, the snapshot as its photo, the camera and type kept for the burst rule."""
    kind = EVENT_TYPES[event.event_type]
    text = f"摄像头 {camera.name}（{camera.id}）识别到{kind.zh}"
    if event.confidence is not None:
        text += f"，置信度 {event.confidence:.0%}"
    if event.note:
        text += f"。{event.note}"
    return {"type": "incident.report", "source": "video", "source_ref": event.event_id,
            "category": kind.category, "priority": kind.priority,
            "title": f"{kind.zh}：{camera.name}"[:100], "description": text,
            "lon": camera.lon, "lat": camera.lat, "photo_url": event.snapshot_url,
            "reported_at": event.at, "camera_id": camera.id, "event_type": kind.code,
            "clip_url": event.clip_url}


def image_allowed(url: str | None, origins: tuple[str, ...]) -> bool:
    """True when a screen may show `url` as an image: its origin is one the town allows
    (ZN_IMAGE_ORIGINS; the Content-Security-Policy allows the same), or it is this site's
    own (a path)."""
    if not url:
        return False
    if url.startswith("/") and not url.startswith("//"):
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
    return origin in {o.lower().rstrip("/") for o in origins}
