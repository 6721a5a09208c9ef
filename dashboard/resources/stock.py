"""The stock rules of emergency supplies, once: what is available, low, empty, expiring.

Every reader (station readiness, the wall's station cards, the resource desk's alerts, the
/resources tables, the daily brief) asks these; none compares quantities itself.

Figures of one item (datasources/sql/resources.py keeps them): `quantity` is on hand at the
station, reserved included; `reserved` is held for a resource dispatch that has not left;
`out` has left with a team and is no longer on hand. So available = quantity - reserved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.incidents.errors import BadInput
from dashboard.inputs import echo, whole_number
from dashboard.messages import MAX_QUANTITY
from dashboard.timeutil import EXPIRY_DAYS, days_left, expiring

__all__ = ["EXPIRY_DAYS", "Stock", "available", "days_left", "expiring", "is_low",
           "parse_quantity"]


def parse_quantity(value: Any, *, signed: bool = False, zero: bool = False) -> int:
    """A whole number of items (or people) for one step, within the bound every door uses
    (messages.MAX_QUANTITY): 1..MAX, or -MAX..MAX without 0 when `signed` (an adjustment, a
    shelter change), or 0..MAX when `zero` (a count, a dispatch line left empty). Text
    ("12"), ints and floats (12.0) are read; inf, 1e308, 9.3e18, 10^30, fractions, lists
    and booleans are refused with BadInput("bad_quantity") (or "zero_quantity")."""
    lo = -MAX_QUANTITY if signed else (0 if zero else 1)
    try:
        n = whole_number(value, "quantity", lo, MAX_QUANTITY)
    except BadInput:
        raise BadInput("bad_quantity", min=lo, max=MAX_QUANTITY, value=echo(value)) from None
    if n == 0 and not zero:
        raise BadInput("zero_quantity")
    return n


@dataclass(frozen=True)
class Stock:
    """The figures of one item at one station."""

    quantity: int
    reserved: int = 0
    out: int = 0
    min_level: int = 0
    expiry: str | None = None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Stock:
        """From a station row's item (ResourceStore.stations, the live state)."""
        return cls(quantity=int(item["quantity"]), reserved=int(item.get("reserved") or 0),
                   out=int(item.get("out") or 0), min_level=int(item.get("min_level") or 0),
                   expiry=item.get("expiry"))

    @property
    def available(self) -> int:
        """What can still be issued or reserved: on hand less reserved."""
        return self.quantity - self.reserved

    @property
    def low(self) -> bool:
        """Available below the minimum (低于储备下限)."""
        return self.available < self.min_level

    @property
    def empty(self) -> bool:
        """Nothing available."""
        return self.available <= 0

    def fill(self) -> float:
        """Available against the minimum (sorts the most short first)."""
        return self.available / max(self.min_level, 1)

    def expiring(self, now: datetime, days: int = EXPIRY_DAYS) -> bool:
        """Expires within `days` of today, or has expired."""
        return expiring(self.expiry, now, days)


def available(item: Mapping[str, Any]) -> int:
    """What a station row's item can still issue or reserve."""
    return Stock.of(item).available


def is_low(item: Mapping[str, Any]) -> bool:
    """A station row's item is below its minimum."""
    return Stock.of(item).low
