"""The tiers a work order climbs (小事不出格、大事不出村、问题不上交): which unit may receive it
when it is handed up, and whose clock restarts. Pure: the units come from the town's data
(dashboard/town.Unit); the store looks them up, the console lists them, Store.act obeys.
"""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.incidents.errors import BadInput
from dashboard.incidents.lifecycle import LEVEL_ORDER
from dashboard.town import Unit

# A hand-over to these tiers restarts the clock by the deadline table (the receiving office
# gets its full time, as the standard's 派遣 to a 专业部门 does); within the town a hand-up
# to the village office keeps the clock the grid started (大事不出村: the same case, closer).
RESTARTS_CLOCK = frozenset({"town", "county"})


def rank(level: str) -> int:
    """The level's place on the ladder grid → village → town → county (unknown: grid)."""
    return LEVEL_ORDER.index(level) if level in LEVEL_ORDER else 0


def check_receiver(unit: Unit, *, level: str, category: str, village: str | None,
                   up: bool) -> None:
    """Raise BadInput unless `unit` may receive the work order: it handles the category, a
    village office only its own village's, and it sits above the order's level when the
    order is handed up (`up`), at the order's level otherwise (a 派遣 within the tier)."""
    if not unit.handles(category):
        raise BadInput("unit_category", unit=unit.name, category=category)
    if unit.tier == "village" and unit.village != village:
        raise BadInput("unit_village", unit=unit.name)
    if (rank(unit.tier) <= rank(level)) if up else (rank(unit.tier) != rank(level)):
        raise BadInput("unit_tier", unit=unit.name, level=level)


def receivers(units: Iterable[Unit], *, level: str, category: str,
              village: str | None) -> list[Unit]:
    """The units the work order may be handed up to, the nearest tier first, by id."""
    out = []
    for unit in units:
        try:
            check_receiver(unit, level=level, category=category, village=village, up=True)
        except BadInput:
            continue
        out.append(unit)
    return sorted(out, key=lambda u: (rank(u.tier), u.id))


def default_receiver(units: Iterable[Unit], *, level: str, category: str,
                     village: str | None) -> Unit | None:
    """Whom a 升级 without a chosen unit hands the order to: the first receiver of the
    next tier up (the village's own office from the grid), None when the town declares
    no units (then 升级 only raises the level, as before issue 14)."""
    found = receivers(units, level=level, category=category, village=village)
    return found[0] if found else None
