"""雪亮工程 video alerts (issue 15): the AI camera events the town takes, what work order each
becomes, and the event as a camera platform sends it. Pure: the door
(datasources/doors/hotline_video.py) reads the event (dashboard/messages.VideoEvent), looks
the camera up and hands the report (messages.video_report) to intake; a
burst from one camera for one scene merges by the store's merge rule (Store.create_incident,
ZN_VIDEO_BURST_MINUTES)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

# Texts of the refusals (the HTTP door gives them in Chinese too: http_api._DETAIL_ZH).
BAD_LINK = "a link must be an http(s) address without blanks, quotes or markup"
NO_OFFSET = "the time needs its offset (2026-12-05T09:30:00+08:00)"
UNKNOWN_TYPE = "unknown event_type"


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
