"""Actors that are not people: who the audit and a work order's history name for steps the
system takes itself (the demo simulator), with their labels in both languages
(dashboard/i18n/codes.actor_label shows them)."""

from __future__ import annotations

SIM_ACTOR = "simulator"  # the demo simulator and the demo history it plays

SYSTEM_ACTORS: dict[str, tuple[str, str]] = {
    SIM_ACTOR: ("系统模拟", "Simulator"),
    "system": ("系统", "System"),
    "sweep": ("超时巡检", "Overdue sweep"),
}


def is_system(actor: str | None) -> bool:
    """True for an actor that is the system, not a person's account."""
    return actor in SYSTEM_ACTORS
