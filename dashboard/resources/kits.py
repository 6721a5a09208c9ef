"""What each incident type needs (a configurable kit) and which stations can send it (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dashboard.incidents.lifecycle import CATEGORY_BY_CODE
from dashboard.resources.stock import available

Travel = Callable[[float, float, float, float], tuple[float, float]]

# Per duty category: SKU -> quantity one response should bring. 水务管理 covers floods,
# 消防安全 fires, 安全生产 landslides and accidents; a town overrides with ZN_KITS_FILE.
DEFAULT_KITS: dict[str, dict[str, int]] = {
    "water": {"FL-SB": 200, "FL-LJ": 20, "FL-PM": 2, "FL-BT": 1},
    "fire": {"FI-EX": 10, "ME-FA": 5},
    "work_safety": {"ME-FA": 5, "GE-TC": 10, "SH-TN": 4, "GE-GN": 1},
    "traffic": {"ME-FA": 3, "GE-TC": 5},
    "environment": {"GE-WT": 10},
    "public_security": {"GE-TC": 5},
}
MAX_KIT_QUANTITY = 100_000
# Minutes of delay that count as much as a missing kit, or as no free team.
KIT_PENALTY_MIN = 30.0
NO_TEAM_PENALTY_MIN = 60.0


class KitError(ValueError):
    """A kit file that cannot be used; the message names the problem."""


def merge_kits(data: Any, path: str = "ZN_KITS_FILE") -> dict[str, dict[str, int]]:
    """A town's kits (parsed JSON, or None) merged over the defaults, validated; errors name
    `path`."""
    kits = {k: dict(v) for k, v in DEFAULT_KITS.items()}
    if data is None:
        return kits
    if not isinstance(data, dict):
        raise KitError(f"{path}: expected an object of category -> kit")
    for category, kit in data.items():
        if category not in CATEGORY_BY_CODE:
            raise KitError(f"{path}: unknown category {category!r}")
        if not isinstance(kit, dict) or not all(
                isinstance(q, int) and not isinstance(q, bool) and 0 < q <= MAX_KIT_QUANTITY
                and isinstance(sku, str) and 0 < len(sku) <= 24 for sku, q in kit.items()):
            raise KitError(f"{path}: kit of {category} must map SKU -> "
                           f"positive whole number (1-{MAX_KIT_QUANTITY})")
        kits[category] = dict(kit)
    return kits


def rank_stations(incident: dict[str, Any], stations: list[dict[str, Any]],
                  kit: dict[str, int], travel: Travel) -> list[dict[str, Any]]:
    """Stations ranked by drive time, share of the kit in stock and free teams.

    score = minutes + KIT_PENALTY_MIN x missing share + NO_TEAM_PENALTY_MIN if no team
    is free; the parts are returned so the console can say why.
    """
    out = []
    for st in stations:
        metres, minutes = travel(st["lon"], st["lat"], incident["lon"], incident["lat"])
        stock = {i["sku"]: i for i in st["items"]}
        lines: list[dict[str, Any]] = []
        for sku, want in kit.items():
            item = stock.get(sku)
            have = available(item) if item else 0
            lines.append({"sku": sku, "want": want, "have": have,
                          "send": min(want, max(have, 0)),
                          "name": item["name"] if item else sku,
                          "name_en": item.get("name_en", "") if item else sku,
                          "unit": item["unit"] if item else ""})
        share = (sum(ln["send"] for ln in lines) / sum(kit.values())) if kit else 1.0
        free = [tm for tm in st["teams"]
                if tm.get("status", "standby") == "standby" and tm["on_duty"] > 0]
        score = minutes + KIT_PENALTY_MIN * (1 - share) + (0 if free else NO_TEAM_PENALTY_MIN)
        out.append({"station": st["code"], "name": st["name"], "name_en": st.get("name_en", ""),
                    "distance_m": round(metres), "eta_min": round(minutes, 1),
                    "kit_share": round(share, 2), "kit": lines,
                    "free_teams": [tm["code"] for tm in free], "score": round(score, 1)})
    out.sort(key=lambda r: (r["score"], r["station"]))
    return out
