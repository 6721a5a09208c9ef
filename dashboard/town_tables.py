"""The tables a town overrides on /admin (issue 16): deadlines per category, priority and
level (tier), kits per category, evaluation weights (issue 11) and speed zones. Each table's
validator lives beside its rule — deadlines.check_overrides, kits.merge_kits,
evaluation.merge_weights, alerts.parse_zones — and this module only names the tables, reads
a table the admin typed, and lays an override over the town's own (its files, else the
built-in), which the page shows beside."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dashboard.buses.alerts import parse_zones
from dashboard.incidents.deadlines import check_overrides, merge_table
from dashboard.incidents.evaluation import DEFAULT_WEIGHTS, merge_weights
from dashboard.incidents.lifecycle import CATEGORY_BY_CODE
from dashboard.resources.kits import DEFAULT_KITS, merge_kits

TABLES: tuple[str, ...] = ("deadlines", "kits", "weights", "speed_zones")
# What an override of each looks like (the editor's placeholder): only the rows to change.
EXAMPLES: dict[str, str] = {
    "deadlines": '{"fire": {"normal": "12h"}, "tier:town": {"urgent": "2h"}}',
    "kits": '{"water": {"FL-SB": 300, "FL-PM": 3}}',
    "weights": '{"grid": {"handle_rate": 40, "on_time_handle_rate": 30, "1-rework_rate": 30}}',
    "speed_zones": '[{"name": "石桥", "limit_kmh": 20, "radius_m": 30, '
                   '"line": [[104.4699, 30.5471], [104.4679, 30.5444]]}]',
}
MAX_TABLE_BYTES = 64_000


class TableError(ValueError):
    """A table the admin typed that cannot be used: `code` (table_unknown, table_json,
    table_invalid) and `params` (table, detail) give the reader's words."""

    def __init__(self, message: str, code: str, **params: object):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class TownBase:
    """What a table is without the admin's override: the town's files over the built-in."""

    deadlines: Mapping[str, Any] = field(default_factory=lambda: merge_table(None))
    kits: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: dict(DEFAULT_KITS))
    weights: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS))
    speed_zones: list[dict[str, Any]] = field(default_factory=list)

    def shown(self, name: str) -> Any:
        """The table as the page shows it beside the override (JSON-ready)."""
        return getattr(self, name)


def read_table(name: object, text: object) -> Any:
    """The JSON the admin typed for table `name`, checked by the table's own validator;
    TableError otherwise. Empty text is no override (None)."""
    if name not in TABLES:
        raise TableError(f"no table {str(name)[:20]!r}", "table_unknown",
                         table=str(name)[:20])
    if not isinstance(text, str):
        raise TableError("the table is text", "table_json", table=name, detail="not text")
    if not text.strip():
        return None
    if len(text.encode()) > MAX_TABLE_BYTES:
        raise TableError("too long", "table_json", table=name,
                         detail=f"more than {MAX_TABLE_BYTES} bytes")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TableError(f"not JSON: {exc}", "table_json", table=name,
                         detail=str(exc)[:120]) from None
    check_table(str(name), data)
    return data


def check_table(name: str, data: Any) -> None:
    """Run the rule's own validator over an override; TableError(table_invalid) with the
    validator's words."""
    try:
        if name == "deadlines":
            check_overrides(data, frozenset(CATEGORY_BY_CODE))
            merge_table(data)
        elif name == "kits":
            merge_kits(data, "kits")
        elif name == "weights":
            merge_weights(data)
        elif name == "speed_zones":
            parse_zones(data)
        else:
            raise ValueError(f"no table {name!r}")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TableError(str(exc), "table_invalid", table=name,
                         detail=str(exc)[:300]) from None


def effective(name: str, base: TownBase, data: Any) -> Any:
    """The table the rules read: the override (checked) laid over the town's own; rows the
    override does not name stay as the town's."""
    if data is None:
        return base.shown(name)
    if name == "deadlines":
        return merge_table(data, dict(base.deadlines))
    if name == "kits":
        merged = merge_kits(data, "kits")
        return {**base.kits, **{k: merged[k] for k in data}}
    if name == "weights":
        merged_w = merge_weights(data)
        return {**base.weights, **{k: merged_w[k] for k in data}}
    return list(data)  # speed zones: the admin's list replaces the file's


